"""`gradia train --settings FILE --events`: the form the app starts a distributed run with."""

from __future__ import annotations

import json

import pytest

from gradia_desktop.cli import main
from gradia_desktop.core import run_events
from gradia_desktop.core.project_init import create_project
from gradia_desktop.training.config import TrainConfig


@pytest.fixture
def project_dir(small_dataset, tmp_path):
    create_project(tmp_path / "p", small_dataset / "images", small_dataset / "masks").close()
    return tmp_path / "p"


def test_settings_from_a_file_and_progress_as_events(project_dir, tmp_path, capsys):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(TrainConfig(epochs=2, image_size=32, batch_size=16, device="cpu").to_dict()))
    assert main(["train", str(project_dir), "--settings", str(settings), "--events"]) == 0
    events = [run_events.decode(line) for line in capsys.readouterr().out.splitlines()]
    assert None not in events
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "result" and kinds.count("result") == 1 and kinds.count("epoch") == 2
    assert {"progress", "batch", "log"} <= set(kinds)
    epochs = [payload for kind, payload in events if kind == "epoch"]
    assert [e.metrics.epoch for e in epochs] == [1, 2] and all(e.checkpoint.endswith(".safetensors") for e in epochs)
    result = events[-1][1]
    assert result["epochs"] == 2 and result["mode"] == "baseline" and result["best_epoch"] in (1, 2)
    assert (project_dir / f"models/v{result['version']}").is_dir()


def test_settings_and_setting_flags_do_not_mix(project_dir, tmp_path, capsys):
    settings = tmp_path / "settings.json"
    settings.write_text("{}")
    assert main(["train", str(project_dir), "--settings", str(settings), "--lr", "0.1"]) == 2
    assert capsys.readouterr().err.strip() == (f"gradia train: error: --settings {settings} holds every setting: "
                                               "drop --lr (or put it in the file)")
    assert main(["train", str(project_dir), "--settings", str(tmp_path / "none.json")]) == 2
    assert "none.json: cannot read the settings" in capsys.readouterr().err


def test_a_mosaic_share_reaches_the_run_and_is_stored_with_the_version(project_dir, capsys):
    from gradia_desktop.core.store import Project

    fast = ["--epochs", "1", "--image-size", "32", "--batch-size", "16", "--device", "cpu"]
    assert main(["train", str(project_dir), *fast]) == 0
    assert main(["train", str(project_dir), "--from", "1", "--mosaic-share", "0.25", *fast]) == 0
    with Project.open(project_dir) as project:
        assert project.version(2).config["mosaic_share"] == 0.25 and project.version(2).mode == "guided"
    capsys.readouterr()
    assert main(["train", str(project_dir), "--from", "1", "--mosaic-share", "2", *fast]) == 2
    err = capsys.readouterr().err.strip()
    assert "mosaic share must lie between 0 and 1, got 2.0" in err and "\n" not in err


def test_averaging_can_be_switched_off_and_a_negative_time_constant_is_refused(project_dir, capsys):
    from gradia_desktop.core.store import Project
    from gradia_desktop.training.selection import PROBE_RULE

    fast = ["--epochs", "2", "--image-size", "32", "--batch-size", "16", "--device", "cpu"]
    assert main(["train", str(project_dir), *fast]) == 0
    capsys.readouterr()
    assert main(["train", str(project_dir), "--from", "1", "--average-epochs", "0", *fast, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["selection_rule"] == PROBE_RULE  # live weights: the probe's best epoch, not the last
    with Project.open(project_dir) as project:
        assert project.version(2).config["average_epochs"] == 0 and project.version(2).mode == "guided"
    assert main(["train", str(project_dir), "--from", "1", "--average-epochs", "-1", *fast]) == 2
    err = capsys.readouterr().err.strip()
    assert "averaging time constant must be >= 0 epochs (0: off), got -1.0" in err and "\n" not in err


def test_the_report_starts_with_the_device_it_trains_on(project_dir, capsys):
    fast = ["--epochs", "1", "--image-size", "32", "--batch-size", "16"]
    assert main(["train", str(project_dir), *fast, "--device", "cpu"]) == 0
    assert capsys.readouterr().err.splitlines()[0] == "training on CPU"
    assert main(["train", str(project_dir), *fast, "--device", "cpu", "--quiet"]) == 0
    assert "training on" not in capsys.readouterr().err
    assert main(["train", str(project_dir), *fast, "--device", "tpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown device 'tpu'" in err and "\n" not in err
