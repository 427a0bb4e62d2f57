"""Cancel is heard in every phase of a run, not only between training batches.

Each test asks for cancel at the end of one phase's step and checks that the run stops before the
next progress report (or the next masked image), with no version made.
"""

from __future__ import annotations

import pytest

from gradia_desktop.errors import Cancelled
from gradia_desktop.training import counterfactual
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.trainer import Callbacks, train

FAST = dict(epochs=2, batch_size=8, image_size=32, device="cpu")


class CancelAfter(Callbacks):
    """Says cancelled from the moment a stage starting with ``stage`` reports its last step."""

    def __init__(self, stage: str):
        self.stage, self.reports, self.trigger, self.epochs_ended = stage, [], None, 0

    def progress(self, stage, done, total):
        self.reports.append(stage)
        if self.trigger is None and stage.startswith(self.stage) and done == total:
            self.trigger = len(self.reports)

    def epoch_end(self, epoch, metrics):
        self.epochs_ended += 1

    def cancelled(self):
        return self.trigger is not None

    def reports_after_cancel(self) -> list[str]:
        return self.reports[self.trigger:]


def _no_version_made(project) -> None:
    assert project.versions() == []
    for row in project.versions(status=None):
        assert row.status == "cancelled" and not project.models_dir(row.id).exists()


def test_cancel_while_loading_stops_before_the_next_split_loads(small_project):
    cb = CancelAfter("loading train images")
    with pytest.raises(Cancelled):
        train(small_project, TrainConfig(**FAST), cb)
    assert cb.trigger is not None and cb.reports_after_cancel() == []  # "loading val images" never reported
    assert small_project.versions(status=None) == []  # the version row comes after the data


def test_cancel_while_preparing_counterfactuals_stops_after_the_current_image(small_project, monkeypatch):
    # The bank reports progress every 16 images, so cancel is asked for from inside its first image.
    real, regions = counterfactual.object_region, []

    def counting_object_region(rgb, mask):
        regions.append(1)
        return real(rgb, mask)

    monkeypatch.setattr(counterfactual, "object_region", counting_object_region)

    class CancelInTheBank(Callbacks):
        def cancelled(self):
            return bool(regions)

    masked = sum(s.has_mask for s in small_project.samples(split="train"))
    with pytest.raises(Cancelled, match="counterfactual"):
        train(small_project, TrainConfig(counterfactual=True, mode="gradia-all", **FAST), CancelInTheBank())
    assert masked > 2 and len(regions) == 1
    assert small_project.versions(status=None) == []


def test_cancel_after_the_last_batch_stops_the_validation_pass(small_project):
    cb = CancelAfter("epoch 1/")
    with pytest.raises(Cancelled):
        train(small_project, TrainConfig(**FAST), cb)
    assert cb.reports_after_cancel() == [] and cb.epochs_ended == 0
    (row,) = small_project.versions(status=None)
    assert small_project.epochs(row.id) == []  # epoch 1 was neither validated nor recorded
    _no_version_made(small_project)


@pytest.mark.parametrize("stage", ["evaluating train", "evaluating val"])
def test_cancel_during_the_final_evaluation_stops_before_the_next_split(small_project, stage):
    cb = CancelAfter(stage)
    with pytest.raises(Cancelled):
        train(small_project, TrainConfig(**FAST), cb)
    assert cb.trigger is not None and cb.reports_after_cancel() == []
    assert [v.status for v in small_project.versions(status=None)] == ["cancelled"]
    _no_version_made(small_project)
