"""The trainer on a tiny generated project: versions, checkpoints, selection, seeds, cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gradia_desktop.errors import Cancelled, GradiaError
from gradia_desktop.training.config import GUIDED_AVERAGE_EPOCHS, TrainConfig
from gradia_desktop.training.data import load_split
from gradia_desktop.training.selection import LAST_RULE, PROBE_RULE
from gradia_desktop.training.trainer import (Callbacks, _compare_with_parent, _sample_weights,
                                             train)

FAST = dict(epochs=2, batch_size=8, image_size=32, device="cpu")


class Recorder(Callbacks):
    def __init__(self, cancel_after: int | None = None):
        self.stages, self.epochs, self.batches = set(), [], 0
        self.cancel_after = cancel_after

    def progress(self, stage, done, total):
        self.stages.add(stage.split(" ")[0])
        if stage.startswith("epoch"):
            self.batches += 1

    def epoch_end(self, epoch, metrics):
        self.epochs.append(metrics)

    def cancelled(self):
        return self.cancel_after is not None and self.batches >= self.cancel_after


def test_baseline_creates_a_version_with_checkpoint_predictions_and_epochs(small_project):
    rec = Recorder()
    result = train(small_project, TrainConfig(mode="baseline", **FAST), rec)
    version = small_project.version(result.version)
    assert version.status == "done" and version.arch == "tiny" and version.cam_layer == "layer4"
    assert (small_project.root / version.checkpoint).is_file()
    assert len(list(small_project.models_dir(result.version).glob("*.safetensors"))) == 1  # the best one kept
    assert small_project.epochs(result.version) == rec.epochs == result.epochs
    assert [e.epoch for e in rec.epochs] == [1, 2]
    assert len(small_project.predictions(result.version)) == len(small_project.samples())
    assert set(result.summaries) == {"train", "val", "test"}
    assert {"loading", "epoch", "evaluating"} <= rec.stages
    val = result.summaries["val"]
    assert val["n"] == 8 and val["n_masked"] == 8 and 0 <= val["accuracy"] <= 1
    assert sum(val["matrix"][q] for q in ("RA", "UA", "RI", "UI")) == 8


def test_same_seed_same_weights_and_metrics(small_project):
    a = train(small_project, TrainConfig(seed=7, counterfactual=True, mode="gradia-all", **FAST))
    b = train(small_project, TrainConfig(seed=7, counterfactual=True, mode="gradia-all", **FAST))
    c = train(small_project, TrainConfig(seed=8, counterfactual=True, mode="gradia-all", **FAST))
    wa, wb, wc = (load_file(str(small_project.root / small_project.version(r.version).checkpoint)) for r in (a, b, c))
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=0, rtol=0)
    assert any(not torch.equal(wa[k], wc[k]) for k in wa if wa[k].is_floating_point())
    assert [e.loss for e in a.epochs] == [e.loss for e in b.epochs]


def test_gradia_mode_needs_a_parent(small_project):
    with pytest.raises(GradiaError, match="--from"):
        train(small_project, TrainConfig(mode="gradia", **FAST))


def test_gradia_weights_follow_parent_quadrants_and_human_judgements(small_project):
    parent = train(small_project, TrainConfig(**FAST)).version
    data = load_split(small_project, "train", 32)
    masked = [s for s, m in zip(data.samples, data.has_mask.tolist()) if m]
    preds = small_project.predictions(parent)
    # Judge every masked sample: the first reasonable, the rest unreasonable.
    for i, s in enumerate(masked):
        small_project.set_judgement(parent, s.id, i == 0)
    w_pred, w_att = _sample_weights(small_project, TrainConfig(mode="gradia", parent=parent), data,
                                    small_project.version(parent))
    table = TrainConfig().weights
    for i, s in enumerate(data.samples):
        if not data.has_mask[i]:
            assert (w_pred[i], w_att[i]) == (1.0, 0.0)
            continue
        correct = preds[s.id].pred == s.class_idx
        q = ("R" if s.id == masked[0].id else "U") + ("A" if correct else "I")
        assert (float(w_pred[i]), float(w_att[i])) == pytest.approx(table[q])
    w_pred, w_att = _sample_weights(small_project, TrainConfig(mode="gradia-all"), data, None)
    assert torch.equal(w_att, data.has_mask.float())
    w_pred, w_att = _sample_weights(small_project, TrainConfig(mode="baseline"), data, None)
    assert not w_att.any() and bool((w_pred == 1).all())


def test_fine_tuning_keeps_parent_architecture_and_records_parent(small_project):
    parent = train(small_project, TrainConfig(**FAST)).version
    child = train(small_project, TrainConfig(mode="gradia", parent=parent, counterfactual=True, epochs=1,
                                             batch_size=8, device="cpu"))
    version = small_project.version(child.version)
    assert version.parent_id == parent and version.image_size == 32 and version.mode == "gradia"
    with pytest.raises(GradiaError, match="differs from the parent"):
        train(small_project, TrainConfig(mode="gradia", parent=parent, arch="resnet18", **FAST))


def test_cancel_between_batches_leaves_a_cancelled_version_and_no_files(small_project):
    with pytest.raises(Cancelled):
        train(small_project, TrainConfig(**FAST), Recorder(cancel_after=2))
    cancelled = small_project.versions(status="cancelled")
    assert len(cancelled) == 1 and small_project.versions() == []
    assert not small_project.models_dir(cancelled[0].id).exists()


def test_bad_settings_fail_before_a_version_is_created(small_project):
    for config, fragment in [(TrainConfig(arch="resnet19", **FAST), "unknown architecture"),
                             (TrainConfig(cam_layer="layer9", **FAST), "layer9"),
                             (TrainConfig(device="cuda:7" if torch.cuda.is_available() else "cuda", epochs=1),
                              "not available"),
                             (TrainConfig(mode="nonsense"), "unknown mode"),
                             (TrainConfig(epochs=0), "epochs")]:
        with pytest.raises(GradiaError, match=fragment):
            train(small_project, config)
    assert small_project.versions(status=None) == []


def test_a_guided_run_stores_the_recipe_it_used(small_project):
    parent = train(small_project, TrainConfig(mode="baseline", **FAST)).version
    result = train(small_project, TrainConfig(mode="guided", parent=parent, **FAST))
    version = small_project.version(result.version)
    assert version.mode == "guided" and version.parent_id == parent
    assert version.config["counterfactual"] is True
    assert version.config["counterfactual_share"] == 0.8 and version.config["outside_weight"] == 1.0
    assert version.config["mosaic_share"] == 0.25 and version.config["average_epochs"] == GUIDED_AVERAGE_EPOCHS
    # averaged weights: the last epoch, unless the probe puts it well below the best (then another one)
    last = version.config["epochs"]
    assert result.selection_rule == (LAST_RULE if result.best_epoch == last else PROBE_RULE)


def test_a_guided_run_with_its_batch_left_open_takes_smaller_batches_on_a_small_project(small_project):
    class Logged(Recorder):
        def __init__(self):
            super().__init__()
            self.lines = []

        def log(self, line):
            self.lines.append(line)

    parent = train(small_project, TrainConfig(mode="baseline", **FAST)).version
    assert small_project.version(parent).config["batch_size"] == 8  # the user's number is kept
    logged = Logged()
    result = train(small_project, TrainConfig(mode="guided", parent=parent, **{**FAST, "batch_size": None}), logged)
    images = len(small_project.samples(split="train"))
    assert small_project.version(result.version).config["batch_size"] == 16
    assert logged.batches == FAST["epochs"] * -(-images // 16)
    assert any(line.startswith(f"batches of 16: at 32, {images} training images") for line in logged.lines)


def test_attention_modes_without_masked_training_images_say_what_to_do(tmp_path):
    from gradia_desktop.core.demo import generate_demo
    from gradia_desktop.core.project_init import create_project

    data = generate_demo(tmp_path / "d", seed=1, counts={"train": 4, "val": 2, "test": 2})
    with create_project(tmp_path / "p", data / "images") as project:
        parent = train(project, TrainConfig(mode="baseline", **FAST)).version
        for mode in ("guided", "gradia", "gradia-all"):
            with pytest.raises(GradiaError, match=f"mode '{mode}' learns from masked training images.*--mode baseline"):
                train(project, TrainConfig(mode=mode, parent=parent, **FAST))
        assert [v.id for v in project.versions(status=None)] == [parent]


def test_a_run_below_its_parents_validation_accuracy_says_so():
    class Parent:
        id, metrics = 4, {"val": {"accuracy": 0.9}}

    assert "fell below the parent v4" in _compare_with_parent(Parent, {"val": {"accuracy": 0.8}})[0]
    assert _compare_with_parent(Parent, {"val": {"accuracy": 0.95}}) == []
    assert _compare_with_parent(None, {"val": {"accuracy": 0.1}}) == []


def test_missing_validation_split_is_an_error(tmp_path):
    from gradia_desktop.core.demo import generate_demo
    from gradia_desktop.core.project_init import create_project

    data = generate_demo(tmp_path / "d", seed=1, counts={"train": 4, "test": 2})
    with create_project(tmp_path / "p", data / "images") as project:
        with pytest.raises(GradiaError, match="no validation images"):
            train(project, TrainConfig(**FAST))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda_with_mixed_precision(small_project):
    result = train(small_project, TrainConfig(mode="gradia-all", counterfactual=True, epochs=2, batch_size=8,
                                              device="cuda"))
    assert small_project.version(result.version).status == "done"
    assert np.isfinite([e.loss for e in result.epochs]).all()


def test_a_missing_mask_file_trains_as_unmasked_and_says_so(small_project):
    masked = small_project.samples(split="train", has_mask=True)
    small_project.mask_path(masked[0].id).unlink()  # damage from outside the app
    result = train(small_project, TrainConfig(mode="gradia-all", epochs=1, batch_size=8, image_size=32, device="cpu"))
    assert small_project.version(result.version).status == "done"
    assert any("1 mask file is missing" in w and "gradia check --repair" in w for w in result.warnings)


def test_figures_from_a_stored_heatmap_match_what_evaluation_stored(small_project):
    """A freshly painted mask is scored from the stored CAM grid (core.metrics.attention_against), without
    the model: on masks evaluation already scored, that gives the same figures (up to float16 storage)."""
    from gradia_desktop.core.metrics import attention_against

    result = train(small_project, TrainConfig(mode="baseline", **FAST))
    stored = small_project.predictions(result.version, "val")
    checked = 0
    for sample in small_project.samples(split="val", has_mask=True):
        p = stored[sample.id]
        iou, energy, pointing = attention_against(p.cam, small_project.read_mask(sample), 32)
        assert iou == pytest.approx(p.iou, abs=0.03) and energy == pytest.approx(p.energy, abs=0.01)
        checked += 1
    assert checked >= 4
