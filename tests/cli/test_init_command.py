"""`gradia init` on real-world folders: stray files skipped and named all at once, --strict, unreadable
images left out, and class folders split by --split/--seed (issue 12, points 13 and 14)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from gradia_desktop.core.store import Project

from .test_cli import one_error_line, run


def write_png(path, value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((6, 8), value, np.uint8))
    return path


def split_tree(root):
    """IMAGES/{train,val}/{a,b}/*.png: the smallest split tree, two train images per class."""
    for split, n in (("train", 2), ("val", 1)):
        for cls in ("a", "b"):
            for i in range(n):
                write_png(root / "images" / split / cls / f"{cls}{i}.png", 10 * i)
    return root / "images"


def class_folders(root, n=10):
    for cls in ("a", "b"):
        for i in range(n):
            write_png(root / "images" / cls / f"{cls}{i:02d}.png", i)
    return root / "images"


def warnings_of(err):
    return [line for line in err.splitlines() if line.startswith("gradia init: warning: ")]


def splits_in(project_dir):
    with Project.open(project_dir) as project:
        return {s.path: s.split for s in project.samples()}


# ---- point 13: stray entries and unreadable images ----------------------------------------------

def _strays(images):
    strays = [images / "train/a/README.txt", images / "train/b/Thumbs.db", images / "val/a/desktop.ini"]
    for path in strays:
        path.write_text("x")
    write_png(images / "train/a/old/x.png")
    return strays + [images / "train/a/old"]


def test_stray_files_are_skipped_and_all_named_in_one_run(tmp_path, capsys):
    images = split_tree(tmp_path)
    strays = _strays(images)
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images)
    assert code == 0, err
    warned = warnings_of(err)
    assert len(warned) == 4 and all(line.startswith("gradia init: warning: skipped ") for line in warned)
    for path in strays:
        assert sum(str(path) + ":" in line for line in warned) == 1, path
    assert "not an image file (suffix .txt)" in err and "a folder inside a class folder" in err
    assert "created" in out and "6 samples (4 train, 2 val, 0 test)" in out and "4 entries skipped" in out
    assert "next: gradia train" in out


def test_strict_refuses_naming_every_problem_at_once(tmp_path, capsys):
    images = split_tree(tmp_path)
    strays = _strays(images)
    (images / "train/b/b0.png").write_bytes(b"not a png")
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images, "--strict")
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert line == (f"gradia init: error: {images}: 5 entries not images or not readable (named above): --strict "
                    "refuses the folder; without it they are skipped")
    for path in [*strays, images / "train/b/b0.png"]:
        assert f"gradia init: {path}: " in err
    assert not (tmp_path / "p").exists()


def test_an_unreadable_image_is_left_out_and_named(tmp_path, capsys):
    images = split_tree(tmp_path)
    bad = images / "train/b/b1.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images, "--json")
    assert code == 0, err
    warned = warnings_of(err)
    assert len(warned) == 1 and warned[0].startswith(f"gradia init: warning: left out {bad}: not a readable image")
    result = json.loads(out)
    assert result["splits"] == {"train": 3, "val": 2, "test": 0} and result["samples"] == 5
    assert [entry["path"] for entry in result["left_out"]] == [str(bad)] and result["skipped"] == []
    assert "b/b1.png" not in " ".join(splits_in(tmp_path / "p"))


def test_a_decompression_bomb_is_left_out_and_refused_under_strict(tmp_path, capsys):
    import struct
    import zlib

    images = split_tree(tmp_path)
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
            + b"\x00\x00\x00\x00IEND\xaeB`\x82")
    (images / "train/b/bomb.png").write_bytes(bomb)
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images)
    assert code == 0 and "bomb.png: 50000x50000 pixels is above the limit" in warnings_of(err)[0]
    code, out, err = run(capsys, "init", tmp_path / "q", "--images", images, "--strict")
    one_error_line(err)
    assert code == 2 and "bomb.png: 50000x50000 pixels is above the limit" in err and "Traceback" not in err


def test_very_many_strays_are_named_up_to_twenty_then_counted(tmp_path, capsys):
    images = split_tree(tmp_path)
    for i in range(25):
        (images / "train/a" / f"note{i:02d}.txt").write_text("x")
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images, "--json")
    warned = warnings_of(err)
    assert code == 0 and len(warned) == 21
    assert warned[-1] == "gradia init: warning: ... and 5 more skipped or left out (gradia init --json lists them all)"
    assert len(json.loads(out)["skipped"]) == 25


# ---- point 14: class folders and --split ---------------------------------------------------------

def test_class_folders_without_split_are_refused_with_the_suggestion(tmp_path, capsys):
    images = class_folders(tmp_path)
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images)
    line = one_error_line(err)
    assert code == 2 and out == "" and str(images) in line and "--split 0.7,0.15,0.15" in line
    assert not (tmp_path / "p").exists()


def test_split_is_stratified_seeded_and_stored(tmp_path, capsys):
    images = class_folders(tmp_path)
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images, "--split", "0.7,0.15,0.15", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["layout"] == "class folders" and result["splits"] == {"train": 14, "val": 4, "test": 2}
    assert result["per_class"] == {"train": {"a": 7, "b": 7}, "val": {"a": 2, "b": 2}, "test": {"a": 1, "b": 1}}
    assert result["split"] == {"source": "seeded", "fractions": [0.7, 0.15, 0.15], "seed": 0,
                               "method": "sha256-rank-per-class/1"}
    code, out, _ = run(capsys, "init", tmp_path / "same", "--images", images, "--split", "0.7,0.15,0.15", "--seed", 0)
    assert code == 0 and "split 0.7,0.15,0.15 with seed 0" in out
    code, _, _ = run(capsys, "init", tmp_path / "other", "--images", images, "--split", "0.7,0.15,0.15", "--seed", 9)
    assert code == 0
    assert splits_in(tmp_path / "p") == splits_in(tmp_path / "same") != splits_in(tmp_path / "other")


def test_class_folder_masks_are_matched_by_class_and_stem(tmp_path, capsys):
    images = class_folders(tmp_path)
    write_png(tmp_path / "masks/a/a03.png", 255)
    write_png(tmp_path / "masks/b/b01.png", 255)
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", images, "--masks", tmp_path / "masks",
                         "--split", "0.8,0.1,0.1", "--json")
    assert code == 0, err
    assert json.loads(out)["masks"] == 2


@pytest.mark.parametrize("argv,fragment", [
    (["--split", "0.7,0.3"], "--split '0.7,0.3': 2 numbers given"),
    (["--split", "0.6,0.6,0.1"], "they sum to 1.3, not 1"),
    (["--split", "x,y,z"], "--split 'x,y,z': not numbers"),
    (["--seed", "4"], "--seed 4 seeds --split: give --split too"),
])
def test_bad_split_options_are_one_line(tmp_path, capsys, argv, fragment):
    code, out, err = run(capsys, "init", tmp_path / "p", "--images", class_folders(tmp_path, 2), *argv)
    assert code == 2 and out == "" and fragment in one_error_line(err)


def test_split_of_a_tree_already_split_is_one_line(tmp_path, capsys):
    images = split_tree(tmp_path)
    code, _, err = run(capsys, "init", tmp_path / "p", "--images", images, "--split", "0.7,0.15,0.15")
    line = one_error_line(err)
    assert code == 2 and str(images) in line and "already split into train/, val/ and test/" in line
