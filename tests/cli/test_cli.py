"""The `gradia` command line end to end on small data, and its bad-input contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gradia_desktop.training.selection import PROBE_RULE

from .cli_run import run

COMMANDS = ("demo", "init", "train", "eval", "matrix", "compare", "judge", "explain", "models", "layers", "weights",
            "bench", "import-model", "import-reference")


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    proc = subprocess.run([sys.executable, "-m", "gradia_desktop", command, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: gradia " + command in proc.stdout


def test_demo_writes_the_layout_init_reads(tmp_path, capsys):
    code, out, err = run(capsys, "demo", tmp_path / "demo", "--seed", 5, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["images"] == 1400 and result["masks"] == 2 * (60 + 100 + 200)
    assert (tmp_path / "demo/images/train/disc").is_dir() and (tmp_path / "demo/masks/test/cross").is_dir()
    assert "generating demo images" in err  # progress on stderr
    code, _, err = run(capsys, "demo", tmp_path / "demo")
    assert code == 2 and "not an empty folder" in one_error_line(err)


def test_init_train_eval_round_trip(small_dataset, tmp_path, capsys):
    project = tmp_path / "p"
    code, out, _ = run(capsys, "init", project, "--images", small_dataset / "images", "--masks",
                       small_dataset / "masks", "--json")
    assert code == 0 and json.loads(out)["samples"] == 2 * (16 + 4 + 4)
    code, out, err = run(capsys, "train", project, "--epochs", 1, "--image-size", 32, "--batch-size", 8,
                         "--device", "cpu", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["version"] == 1 and first["parent"] is None and "epoch 1:" in err and first["epochs"] == 1
    code, out, err = run(capsys, "train", project, "--mode", "gradia", "--from", "v1", "--counterfactual",
                         "--epochs", 1, "--weight", "UA=0.5,2", "--json")
    assert code == 0, err
    second = json.loads(out)
    assert second["version"] == 2 and second["parent"] == 1
    code, out, _ = run(capsys, "eval", project, "--version", second["version"], "--split", "test", "--json")
    assert code == 0
    report = json.loads(out)
    assert {"version", "split", "n", "accuracy", "iou", "energy", "pointing", "matrix"} <= set(report)
    assert report["version"] == 2 and report["split"] == "test" and report["n"] == 8
    assert set("RA UA RI UI".split()) <= set(report["matrix"])
    assert report["accuracy"] == second["test"]["accuracy"]
    assert second["selection_rule"] == PROBE_RULE
    for key in ("n_counterfactual", "masked_accuracy", "counterfactual_accuracy", "shortcut_reliance"):
        assert report[key] == second["test"][key], key  # the probe stored with the version
    assert report["n_counterfactual"] == 8
    code, out, _ = run(capsys, "eval", project, "--split", "test", "--recompute", "--json")
    again = json.loads(out)
    assert code == 0 and again["accuracy"] == report["accuracy"]
    assert again["counterfactual_accuracy"] == report["counterfactual_accuracy"]  # seeded: the same copies
    code, out, err = run(capsys, "train", project, "--from", "v1", "--epochs", 1, "--json")  # no --mode
    assert code == 0, err
    third = json.loads(out)
    assert third["mode"] == "guided" and third["parent"] == 1 and third["start"] == "initial"
    assert any("restarted from the weights v1 began with" in w for w in third["warnings"])
    code, out, _ = run(capsys, "eval", project, "--split", "train", "--json")  # no probe stored for train
    assert code == 0 and json.loads(out)["counterfactual_accuracy"] is None


@pytest.mark.parametrize("argv,fragment", [
    (["init", "{tmp}/p", "--images", "{tmp}/missing"], "images folder not found"),
    (["train", "{tmp}/missing"], "project folder not found"),
    (["train", "{tmp}"], "not a GRADIA project"),
    (["train", "{project}", "--arch", "resnet19"], "unknown architecture"),
    (["train", "{project}", "--cam-layer", "layer4.9"], "layer4.9"),
    (["train", "{project}", "--mode", "gradia"], "--from"),
    (["train", "{project}", "--from", "v9"], "no model version v9"),
    (["train", "{project}", "--start", "initial"], "--start initial needs --from VERSION"),
    (["train", "{project}", "--weights-file", "{tmp}/none.pt"], "weights file not found"),
    (["train", "{project}", "--device", "quantum"], "unknown device"),
    (["train", "{project}", "--weight", "XX=1,1"], "unknown row"),
    (["train", "{project}", "--propagate-masks"], "proposed masks only feed counterfactual backgrounds"),
    (["eval", "{project}"], "no trained model version"),
    (["bench", "--arch", "nope"], "unknown architecture"),
])
def test_bad_input_is_one_line_and_exit_2(argv, fragment, small_project, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, project=small_project.root) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert fragment in one_error_line(err)
    assert small_project.versions(status=None) == []  # nothing half-made


def test_unavailable_cuda_exits_2(small_project, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is present here")
    code, _, err = run(capsys, "train", small_project.root, "--device", "cuda")
    assert code == 2 and "not available" in one_error_line(err)


def _two_class_tree(root):
    """IMAGES/train/{a,b}/x.png (8x6 grey) and MASKS/train/a/x.png: the smallest tree init accepts."""
    import cv2
    import numpy as np

    for cls in ("a", "b"):
        (root / "images/train" / cls).mkdir(parents=True)
        cv2.imwrite(str(root / "images/train" / cls / "x.png"), np.full((6, 8), 100, np.uint8))
    (root / "masks/train/a").mkdir(parents=True)
    return root / "images", root / "masks"


def test_init_refuses_a_colour_photo_as_a_mask_unless_told_how_to_read_it(tmp_path, capsys):
    import cv2
    import numpy as np

    images, masks = _two_class_tree(tmp_path)
    photo = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    cv2.imwrite(str(masks / "train/a/x.png"), photo)
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images, "--masks", masks)
    line = one_error_line(err)
    assert code == 2 and out == "" and str(masks / "train/a/x.png") in line and "a colour image, not a mask" in line
    assert not (tmp_path / "p").exists()
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images, "--masks", masks,
                         "--mask-threshold", 127, "--mask-channel", "g", "--json")
    assert code == 0, err
    assert json.loads(out)["masks"] == 1 and (photo[..., 1] > 127).any()


def test_init_rejects_a_bad_mask_threshold(tmp_path, capsys):
    images, masks = _two_class_tree(tmp_path)
    code, _, err = run(capsys, "init", tmp_path / "p", "--images", images, "--masks", masks, "--mask-threshold", 300)
    assert code == 2 and "mask threshold 300.0: must be at least 0 and below 255" in one_error_line(err)


def test_eval_of_a_project_in_use_evaluates_read_only_and_stores_nothing(small_project, capsys, monkeypatch):
    from gradia_desktop.core.project_lock import Holder, ProjectInUse
    from gradia_desktop.core.store import Project

    root = small_project.root
    code, _, err = run(capsys, "train", root, "--epochs", 1, "--image-size", 32, "--batch-size", 8,
                       "--device", "cpu", "--quiet")
    assert code == 0, err
    code, out, _ = run(capsys, "eval", root, "--split", "val", "--json", "--quiet")
    stored = json.loads(out)
    real_open = Project.open.__func__

    def open_elsewhere_held(cls, path, readonly=False):
        if not readonly:
            raise ProjectInUse(root, Holder(4242, "elsewhere", "2026-12-02 10:00"))
        return real_open(cls, path, readonly=True)

    def no_store(*_a, **_k):
        raise AssertionError("a read-only evaluation stored predictions")

    monkeypatch.setattr(Project, "open", classmethod(open_elsewhere_held))
    monkeypatch.setattr(Project, "save_predictions", no_store)
    code, out, err = run(capsys, "eval", root, "--split", "val", "--recompute", "--json")
    assert code == 0, err
    assert "in use by PID 4242 on elsewhere" in err and "nothing will be stored" in err
    fresh = json.loads(out)
    assert fresh["accuracy"] == stored["accuracy"] and fresh["n"] == stored["n"]
    assert fresh["matrix"] == stored["matrix"]


def test_layers_lists_the_default_layer_and_the_grids(capsys):
    code, out, err = run(capsys, "layers", "resnet18", "--image-size", "128", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["default"] == "layer4.1" and [r["name"] for r in got["layers"] if r["default"]] == ["layer4.1"]
    assert {r["name"]: r["grid"] for r in got["layers"]}["layer3"] == [8, 8]
    code, out, _ = run(capsys, "layers", "tiny")
    assert code == 0 and out.startswith("tiny at 64 px") and "(default)" in out
    code, _, err = run(capsys, "layers", "resnet18", "--image-size", "4")
    assert code == 2 and "--image-size 4" in err


def test_the_command_line_starts_without_loading_torch():
    """Every command's parser is built at start-up: loading torch there would cost every command seconds."""
    code = ("import sys; from gradia_desktop.cli import build_parser; build_parser(); "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
