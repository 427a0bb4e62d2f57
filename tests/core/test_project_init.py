"""core/project_init.py: scanning, checking and creating a project, all or nothing."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import cv2
import numpy as np
import pytest

from gradia_desktop.core import images as images_module
from gradia_desktop.core.mask_rule import MaskRule
from gradia_desktop.core.project_init import DatasetRefused, create_project, init_project
from gradia_desktop.core.schema import DB_NAME, SCHEMA_VERSION
from gradia_desktop.core.store import Project
from gradia_desktop.errors import GradiaError

from .conftest import (H, IDS, ODD_H, ODD_W, W, build_tree, encode_png, listing, partial_leftovers, square_mask,
                       write_image, write_mask_file)
from .image_samples import call_with_timeout, encode, jpeg_with_orientation, needs_fifo, png_claiming, release_fifo


def expect_failure(tmp_path, images, masks, *needles, project_dir=None, strict=False):
    """create_project must raise a one-line GradiaError naming ``needles`` and leave nothing behind."""
    project_dir = project_dir or tmp_path / "out" / "proj"
    before_images = listing(images) if images.is_dir() else None
    before_masks = listing(masks) if masks is not None and masks.is_dir() else None
    with pytest.raises(GradiaError) as exc:
        create_project(project_dir, images, masks, strict=strict)
    msg = str(exc.value)
    assert "\n" not in msg and "\r" not in msg and msg.strip()
    for needle in needles:
        assert str(needle) in msg, f"{needle!r} not in {msg!r}"
    assert not project_dir.exists()
    assert partial_leftovers(project_dir.parent) == []
    assert (listing(images) if images.is_dir() else None) == before_images  # inputs untouched
    if masks is not None:
        assert (listing(masks) if masks.is_dir() else None) == before_masks
    return msg


def expect_left_out(tmp_path, images, masks, path, *needles, samples=10):
    """A plain create succeeds without ``path`` and reports it with its reason (``needles``); a strict
    one refuses in one line naming it, and writes nothing. Returns the reported problem."""
    msg = expect_failure(tmp_path, images, masks, path, *needles, strict=True)
    assert "refused (strict)" in msg
    result = init_project(tmp_path / "lenient", images, masks)
    with result.project as p:
        assert len(p.samples()) == samples
        assert all(p.image_path(s) != path for s in p.samples())
    reported = [problem for problem in result.scan.problems + result.left_out if problem.path == path]
    assert len(reported) == 1, result.scan.problems + result.left_out
    for needle in needles:
        assert str(needle) in str(reported[0])
    shutil.rmtree(tmp_path / "lenient")
    return reported[0]


# ---- the happy path ---------------------------------------------------------------------------

def test_create_project_full(tree, tmp_path):
    calls = []
    root = tmp_path / "out" / "proj"  # the parent does not exist yet
    with create_project(root, tree.images, tree.masks, progress=lambda *a: calls.append(a)) as p:
        assert isinstance(p, Project) and p.root == root.resolve() and not p.readonly
        assert p.classes == ["cat", "dog"]
        assert p.images_root == tree.images.resolve()
        samples = p.samples()
        assert [(s.id, s.split, s.class_name, s.path.rsplit("/", 1)[1]) for s in samples] == \
            [(i, *IDS[i]) for i in range(1, 11)]
        assert [(s.width, s.height) for s in samples] == [(W, H)] * 5 + [(ODD_W, ODD_H)] + [(W, H)] * 4
        assert [s.id for s in samples if s.has_mask] == [1, 7, 10]
        for sid, key in [(1, ("train", "cat", "c0")), (7, ("val", "cat", "c3")), (10, ("test", "dog", "d4"))]:
            np.testing.assert_array_equal(p.read_mask(sid), tree.masks_written[key])
            assert p.mask_pixels()[sid] == int(tree.masks_written[key].sum())
        assert p._query("SELECT DISTINCT source FROM masks") == [("import",)]
        assert p.versions(status=None) == []
    assert sorted(os.listdir(root)) == ["masks", "models", DB_NAME]  # images are not copied in
    assert sorted(os.listdir(root / "masks")) == ["1.png", "10.png", "7.png"]
    assert os.listdir(root / "models") == []
    assert os.listdir(root.parent) == ["proj"]  # no staging folder left
    # progress: every image read, then every mask
    image_calls = [c for c in calls if c[0] == "reading images"]
    mask_calls = [c for c in calls if c[0] == "reading masks"]
    assert image_calls[-1] == ("reading images", 10, 10)
    assert mask_calls == [("reading masks", 1, 3), ("reading masks", 2, 3), ("reading masks", 3, 3)]
    assert {c[0] for c in calls} == {"reading images", "reading masks"}


def test_masks_are_stored_as_0_255_png(tmp_path, tree):
    # an imported mask holding 1s (not 255s) and noise in every channel still means 'nonzero'
    m = np.zeros((H, W, 3), np.uint8)
    m[2:5, 3:9, 1] = 1
    (tree.masks / "train" / "cat" / "c0.png").write_bytes(encode_png(m))
    with create_project(tmp_path / "p", tree.images, tree.masks) as p:
        raw = cv2.imread(str(p.mask_path(1)), cv2.IMREAD_UNCHANGED)
        assert raw.ndim == 2 and raw.dtype == np.uint8
        assert set(np.unique(raw).tolist()) == {0, 255}
        assert int((raw == 255).sum()) == 18 == p.mask_pixels()[1]


def test_without_masks(tree, tmp_path):
    with create_project(tmp_path / "p", tree.images) as p:
        assert p.samples(has_mask=True) == [] and p.mask_pixels() == {}
        p.write_mask(2, square_mask())  # the masks/ folder appears on the first painted mask
        assert p.sample(2).has_mask and p.mask_path(2).is_file()


def test_train_only_and_mixed_formats(tmp_path):
    images = tmp_path / "IMAGES"
    write_image(images / "train" / "b" / "one.JPG", 10, 7)
    write_image(images / "train" / "a" / "two.bmp", 5, 9)
    gray = images / "train" / "a" / "three.png"
    gray.write_bytes(encode_png(np.zeros((4, 3), np.uint8)))
    with create_project(tmp_path / "p", images) as p:
        assert p.classes == ["a", "b"]
        got = [(s.path, s.class_idx, s.width, s.height) for s in p.samples()]
        assert got == [("train/a/three.png", 0, 3, 4), ("train/a/two.bmp", 0, 5, 9), ("train/b/one.JPG", 1, 10, 7)]
        assert p.samples(split="val") == []


def test_hidden_files_and_folders_are_ignored(tree, tmp_path):
    (tree.images / "train" / "cat" / ".DS_Store").write_bytes(b"\x00junk")
    (tree.images / "train" / ".hidden_class").mkdir()
    (tree.images / "train" / ".hidden_class" / "x.txt").write_text("x")
    (tree.masks / "train" / "cat" / "._c0.png").write_bytes(b"resource fork")
    (tree.masks / ".thumbs").write_text("x")
    with create_project(tmp_path / "p", tree.images, tree.masks) as p:
        assert len(p.samples()) == 10 and p.classes == ["cat", "dog"]
        assert [s.id for s in p.samples(has_mask=True)] == [1, 7, 10]


def test_empty_existing_project_folder_is_fine(tree, tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    with create_project(root, tree.images, tree.masks) as p:
        assert len(p.samples()) == 10
    assert (root / DB_NAME).is_file()


def test_relative_paths_are_resolved(tree, tmp_path, monkeypatch):
    monkeypatch.chdir(tree.root)
    with create_project("../rel_proj", "IMAGES", "MASKS") as p:
        assert p.root == (tmp_path / "rel_proj").resolve()
        assert p.images_root == tree.images.resolve() and p.images_root.is_absolute()
    monkeypatch.chdir(tmp_path)
    with Project.open("rel_proj") as p:  # opens from anywhere: the images root is absolute
        assert p.load_image(1).shape == (H, W, 3)


def test_database_is_wal_and_consistent(tree, tmp_path):
    create_project(tmp_path / "p", tree.images, tree.masks).close()
    conn = sqlite3.connect(tmp_path / "p" / DB_NAME)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        assert meta["schema_version"] == str(SCHEMA_VERSION) and meta["images_root"] == str(tree.images.resolve())
        assert conn.execute("SELECT count(*) FROM samples").fetchone()[0] == 10
    finally:
        conn.close()


# ---- bad input: one-line error, nothing written -----------------------------------------------

def test_missing_images_folder(tmp_path):
    images = tmp_path / "nope"
    msg = expect_failure(tmp_path, images, None, images)
    assert "images folder not found" in msg


def test_no_train_folder(tmp_path):
    images = tmp_path / "IMAGES"
    write_image(images / "val" / "a" / "x.png")
    write_image(images / "test" / "b" / "y.png")
    msg = expect_failure(tmp_path, images, None, images)
    assert "no train/ folder" in msg


def test_train_is_a_file_not_a_folder(tmp_path):
    images = tmp_path / "IMAGES"
    images.mkdir()
    (images / "train").write_text("x")
    expect_failure(tmp_path, images, None, "no train/ folder")


def test_only_one_class(tmp_path):
    images = tmp_path / "IMAGES"
    write_image(images / "train" / "solo" / "x.png")
    write_image(images / "val" / "solo" / "y.png")
    msg = expect_failure(tmp_path, images, None, images / "train")
    assert "at least two class" in msg and "found 1" in msg


def test_no_class_at_all(tmp_path):
    images = tmp_path / "IMAGES"
    (images / "train").mkdir(parents=True)
    expect_failure(tmp_path, images, None, images / "train", "found 0")


def test_empty_class_folder_is_skipped(tree, tmp_path):
    empty = tree.images / "train" / "bird"
    empty.mkdir()
    expect_left_out(tmp_path, tree.images, tree.masks, empty, "no images in this class folder")


def test_class_folder_with_only_hidden_files_is_empty(tree, tmp_path):
    folder = tree.images / "val" / "cat"
    for f in folder.iterdir():
        f.unlink()
    (folder / ".DS_Store").write_bytes(b"x")
    shutil.rmtree(tree.masks / "val" / "cat")
    expect_left_out(tmp_path, tree.images, tree.masks, folder, "no images", samples=9)


def test_non_image_file(tree, tmp_path):
    notes = tree.images / "train" / "dog" / "notes.txt"
    notes.write_text("remember to buy milk")
    expect_left_out(tmp_path, tree.images, tree.masks, notes, "not an image file", ".txt")


def test_file_without_suffix(tree, tmp_path):
    bare = tree.images / "test" / "cat" / "README"
    bare.write_text("x")
    expect_left_out(tmp_path, tree.images, tree.masks, bare, "not an image file (suffix missing)")


def test_file_directly_in_split_folder(tree, tmp_path):
    stray = tree.images / "train" / "stray.png"
    write_image(stray)
    expect_left_out(tmp_path, tree.images, tree.masks, stray, "not inside a class folder")


def test_folder_inside_class_folder(tree, tmp_path):
    nested = tree.images / "train" / "cat" / "more"
    write_image(nested / "x.png")
    expect_left_out(tmp_path, tree.images, tree.masks, nested, "a folder inside a class folder")


def test_random_bytes_named_png(tree, tmp_path):
    bad = tree.images / "train" / "cat" / "x.png"
    bad.write_bytes(np.random.default_rng(3).integers(0, 256, 300, dtype=np.uint8).tobytes())
    expect_left_out(tmp_path, tree.images, tree.masks, bad, "not a readable image")


def test_empty_jpg(tree, tmp_path):
    bad = tree.images / "val" / "dog" / "x.jpg"
    bad.write_bytes(b"")
    expect_left_out(tmp_path, tree.images, tree.masks, bad, "empty file")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_image(tree, tmp_path, suffix):
    img = np.random.default_rng(4).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(suffix, img)
    data = buf.tobytes()
    bad = tree.images / "test" / "dog" / f"cut{suffix}"
    bad.write_bytes(data[: len(data) * 2 // 3])
    expect_left_out(tmp_path, tree.images, tree.masks, bad, "not a readable image")


def test_mask_size_differs_from_image(tree, tmp_path):
    bad = tree.masks / "val" / "cat" / "c3.png"
    write_mask_file(bad, square_mask(W + 1, H))
    msg = expect_failure(tmp_path, tree.images, tree.masks, bad)
    assert f"{W + 1}x{H}" in msg and f"{W}x{H}" in msg and "val/cat/c3.png" in msg


def test_mask_with_width_and_height_swapped(tree, tmp_path):
    bad = tree.masks / "train" / "dog" / "d2.png"  # the image is ODD_W x ODD_H
    write_mask_file(bad, np.ones((ODD_W, ODD_H), bool))
    expect_failure(tmp_path, tree.images, tree.masks, bad, f"{ODD_W}x{ODD_H}")


def test_mask_without_image(tree, tmp_path):
    orphan = tree.masks / "train" / "cat" / "c9.png"
    write_mask_file(orphan, square_mask())
    expect_left_out(tmp_path, tree.images, tree.masks, orphan, "no image train/cat/c9.* for this mask")


def test_mask_in_wrong_split_has_no_image(tree, tmp_path):
    wrong = tree.masks / "test" / "cat" / "c0.png"  # c0 lives in train
    write_mask_file(wrong, square_mask())
    expect_left_out(tmp_path, tree.images, tree.masks, wrong, "no image test/cat/c0.*")


@pytest.mark.parametrize("rel", ["loose.png", "train/loose.png", "train/cat/deep/c0.png", "other/cat/c0.png"])
def test_mask_in_wrong_place(tree, tmp_path, rel):
    bad = tree.masks / rel
    write_mask_file(bad, square_mask())
    expect_left_out(tmp_path, tree.images, tree.masks, bad,
                    "not where a mask belongs (MASKS/{train,val,test}/<class>/<image stem>.png)")


def test_corrupt_mask(tree, tmp_path):
    bad = tree.masks / "train" / "cat" / "c1.png"
    bad.write_bytes(b"garbage, not a png")
    expect_failure(tmp_path, tree.images, tree.masks, bad, "not a readable image")


def test_ambiguous_mask(tree, tmp_path):
    write_image(tree.images / "train" / "cat" / "c0.jpg")  # c0.png and c0.jpg share the stem
    bad = tree.masks / "train" / "cat" / "c0.png"
    expect_left_out(tmp_path, tree.images, tree.masks, bad, "ambiguous", samples=11)


def test_masks_folder_not_found(tree, tmp_path):
    missing = tmp_path / "no_masks"
    msg = expect_failure(tmp_path, tree.images, missing, missing)
    assert "masks folder not found" in msg


@pytest.mark.parametrize("split", ["val", "test"])
def test_class_not_in_train(tree, tmp_path, split):
    extra = tree.images / split / "bird"
    write_image(extra / "b.png")
    msg = expect_failure(tmp_path, tree.images, tree.masks, extra)
    assert "'bird'" in msg and "train/" in msg


def test_project_folder_exists_and_is_not_empty(tree, tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "keep.txt").write_text("precious")
    with pytest.raises(GradiaError) as exc:
        create_project(root, tree.images, tree.masks)
    msg = str(exc.value)
    assert "\n" not in msg and str(root) in msg and "already exists" in msg
    assert os.listdir(root) == ["keep.txt"] and (root / "keep.txt").read_text() == "precious"
    assert partial_leftovers(tmp_path) == []


def test_project_path_is_a_file(tree, tmp_path):
    root = tmp_path / "proj"
    root.write_text("a file")
    with pytest.raises(GradiaError, match="already exists"):
        create_project(root, tree.images, tree.masks)
    assert root.read_text() == "a file"


def test_existing_project_is_not_overwritten(tree, tmp_path):
    create_project(tmp_path / "proj", tree.images, tree.masks).close()
    before = (tmp_path / "proj" / DB_NAME).read_bytes()
    with pytest.raises(GradiaError, match="already exists"):
        create_project(tmp_path / "proj", tree.images)
    assert (tmp_path / "proj" / DB_NAME).read_bytes() == before


def test_strict_lists_a_bad_image_and_a_stray_mask_together_and_writes_nothing(tree, tmp_path):
    (tree.images / "train" / "dog" / "bad.png").write_bytes(b"nope")
    write_mask_file(tree.masks / "val" / "dog" / "zz.png", square_mask())
    with pytest.raises(DatasetRefused) as exc:
        create_project(tmp_path / "p", tree.images, tree.masks, strict=True)
    assert [p.path.name for p in exc.value.problems] == ["zz.png", "bad.png"]
    assert "2 entries refused (strict)" in str(exc.value) and "bad.png" in str(exc.value)
    assert not (tmp_path / "p").exists()



# ---- stray entries and unreadable images (issue 12 point 13): skipped and reported, all at once ---------

def _plant_strays(tree):
    strays = [tree.images / "train" / "cat" / "README.txt", tree.images / "train" / "dog" / "Thumbs.db",
              tree.images / "val" / "cat" / "desktop.ini", tree.images / "notes.txt"]
    for path in strays:
        path.write_text("x")
    write_image(tree.images / "train" / "dog" / "more" / "x.png")
    (tree.images / "extra").mkdir()
    return strays + [tree.images / "train" / "dog" / "more", tree.images / "extra"]


def test_stray_files_and_folders_are_skipped_and_all_reported_at_once(tree, tmp_path):
    strays = _plant_strays(tree)
    result = init_project(tmp_path / "p", tree.images, tree.masks)
    with result.project as p:
        assert len(p.samples()) == 10 and p.classes == ["cat", "dog"]
    reasons = {problem.path: problem.reason for problem in result.scan.skipped}
    assert set(reasons) == set(strays) and result.left_out == []
    assert reasons[strays[0]] == "not an image file (suffix .txt)"
    assert reasons[strays[1]] == "not an image file (suffix .db)"
    assert reasons[strays[4]] == "a folder inside a class folder"
    assert reasons[strays[5]] == "not a split folder (only train/, val/ and test/ are read)"
    assert "not inside a split folder" in reasons[strays[3]]


def test_strict_refuses_listing_every_stray_entry_in_one_run(tree, tmp_path):
    strays = _plant_strays(tree)
    with pytest.raises(DatasetRefused) as exc:
        create_project(tmp_path / "p", tree.images, tree.masks, strict=True)
    assert {p.path for p in exc.value.problems} == set(strays)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{tree.images}: 6 entries refused (strict): ") and "and 1 more" in msg
    assert not (tmp_path / "p").exists() and partial_leftovers(tmp_path) == []


def test_a_corrupt_image_is_left_out_with_its_mask_and_reported(tree, tmp_path):
    bad = tree.images / "train" / "cat" / "c0.png"  # it has a mask
    bad.write_bytes(b"garbage")
    result = init_project(tmp_path / "p", tree.images, tree.masks)
    with result.project as p:
        assert [s.path for s in p.samples()][:2] == ["train/cat/c1.png", "train/cat/c2.png"]
        assert len(p.samples()) == 9 and len(p.samples(has_mask=True)) == 2
    assert [(str(p.path), p.reason.split(" (")[0]) for p in result.left_out] == [
        (str(bad), "not a readable image"),
        (str(tree.masks / "train/cat/c0.png"), "its image train/cat/c0.png was left out")]
    assert result.split_totals() == {"train": 5, "val": 2, "test": 2}


def test_a_class_left_without_a_readable_training_image_is_refused(tree, tmp_path):
    for name in ("c0.png", "c1.png", "c2.png"):
        (tree.images / "train" / "cat" / name).write_bytes(b"")
    msg = expect_failure(tmp_path, tree.images, tree.masks, "train/cat/c0.png")
    assert "class 'cat' has no readable training image left (3 unreadable)" in msg


def test_split_folders_are_recorded_as_the_projects_split(tree, tmp_path):
    create_project(tmp_path / "p", tree.images).close()
    conn = sqlite3.connect(tmp_path / "p" / DB_NAME)
    try:
        assert json.loads(dict(conn.execute("SELECT key, value FROM meta"))["split"]) == {"source": "folders"}
    finally:
        conn.close()

# ---- failures while writing: the staged folder disappears ---------------------------------------

@pytest.mark.parametrize("exc_type", [OSError, KeyboardInterrupt])
def test_failure_while_writing_leaves_nothing(tree, tmp_path, monkeypatch, exc_type):
    real = images_module.write_mask_png
    calls = []

    def flaky(path, mask, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise exc_type("disk full")
        real(path, mask, **kwargs)

    monkeypatch.setattr(images_module, "write_mask_png", flaky)
    root = tmp_path / "out" / "proj"
    with pytest.raises(exc_type):
        create_project(root, tree.images, tree.masks)
    assert len(calls) == 2
    assert not root.exists()
    assert os.listdir(root.parent) == []  # the staging folder went too


def test_project_path_with_hash(tree, tmp_path):
    root = tmp_path / "Project #2"
    with create_project(root, tree.images, tree.masks) as p:
        assert len(p.samples()) == 10
    assert sorted(os.listdir(tmp_path)) == sorted(["Project #2", "data"])


def test_build_tree_sanity(tmp_path):
    # guards the fixture itself: a change there must not make the error tests vacuous
    t = build_tree(tmp_path / "d")
    assert len(list(t.images.rglob("*.png"))) == 10
    assert len(list(t.masks.rglob("*.png"))) == 3


# ---- hostile images and masks (issue 11): refused in one line, or read upright ---------------------

@needs_fifo
@pytest.mark.parametrize("folder,name,expected", [("images", "pipe.png", "named pipe, not an image file"),
                                                  ("masks", "c1.png", "named pipe")])
def test_a_named_pipe_among_images_or_masks_is_named_not_waited_on(tree, tmp_path, folder, name, expected):
    pipe = getattr(tree, folder) / "train" / "cat" / name
    os.mkfifo(pipe)
    try:
        if folder == "images":  # an image that cannot be read is left out (refused under strict)
            msg = str(call_with_timeout(expect_left_out, tmp_path, tree.images, tree.masks, pipe))
        else:  # a mask that cannot be read refuses the folder: its image's attention would be lost silently
            msg = call_with_timeout(expect_failure, tmp_path, tree.images, tree.masks, pipe)
    finally:
        release_fifo(pipe)
    assert expected in msg


def test_a_symlink_loop_among_the_masks_is_refused(tree, tmp_path):
    loop = tree.masks / "train" / "cat" / "c1.png"
    loop.symlink_to(loop)
    assert "symbolic link loop" in expect_failure(tmp_path, tree.images, tree.masks, loop)


def test_a_decompression_bomb_is_left_out_before_decoding(tree, tmp_path):
    bomb = tree.images / "train" / "dog" / "huge.png"
    bomb.write_bytes(png_claiming(50000, 50000))
    msg = str(expect_left_out(tmp_path, tree.images, tree.masks, bomb))
    assert "50000x50000 pixels is above the limit of 100,000,000 pixels" in msg and "GRADIA_MAX_IMAGE_PIXELS" in msg


def test_a_colour_photograph_as_a_mask_is_refused_before_anything_is_written(tree, tmp_path):
    photo = tree.masks / "train" / "cat" / "c1.png"
    photo.write_bytes(encode_png(np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)))
    msg = expect_failure(tmp_path, tree.images, tree.masks, photo)
    assert "a colour image, not a mask" in msg
    with create_project(tmp_path / "p", tree.images, tree.masks, mask_rule=MaskRule(threshold=127)) as p:
        assert p.sample(2).has_mask  # opted in: read by its largest channel


def test_a_jpeg_mask_needs_a_threshold(tree, tmp_path):
    mask = tree.masks / "train" / "cat" / "c1.jpg"
    mask.write_bytes(encode(".jpg", np.where(square_mask(), 255, 0).astype(np.uint8)))
    assert "JPEG mask is lossy" in expect_failure(tmp_path, tree.images, tree.masks, mask)
    with create_project(tmp_path / "p", tree.images, tree.masks, mask_rule=MaskRule(threshold=127)) as p:
        np.testing.assert_array_equal(p.read_mask(2), square_mask())


def test_an_exif_rotated_photo_is_recorded_upright_and_its_mask_lives_upright(tree, tmp_path):
    stored = np.zeros((H, W, 3), np.uint8)  # stored landscape, W x H ...
    photo = tree.images / "train" / "cat" / "c1.png"
    photo.unlink()
    phone = photo.with_suffix(".jpg")
    phone.write_bytes(jpeg_with_orientation(encode(".jpg", stored), 6))  # ... shown portrait, H x W
    upright_mask = square_mask(H, W, box=(0, 0, 4, 4))
    write_mask_file(tree.masks / "train" / "cat" / "c1.png", upright_mask)
    with create_project(tmp_path / "p", tree.images, tree.masks) as p:
        s = p.sample(2)
        assert (s.path, s.width, s.height) == ("train/cat/c1.jpg", H, W)
        assert p.load_image(s).shape == (W, H, 3)
        np.testing.assert_array_equal(p.read_mask(s), upright_mask)
    write_mask_file(tree.masks / "train" / "cat" / "c1.png", square_mask())  # in the stored frame: refused
    expect_failure(tmp_path, tree.images, tree.masks, f"{W}x{H}", f"is {H}x{W}")


def test_jpegs_are_checked_at_reduced_size(tree, tmp_path, decode_flags):
    big = tree.images / "train" / "dog" / "big.jpg"
    big.write_bytes(encode(".jpg", np.zeros((64, 96, 3), np.uint8)))
    flags = decode_flags
    with create_project(tmp_path / "p", tree.images) as p:
        assert [(s.width, s.height) for s in p.samples() if s.path.endswith("big.jpg")] == [(96, 64)]
    assert cv2.IMREAD_REDUCED_COLOR_8 | cv2.IMREAD_IGNORE_ORIENTATION in flags


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root lists chmod 000 folders")
def test_an_unlistable_class_folder_is_one_line(tree, tmp_path):
    folder = tree.images / "train" / "dog"
    folder.chmod(0)
    try:
        assert "cannot list the folder" in expect_failure(tmp_path, tree.images, None, folder)
    finally:
        folder.chmod(0o755)
