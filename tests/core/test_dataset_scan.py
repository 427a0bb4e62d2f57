"""core/dataset_scan.py and core/split.py: listing an images folder before a project is made, and the
seeded, stratified split of class folders (IMAGES/<class>/<file>)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from gradia_desktop.core import images as images_module
from gradia_desktop.core.dataset_scan import CLASS_FOLDERS, SPLIT_FOLDERS, scan_dataset
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.schema import DB_NAME
from gradia_desktop.core.split import SplitSpec, assign_splits, parse_fractions, split_counts
from gradia_desktop.core.store import Project
from gradia_desktop.errors import GradiaError

from .conftest import square_mask, write_image, write_mask_file

SPLIT = (0.7, 0.15, 0.15)


def class_folders(root, counts=None):
    """IMAGES/<class>/<file>: 20 cats and 10 dogs by default (8x6 px, cheap to write)."""
    images = root / "IMAGES"
    for cls, n in (counts or {"cat": 20, "dog": 10}).items():
        for i in range(n):
            write_image(images / cls / f"{cls}{i:02d}.png", 8, 6, seed=i)
    return images


def splits_of(scan):
    return {image.rel: image.split for image in scan.images}


@pytest.fixture
def no_decoding(monkeypatch):
    """The scan lists files only: any decode fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the scan decoded an image")

    monkeypatch.setattr(images_module, "_decode", refuse)


# ---- the scan: what the folder holds, without decoding -------------------------------------------

def test_a_split_tree_is_listed_with_counts_skipped_entries_and_masks_matched(tree, no_decoding):
    (tree.images / "train" / "cat" / "Thumbs.db").write_text("x")
    write_mask_file(tree.masks / "train" / "cat" / "c9.png", square_mask())  # no image c9
    scan = scan_dataset(tree.images, tree.masks)
    assert scan.layout == SPLIT_FOLDERS and scan.classes == ["cat", "dog"] and scan.split is None
    assert scan.counts() == {"train": {"cat": 3, "dog": 3}, "val": {"cat": 1, "dog": 1}, "test": {"cat": 1, "dog": 1}}
    assert scan.split_totals() == {"train": 6, "val": 2, "test": 2}
    assert [str(p) for p in scan.skipped] == [f"{tree.images}/train/cat/Thumbs.db: not an image file (suffix .db)"]
    assert sorted(scan.masks) == ["test/dog/d4.png", "train/cat/c0.png", "val/cat/c3.png"]
    assert [p.reason for p in scan.masks_skipped] == ["no image train/cat/c9.* for this mask"]


def test_class_folders_without_a_split_are_refused_with_the_suggestion(tmp_path):
    images = class_folders(tmp_path)
    with pytest.raises(GradiaError) as exc:
        scan_dataset(images)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{images}: class folders without train/, val/ and test/")
    assert "--split 0.7,0.15,0.15" in msg and "--seed" in msg
    with pytest.raises(GradiaError, match="class folders without train/"):
        create_project(tmp_path / "p", images)
    assert not (tmp_path / "p").exists()


def test_a_split_for_a_tree_that_is_already_split_is_refused(tree):
    with pytest.raises(GradiaError, match=r"already split into train/, val/ and test/; a split such as --split "):
        scan_dataset(tree.images, split=SPLIT)


@pytest.mark.parametrize("make,needle", [
    (lambda images: images.mkdir(), "no class folders and no train/ folder"),
    (lambda images: write_image(images / "val" / "a" / "x.png"), "no train/ folder beside val/ or test/"),
    (lambda images: write_image(images / "solo" / "x.png"), "needs at least two class folders with images, found 1"),
])
def test_folders_no_project_can_come_from_are_named_in_one_line(tmp_path, make, needle):
    images = tmp_path / "IMAGES"
    make(images)
    with pytest.raises(GradiaError) as exc:
        scan_dataset(images, split=SPLIT)
    assert needle in str(exc.value) and str(images) in str(exc.value) and "\n" not in str(exc.value)


def test_stray_entries_of_class_folders_are_skipped(tmp_path, no_decoding):
    images = class_folders(tmp_path, {"cat": 3, "dog": 3})
    (images / "README.txt").write_text("x")
    (images / "cat" / "desktop.ini").write_text("x")
    write_image(images / "dog" / "nested" / "x.png")
    (images / ".DS_Store").write_text("hidden: not mentioned")
    scan = scan_dataset(images, split=SPLIT)
    assert scan.layout == CLASS_FOLDERS and len(scan.images) == 6
    assert {p.path.name: p.reason for p in scan.skipped} == {
        "README.txt": "not inside a class folder (expected IMAGES/<class>/<file>)",
        "desktop.ini": "not an image file (suffix .ini)",
        "nested": "a folder inside a class folder"}


# ---- the split ---------------------------------------------------------------------------------

def test_the_split_is_stratified_per_class(tmp_path, no_decoding):
    scan = scan_dataset(class_folders(tmp_path), split=SPLIT, seed=0)
    assert scan.counts() == {"train": {"cat": 14, "dog": 7}, "val": {"cat": 3, "dog": 2}, "test": {"cat": 3, "dog": 1}}
    assert scan.split == SplitSpec(SPLIT, 0)
    splits = [image.split for image in scan.images]
    assert splits == sorted(splits, key=("train", "val", "test").index)  # sample ids grouped by split


def test_the_same_seed_gives_the_same_split_and_another_seed_another(tmp_path):
    images = class_folders(tmp_path)
    first, again = scan_dataset(images, split=SPLIT, seed=0), scan_dataset(images, split=SPLIT, seed=0)
    other = scan_dataset(images, split=SPLIT, seed=1)
    assert splits_of(first) == splits_of(again)
    assert splits_of(first) != splits_of(other) and other.counts() == first.counts()


def test_the_split_does_not_depend_on_listing_order():
    rels = {"a": [f"a/{i}.png" for i in range(30)]}
    forward = assign_splits(rels, SplitSpec(SPLIT, 4))
    backward = assign_splits({"a": rels["a"][::-1]}, SplitSpec(SPLIT, 4))
    assert forward == backward


@pytest.mark.parametrize("n,expected", [(0, (0, 0, 0)), (1, (1, 0, 0)), (2, (2, 0, 0)), (3, (2, 1, 0)),
                                        (10, (7, 2, 1)), (20, (14, 3, 3)), (30, (21, 5, 4)), (100, (70, 15, 15))])
def test_split_counts_add_up_and_keep_a_training_image(n, expected):
    assert split_counts(n, SPLIT) == expected and sum(expected) == n


def test_a_class_of_one_image_gets_it_in_train():
    assert split_counts(1, (0.1, 0.45, 0.45)) == (1, 0, 0)
    assert set(assign_splits({"a": ["a/x.png"], "b": ["b/y.png"]}, SplitSpec((0.1, 0.45, 0.45))).values()) == {"train"}


@pytest.mark.parametrize("text,needle", [("0.7,0.3", "2 numbers given"), ("a,b,c", "not numbers"),
                                         ("0.5,0.5,0.5", "they sum to 1.5, not 1"), ("0,0.5,0.5", "train fraction"),
                                         ("1.2,-0.1,-0.1", "0 or more"), ("nan,0.5,0.5", "0 or more")])
def test_bad_fractions_are_one_line(text, needle):
    with pytest.raises(GradiaError) as exc:
        parse_fractions(text)
    msg = str(exc.value)
    assert needle in msg and repr(text) in msg and "e.g. 0.7,0.15,0.15" in msg and "\n" not in msg


def test_fractions_parse():
    assert parse_fractions(" 0.8, 0.1 ,0.1") == (0.8, 0.1, 0.1)
    assert parse_fractions("1,0,0") == (1.0, 0.0, 0.0)


# ---- creating from class folders: the split is stored and never redone --------------------------

def test_a_project_from_class_folders_stores_its_split_and_keeps_it(tmp_path):
    images = class_folders(tmp_path)
    masks = tmp_path / "MASKS"
    write_mask_file(masks / "cat" / "cat03.png", square_mask(8, 6, box=(1, 1, 4, 4)))
    write_mask_file(masks / "dog" / "dog07.png", square_mask(8, 6, box=(1, 1, 4, 4)))
    scan = scan_dataset(images, masks, split=SPLIT, seed=3)
    with create_project(tmp_path / "p", images, masks, split=SPLIT, seed=3) as project:
        stored = {s.path: s.split for s in project.samples()}
        assert stored == splits_of(scan)
        assert {s.path for s in project.samples(has_mask=True)} == {"cat/cat03.png", "dog/dog07.png"}
        assert project.images_root == images.resolve()
    # new files in the folder, or a reopen, change nothing: the split lives in the project
    write_image(images / "cat" / "cat99.png", 8, 6)
    with Project.open(tmp_path / "p") as project:
        assert {s.path: s.split for s in project.samples()} == stored
    conn = sqlite3.connect(tmp_path / "p" / DB_NAME)
    try:
        record = json.loads(dict(conn.execute("SELECT key, value FROM meta"))["split"])
    finally:
        conn.close()
    assert record == {"source": "seeded", "fractions": [0.7, 0.15, 0.15], "seed": 3,
                      "method": "sha256-rank-per-class/1"}


def test_masks_of_class_folders_sit_at_class_and_stem(tmp_path):
    images = class_folders(tmp_path, {"cat": 3, "dog": 3})
    masks = tmp_path / "MASKS"
    write_mask_file(masks / "train" / "cat" / "cat00.png", square_mask(8, 6))  # the split-tree place: not here
    scan = scan_dataset(images, masks, split=SPLIT)
    assert scan.masks == {} and [p.reason for p in scan.masks_skipped] == [
        "not where a mask belongs (MASKS/<class>/<image stem>.png)"]


def test_masks_side_by_side_are_matched_by_their_images_file_name_or_stem(tmp_path, no_decoding):
    """The GRADIA reference code keeps its attention labels in one folder, named as the images are."""
    images = tmp_path / "IMAGES"
    for rel in ("train/cat/r1.jpg", "train/dog/r2.jpg", "val/cat/r3.jpg", "train/cat/same.png", "val/dog/same.png"):
        write_image(images / rel)
    masks = tmp_path / "label"
    for name in ("r1.jpg", "r2.png", "same.png", "ghost.png"):
        write_mask_file(masks / name, square_mask())
    (masks / "notes.txt").write_text("how we labelled")
    scan = scan_dataset(images, masks)
    assert scan.layout == SPLIT_FOLDERS
    assert {rel: path.name for rel, path in scan.masks.items()} == {"train/cat/r1.jpg": "r1.jpg",
                                                                   "train/dog/r2.jpg": "r2.png"}
    assert sorted((p.path.name, p.reason) for p in scan.masks_skipped) == [
        ("ghost.png", "no image named ghost.png or ghost.* for this mask"),
        ("notes.txt", "not an image file (suffix .txt)"),
        ("same.png", "ambiguous: several images are named same.png")]


def test_a_project_takes_masks_kept_side_by_side(tmp_path):
    images = tmp_path / "IMAGES"
    for rel in ("train/cat/a.png", "train/dog/b.png", "val/cat/c.png", "val/dog/d.png"):
        write_image(images / rel)
    write_mask_file(tmp_path / "label" / "b.png", square_mask())
    with create_project(tmp_path / "project", images, tmp_path / "label") as project:
        masked = [s for s in project.samples() if s.has_mask]
        assert [s.path for s in masked] == ["train/dog/b.png"]
        assert project.read_mask(masked[0]).sum() == square_mask().sum()
