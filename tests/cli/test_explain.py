"""cli/explain_command.py: `gradia explain` writes the heatmaps the app shows, as overlays and arrays."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from gradia_desktop.cli import main
from gradia_desktop.core.heatmap_image import blend
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.store import Project
from gradia_desktop.training.explain import Explainer

from .cli_run import QUICK_TRAIN as TRAIN, run


@pytest.fixture(scope="module")
def trained_root(small_dataset, tmp_path_factory):
    """A project over its own copy of the images (a test damages one), with one trained version."""
    base = tmp_path_factory.mktemp("explain")
    shutil.copytree(small_dataset, base / "data")
    project = create_project(base / "project", base / "data" / "images", base / "data" / "masks")
    root = project.root
    project.close()
    assert main(["train", str(root), *TRAIN]) == 0
    return root


def test_explain_writes_the_apps_heatmap_of_every_image_as_overlay_and_arrays(trained_root, tmp_path, capsys):
    out = tmp_path / "heat"
    code, stdout, err = run(capsys, "explain", trained_root, "--split", "val", "--out", out, "--cams", "npz",
                            "--batch-size", "3", "--colormap", "turbo", "--opacity", "0.4", "--json")
    assert code == 0, err
    result = json.loads(stdout)
    manifest = json.loads((out / "explain.json").read_text())
    with Project.open(trained_root, readonly=True) as project:
        val = project.samples(split="val")
        version = project.resolve_version(None)
        explainer = Explainer(project, version)
        assert result["explained"] == len(val) == len(manifest["images"]) and result["skipped"] == []
        assert manifest["layer"] == version.cam_layer and manifest["target"] == "predicted"
        for sample, row in zip(val, manifest["images"]):
            assert row["path"] == sample.path and row["class"] == sample.class_name
            rgb = project.load_image(sample)
            cam, probs = explainer.heatmap(rgb)  # what the canvas shows for this version
            arrays = np.load(out / row["cam"])
            assert arrays["cam"].shape == rgb.shape[:2]
            np.testing.assert_allclose(arrays["cam"], cam, atol=1e-5)
            np.testing.assert_allclose(arrays["probs"], probs, atol=1e-5)
            assert row["predicted"] == row["explained_class"] == project.classes[int(np.argmax(probs))]
            assert int(arrays["target"]) == int(np.argmax(probs)) and arrays["grid"].ndim == 2
            overlay = cv2.cvtColor(cv2.imread(str(out / row["heatmap"])), cv2.COLOR_BGR2RGB)
            assert np.array_equal(overlay, blend(rgb, arrays["cam"], "turbo", 0.4))


def test_explain_can_follow_the_true_class_and_write_plain_npy(trained_root, tmp_path, capsys):
    out = tmp_path / "heat"
    code, _, err = run(capsys, "explain", trained_root, "--split", "train", "--class", "disc", "--target", "true",
                       "--out", out)
    assert code == 0, err
    rows = json.loads((out / "explain.json").read_text())["images"]
    assert rows and all(r["class"] == r["explained_class"] == "disc" for r in rows)
    cam = np.load(out / rows[0]["cam"])
    assert cam.dtype == np.float32 and 0 <= cam.min() and cam.max() <= 1


@pytest.mark.parametrize("argv, message", [
    (("--opacity", "2"), "--opacity 2: must lie between 0 and 1"),
    (("--class", "hexagon"), "--class hexagon: no such class"),
    (("--version", "9"), "no model version v9"),
])
def test_bad_input_is_one_line_with_exit_2_and_writes_nothing(trained_root, tmp_path, capsys, argv, message):
    out = tmp_path / "heat"
    code, _, err = run(capsys, "explain", trained_root, "--out", out, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_folder_in_use_is_refused_and_left_as_it_was(trained_root, tmp_path, capsys):
    (tmp_path / "heat").mkdir()
    (tmp_path / "heat" / "mine.txt").write_text("keep")
    code, _, err = run(capsys, "explain", trained_root, "--out", tmp_path / "heat")
    assert code == 2 and "already exists and is not an empty folder" in err
    assert [p.name for p in (tmp_path / "heat").iterdir()] == ["mine.txt"]


def test_an_unreadable_image_is_skipped_and_named(trained_root, tmp_path, capsys):
    with Project.open(trained_root, readonly=True) as project:
        victim = project.image_path(project.samples(split="val")[0])
    saved = victim.read_bytes()
    victim.write_bytes(b"not an image")
    try:
        code, stdout, err = run(capsys, "explain", trained_root, "--out", tmp_path / "heat", "--json")
    finally:
        victim.write_bytes(saved)
    assert code == 0, err
    result = json.loads(stdout)
    assert [s["path"] for s in result["skipped"]] == [victim.relative_to(victim.parents[2]).as_posix()]
    assert "skipped" in err and victim.name in err


def test_another_cam_method_is_written_and_recorded(trained_root, tmp_path, capsys):
    maps = {}
    for method in ("gradcam", "layercam"):
        code, _, err = run(capsys, "explain", trained_root, "--method", method, "--out", tmp_path / method,
                           "--cams", "npz")
        assert code == 0, err
        manifest = json.loads((tmp_path / method / "explain.json").read_text())
        assert manifest["method"] == method
        maps[method] = np.load(tmp_path / method / manifest["images"][0]["cam"])["grid"]
    assert maps["gradcam"].shape == maps["layercam"].shape and not np.allclose(maps["gradcam"], maps["layercam"])
