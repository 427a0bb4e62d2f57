"""A run with a parent that starts again from the weights the parent's lineage began with."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from gradia_desktop.errors import GradiaError
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.models import build_model
from gradia_desktop.training.trainer import train

FAST = dict(epochs=1, batch_size=8, device="cpu", seed=3)


def _weights(project, version_id):
    return load_file(str(project.root / project.version(version_id).checkpoint))


def _same(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_a_restart_ignores_the_parents_learned_weights_and_a_fine_tune_uses_them(small_project):
    parent = train(small_project, TrainConfig(mode="baseline", epochs=2, batch_size=8, image_size=32,
                                              device="cpu", seed=0)).version
    restart = train(small_project, TrainConfig(mode="guided", parent=parent, start="initial", **FAST))
    fresh = train(small_project, TrainConfig(mode="guided", image_size=32, **FAST))
    tuned = train(small_project, TrainConfig(mode="guided", parent=parent, start="parent", **FAST))
    # The same seed, data and recipe from the same starting weights: the restart is the fresh run, bit for bit.
    assert _same(_weights(small_project, restart.version), _weights(small_project, fresh.version))
    assert not _same(_weights(small_project, tuned.version), _weights(small_project, fresh.version))
    version = small_project.version(restart.version)
    assert version.parent_id == parent and version.image_size == 32 and version.config["start"] == "initial"
    assert any("restarted from the weights v1 began with (random weights)" in n for n in restart.warnings)


def test_guided_from_a_parent_restarts_by_default(small_project):
    parent = train(small_project, TrainConfig(mode="baseline", image_size=32, **FAST)).version
    result = train(small_project, TrainConfig(mode="guided", parent=parent, **FAST))
    assert small_project.version(result.version).config["start"] == "initial"
    paper = train(small_project, TrainConfig(mode="gradia-all", parent=parent, **FAST))
    assert small_project.version(paper.version).config["start"] == "parent"


def test_a_restart_reloads_the_weights_file_the_lineage_began_with(small_project, tmp_path):
    source = build_model("tiny", len(small_project.classes))
    torch.save(source.state_dict(), tmp_path / "start.pt")
    root = train(small_project, TrainConfig(mode="baseline", image_size=32, init_weights=str(tmp_path / "start.pt"),
                                            **FAST)).version
    middle = train(small_project, TrainConfig(mode="gradia-all", parent=root, **FAST)).version
    seen = {}
    import gradia_desktop.training.trainer as trainer

    real = trainer.load_weights

    def spy(model, path):
        seen["path"] = str(path)
        skipped = real(model, path)
        seen["state"] = {k: v.clone() for k, v in model.state_dict().items()}
        return skipped

    trainer.load_weights = spy
    try:
        result = train(small_project, TrainConfig(mode="guided", parent=middle, **FAST))
    finally:
        trainer.load_weights = real
    assert seen["path"] == str(tmp_path / "start.pt")
    assert _same(seen["state"], source.state_dict())
    assert any(f"v{root} began with ({tmp_path / 'start.pt'})" in n for n in result.warnings)


def test_a_restart_whose_weights_file_is_gone_says_so_before_making_a_version(small_project, tmp_path):
    torch.save(build_model("tiny", len(small_project.classes)).state_dict(), tmp_path / "gone.pt")
    parent = train(small_project, TrainConfig(mode="baseline", image_size=32, init_weights=str(tmp_path / "gone.pt"),
                                              **FAST)).version
    (tmp_path / "gone.pt").unlink()
    before = len(small_project.versions(status=None))
    with pytest.raises(GradiaError, match=r"gone\.pt: the weights file v1 started from is gone.*--start parent"):
        train(small_project, TrainConfig(mode="guided", parent=parent, **FAST))
    assert len(small_project.versions(status=None)) == before
    # Fine-tuning the parent's own weights still works.
    train(small_project, TrainConfig(mode="guided", parent=parent, start="parent", **FAST))
