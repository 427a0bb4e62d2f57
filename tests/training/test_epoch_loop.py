"""training/epoch_loop.py through train(): per-batch losses, live epoch state, NaN and OOM faults."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.records import QUADRANTS, UNASSESSED
from gradia_desktop.core.training_metrics import BatchLosses, EpochMetrics
from gradia_desktop.errors import GradiaError
from gradia_desktop.training import epoch_loop
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.data import load_split
from gradia_desktop.training.epoch_loop import RunInputs, fit
from gradia_desktop.training.models import build_model, find_cam_layer, get_layer
from gradia_desktop.training.trainer import Callbacks, train

FAST = dict(epochs=2, batch_size=8, image_size=32, device="cpu")


class Live(Callbacks):
    def __init__(self, project):
        self.project, self.batches, self.states, self.heatmaps = project, [], [], []

    def batch_end(self, epoch, batch, batches, losses):
        self.batches.append((epoch, batch, batches, losses))

    def epoch_state(self, state):
        self.states.append(state)
        sample = self.project.samples(split="train")[0]
        self.heatmaps.append(state.heatmap(self.project.load_image(sample)))


def test_batches_and_epoch_state_reach_the_callbacks(small_project):
    live = Live(small_project)
    result = train(small_project, TrainConfig(mode="gradia-all", **FAST), live)
    n_train = len(small_project.samples(split="train"))
    per_epoch = math.ceil(n_train / 8)
    assert [(e, b) for e, b, _, _ in live.batches] == [(e, b) for e in (1, 2) for b in range(1, per_epoch + 1)]
    assert all(total == per_epoch and isinstance(losses, BatchLosses) for _, _, total, losses in live.batches)
    assert any(losses.attention > 0 for *_, losses in live.batches)  # masks are used in gradia-all
    assert [s.epoch for s in live.states] == [1, 2]
    val = small_project.samples(split="val")
    for state, stored in zip(live.states, small_project.epochs(result.version)):
        assert [p.sample_id for p in state.val_predictions] == [s.id for s in val]
        placed = sum(state.val_matrix[q] for q in QUADRANTS)
        assert placed + state.val_matrix[UNASSESSED] == len(val)
        assert stored == state.metrics
        assert stored.val_matrix == {k: state.val_matrix[k] for k in (*QUADRANTS, UNASSESSED)}
        correct = sum(p.pred == s.class_idx for p, s in zip(state.val_predictions, val))
        assert state.metrics.val_accuracy == pytest.approx(correct / len(val))
        assert state.metrics.eval_seconds > 0 and state.metrics.train_seconds > 0
    cam, probs = live.heatmaps[0]
    sample = small_project.samples(split="train")[0]
    assert cam.shape == (sample.height, sample.width) and 0 <= cam.min() and cam.max() <= 1
    assert probs.shape == (len(small_project.classes),) and probs.sum() == pytest.approx(1, abs=1e-5)


def _nan_after(monkeypatch, good_batches: int) -> None:
    """Make every batch loss after the first ``good_batches`` NaN."""
    real, calls = epoch_loop._batch_loss, [0]

    def batch_loss(*args):
        logits, loss, ce, att = real(*args)
        calls[0] += 1
        return logits, (loss * float("nan") if calls[0] > good_batches else loss), ce, att

    monkeypatch.setattr(epoch_loop, "_batch_loss", batch_loss)


@pytest.mark.parametrize("lag", [0, 1], ids=["read-at-once", "read-a-batch-late-as-on-a-gpu"])
def test_a_nan_loss_stops_training_keeps_the_last_good_checkpoint_and_makes_no_version(small_project, monkeypatch,
                                                                                        lag):
    monkeypatch.setattr(epoch_loop, "report_lag", lambda device: lag)
    before = [v.id for v in small_project.versions()]
    per_epoch = math.ceil(len(small_project.samples(split="train")) / 8)
    _nan_after(monkeypatch, per_epoch)  # epoch 1 is fine, epoch 2's first batch is not
    with pytest.raises(GradiaError, match=r"loss became nan in epoch 2, batch 1.*epoch 1\) is kept at models/v\d+/"
                                          r"epoch_001\.safetensors") as info:
        train(small_project, TrainConfig(mode="gradia-all", **{**FAST, "epochs": 3}))
    assert [v.id for v in small_project.versions()] == before
    failed = small_project.versions(status="failed")[-1]
    assert "nan" in failed.note
    kept = sorted(p.name for p in small_project.models_dir(failed.id).iterdir())
    assert kept == ["epoch_001.safetensors"] and "\n" not in str(info.value)


def test_figures_read_a_batch_late_as_on_a_gpu_are_the_figures_read_at_once(small_project, monkeypatch):
    """On a GPU each batch's loss and correct count are read back one batch late, so the host never
    waits for the device between batches; the reports, sums and weights must be the same."""
    runs = {}
    for lag in (0, 1):
        monkeypatch.setattr(epoch_loop, "report_lag", lambda device, lag=lag: lag)
        live = Live(small_project)
        live.epoch_state = lambda state: None
        result = train(small_project, TrainConfig(mode="gradia-all", **FAST), live)
        runs[lag] = (live.batches, small_project.epochs(result.version), result)
    (batches0, epochs0, r0), (batches1, epochs1, r1) = runs[0], runs[1]
    assert batches1 == batches0
    strip = ("train_seconds", "eval_seconds", "seconds")
    assert [{k: v for k, v in m.to_dict().items() if k not in strip} for m in epochs1] == \
           [{k: v for k, v in m.to_dict().items() if k not in strip} for m in epochs0]
    assert r1.summaries == r0.summaries and r1.best_epoch == r0.best_epoch


def test_a_nan_loss_in_the_first_epoch_leaves_no_files(small_project, monkeypatch):
    _nan_after(monkeypatch, 0)
    with pytest.raises(GradiaError, match="epoch 1, batch 1.*no epoch finished"):
        train(small_project, TrainConfig(mode="baseline", **FAST))
    failed = small_project.versions(status="failed")[-1]
    assert not small_project.models_dir(failed.id).exists()


def test_out_of_memory_names_the_batch_a_run_left_open_actually_used(small_project, monkeypatch):
    def oom(*_args, **_kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    base = train(small_project, TrainConfig(mode="baseline", **FAST))
    monkeypatch.setattr(epoch_loop, "_batch_loss", oom)
    guided = TrainConfig(mode="guided", parent=base.version, **{**FAST, "batch_size": None})
    with pytest.raises(GradiaError, match="memory at batch size 16: .*--batch-size 8"):
        train(small_project, guided)


def test_out_of_memory_suggests_a_smaller_batch_and_makes_no_version(small_project, monkeypatch):
    def oom(*_args, **_kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(epoch_loop, "_batch_loss", oom)
    before = [v.id for v in small_project.versions()]
    with pytest.raises(GradiaError, match="out of .*memory at batch size 8: try a smaller batch .*--batch-size 4"):
        train(small_project, TrainConfig(mode="baseline", **FAST))
    assert [v.id for v in small_project.versions()] == before
    failed = small_project.versions(status="failed")[-1]
    assert not small_project.models_dir(failed.id).exists()


def test_an_unreadable_training_image_is_left_out_and_named(small_dataset, tmp_path):
    dataset = shutil.copytree(small_dataset, tmp_path / "dataset")  # the session's dataset stays intact
    with create_project(tmp_path / "project", dataset / "images", dataset / "masks") as project:
        sample = project.samples(split="train")[3]
        path = project.image_path(sample)
        path.write_bytes(b"not an image")
        logged = []

        class Log(Callbacks):
            def log(self, message):
                logged.append(message)

        result = train(project, TrainConfig(mode="baseline", **FAST), Log())
        line = f"warning: {path}: not a readable image (corrupt or unsupported format); sample {sample.id} left " \
               "out of the train split"
        assert line in result.warnings and line in logged
        assert project.version(result.version).status == "done"
        assert sample.id not in project.predictions(result.version)
        assert result.summaries["train"]["n"] == len(project.samples(split="train")) - 1


def test_fit_saves_and_records_each_epoch_through_its_sinks(small_project):
    config = TrainConfig(mode="baseline", **FAST)
    torch.manual_seed(0)
    model = build_model("tiny", len(small_project.classes))
    train_data, val_data = load_split(small_project, "train", 32), load_split(small_project, "val", 32)
    n = len(train_data)
    saved, recorded = [], []
    history = fit(RunInputs(
        model=model, cam_layer=get_layer(model, find_cam_layer(model, 32)), config=config,
        device=torch.device("cpu"), train_data=train_data, val_data=val_data, mask_grids=torch.zeros((n, 4, 4)),
        w_pred=torch.ones(n), w_att=torch.zeros(n), counterfactuals=None, generator=torch.Generator().manual_seed(0),
        callbacks=Callbacks(), save_checkpoint=saved.append, record_epoch=recorded.append))
    assert saved == [1, 2] and recorded == history
    assert [m.epoch for m in history] == [1, 2] and all(isinstance(m, EpochMetrics) for m in history)
    assert all(m.val_iou is not None and m.val_matrix is not None for m in history)
