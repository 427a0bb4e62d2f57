"""core/export.py: PNG, COCO RLE and manifest exports, checked with real readers (pycocotools, OpenCV, init)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from gradia_desktop.core import coco as coco_rle
from gradia_desktop.core import export as export_mod
from gradia_desktop.core.export import ExportFilter, export_masks, parse_formats
from gradia_desktop.core.images import read_mask
from gradia_desktop.core.manifest import COLUMNS
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.records import Prediction
from gradia_desktop.errors import Cancelled, GradiaError

from .conftest import encode_png, listing, partial_leftovers

CAM = np.zeros((2, 2), np.float32)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # in pycocotools


def paint_more(project):
    """Masks on 1, 3, 6, 7, 10 (6 is the odd-sized 20x12 image; 3 has a hole and two parts)."""
    s3 = project.sample(3)
    m = np.zeros((s3.height, s3.width), bool)
    m[1:12, 2:20] = True
    m[4:8, 6:12] = False
    m[14:16, 0:3] = True
    project.write_mask(s3, m)
    s6 = project.sample(6)
    m6 = np.zeros((s6.height, s6.width), bool)
    m6[0:5, 10:20] = True
    project.write_mask(s6, m6)
    return project


def add_version(project):
    """v1 with predictions on 1-8 and human judgements on 3 (no) and 7 (yes)."""
    v = project.create_version(None, "baseline", "tiny", "layer4", 32, {})
    project.finish_version(v, "done")
    preds = [Prediction(1, 0, 0.9, CAM, iou=0.5, energy=0.6, pointing=True),
             Prediction(3, 1, 0.75, CAM, iou=0.1, energy=0.1, pointing=False)]
    preds += [Prediction(i, 1, 0.6, CAM) for i in (2, 4, 5, 6)]
    preds += [Prediction(7, 0, 0.8, CAM, iou=0.9, energy=0.9, pointing=True), Prediction(8, 0, 0.7, CAM)]
    project.save_predictions(v, preds)
    project.set_judgement(v, 3, False)
    project.set_judgement(v, 7, True)
    return v


def test_every_coco_annotation_decodes_to_the_png_export_and_the_project_mask(project, tmp_path):
    paint_more(project)
    summary = export_masks(project, tmp_path / "out", "png,coco")
    masked = project.samples(has_mask=True)
    assert summary.masks == len(masked) == 5 and summary.samples == 5 and not summary.skipped
    doc = json.loads((tmp_path / "out/coco.json").read_text())
    assert [c["name"] for c in doc["categories"]] == project.classes
    assert {i["file_name"] for i in doc["images"]} == {s.path for s in masked}
    reader = COCO(str(tmp_path / "out/coco.json"))
    assert len(reader.getAnnIds()) == len(masked)
    for ann in reader.loadAnns(reader.getAnnIds()):
        image = reader.loadImgs(ann["image_id"])[0]
        sample = project.sample(ann["image_id"])
        assert image["file_name"] == sample.path and (image["height"], image["width"]) == (sample.height, sample.width)
        assert ann["category_id"] == sample.class_idx + 1
        from_coco = reader.annToMask(ann).astype(bool)
        rle = {"size": ann["segmentation"]["size"], "counts": ann["segmentation"]["counts"].encode()}
        assert np.array_equal(mask_utils.decode(rle).astype(bool), from_coco)
        raw = cv2.imread(str(tmp_path / "out/masks" / sample.path), cv2.IMREAD_UNCHANGED)
        assert raw.dtype == np.uint8 and raw.ndim == 2 and raw.shape == (sample.height, sample.width)
        assert set(np.unique(raw)) <= {0, 255}
        stored = project.read_mask(sample)
        assert np.array_equal(from_coco, raw > 0) and np.array_equal(from_coco, stored)
        ys, xs = np.nonzero(stored)
        assert ann["area"] == stored.sum()
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


def test_png_export_with_images_is_a_dataset_init_reads(project, tmp_path):
    paint_more(project)
    export_masks(project, tmp_path / "out", "png", ExportFilter(has_mask=None), with_images=True)
    assert (tmp_path / "out/images/train/cat/c0.png").read_bytes() == project.image_path(project.sample(1)).read_bytes()
    with create_project(tmp_path / "again", tmp_path / "out/images", tmp_path / "out/masks") as again:
        assert [s.path for s in again.samples()] == [s.path for s in project.samples()]
        for old, new in zip(project.samples(), again.samples()):
            a, b = project.read_mask(old), again.read_mask(new)
            assert (a is None and b is None) or np.array_equal(a, b), old.path


def test_filters_select_by_split_class_mask_quadrant_and_judgement(project, tmp_path):
    paint_more(project)
    paths = lambda s: [r["path"] for r in map(json.loads, (tmp_path / s / "manifest.jsonl").read_text().splitlines())]
    export_masks(project, tmp_path / "a", "manifest", ExportFilter(split="train", class_name="dog"))
    assert paths("a") == ["train/dog/d0.png", "train/dog/d1.png", "train/dog/d2.png"]
    export_masks(project, tmp_path / "b", "manifest", ExportFilter(has_mask=False))
    assert len(paths("b")) == 5
    with pytest.raises(GradiaError, match="need a trained model version"):
        export_masks(project, tmp_path / "c", "png", ExportFilter(quadrant="RA"))
    add_version(project)
    export_masks(project, tmp_path / "d", "manifest", ExportFilter(judged=True))
    assert paths("d") == ["train/cat/c2.png", "val/cat/c3.png"]
    export_masks(project, tmp_path / "e", "manifest", ExportFilter(quadrant="UI"))
    assert paths("e") == ["train/cat/c2.png"]  # a cat predicted dog, judged unreasonable
    summary = export_masks(project, tmp_path / "f", "png", ExportFilter(quadrant="RA"))
    assert summary.samples == 2  # c0 (suggested reasonable) and c3 (judged reasonable), both predicted right
    assert listing(tmp_path / "f/masks") == ["train", "train/cat", "train/cat/c0.png", "val", "val/cat",
                                             "val/cat/c3.png"]
    with pytest.raises(GradiaError, match="no sample passes"):
        export_masks(project, tmp_path / "g", "png", ExportFilter(split="test", class_name="cat"))
    assert not (tmp_path / "g").exists()


def test_manifest_columns_with_and_without_a_version(project, tmp_path):
    paint_more(project)
    export_masks(project, tmp_path / "none", "manifest")
    rows = [json.loads(line) for line in (tmp_path / "none/manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and all(r["prediction"] is None and r["version"] is None for r in rows)
    add_version(project)
    export_masks(project, tmp_path / "v1", "manifest", version="v1")
    rows = {r["path"]: r for r in map(json.loads, (tmp_path / "v1/manifest.jsonl").read_text().splitlines())}
    with open(tmp_path / "v1/manifest.csv", newline="") as fh:
        table = {r["path"]: r for r in csv.DictReader(fh)}
    assert list(next(iter(table.values()))) == list(COLUMNS)
    c0, c2, c3, d4 = (rows[p] for p in ("train/cat/c0.png", "train/cat/c2.png", "val/cat/c3.png", "test/dog/d4.png"))
    assert c0 == {**c0, "has_mask": True, "version": "v1", "prediction": "cat", "confidence": 0.9, "correct": True,
                  "iou": 0.5, "judgement": "reasonable", "judgement_source": "suggestion", "quadrant": "RA"}
    assert (c2["judgement"], c2["judgement_source"], c2["quadrant"], c2["correct"]) == ("unreasonable", "human",
                                                                                        "UI", False)
    assert (c3["judgement_source"], c3["prediction"], c3["iou"]) == ("human", "cat", 0.9)
    assert d4["prediction"] is None and d4["quadrant"] is None and d4["has_mask"] is True
    assert c0["mask_pixels"] == project.read_mask(1).sum()
    assert table["train/cat/c0.png"]["correct"] == "true" and table["test/dog/d4.png"]["prediction"] == ""
    export_masks(project, tmp_path / "explicit-none", "manifest", version="none")
    assert json.loads((tmp_path / "explicit-none/manifest.jsonl").read_text().splitlines()[0])["version"] is None


def test_an_interrupted_export_leaves_nothing(project, tmp_path, monkeypatch):
    paint_more(project)
    calls = []

    def failing_encode(mask):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_encode(mask)

    real_encode = coco_rle.encode
    monkeypatch.setattr(coco_rle, "encode", failing_encode)
    with pytest.raises(GradiaError, match="No space left"):
        export_masks(project, tmp_path / "out", "png,coco,manifest", workers=1)
    assert not (tmp_path / "out").exists() and partial_leftovers(tmp_path) == []

    def cancel(stage, done, total):
        raise Cancelled("cancelled")

    monkeypatch.setattr(coco_rle, "encode", real_encode)
    with pytest.raises(Cancelled):
        export_masks(project, tmp_path / "out", "png,coco", progress=cancel)
    assert not (tmp_path / "out").exists() and partial_leftovers(tmp_path) == []


def test_existing_output_and_bad_options_are_refused(project, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full/keep.txt").write_text("mine")
    with pytest.raises(GradiaError, match="not an empty folder"):
        export_masks(project, tmp_path / "full", "png")
    assert listing(tmp_path / "full") == ["keep.txt"]
    with pytest.raises(GradiaError, match="unknown export format 'tiff'"):
        export_masks(project, tmp_path / "x", "png,tiff")
    with pytest.raises(GradiaError, match="unknown quadrant"):
        export_masks(project, tmp_path / "x", "manifest", ExportFilter(quadrant="XX"), version="none")
    with pytest.raises(GradiaError, match="no model version v9"):
        export_masks(project, tmp_path / "x", "manifest", version="v9")
    assert parse_formats(["manifest", "PNG", "png"]) == ("png", "manifest")
    export_masks(project, tmp_path / "empty-ok", "png") if (tmp_path / "empty-ok").mkdir() is None else None
    assert (tmp_path / "empty-ok/masks").is_dir()  # an existing empty folder is fine


def test_unreadable_or_wrong_size_stored_masks_are_skipped_and_reported(project, tmp_path):
    project.mask_path(7).write_bytes(b"not a png")
    project.mask_path(10).write_bytes(encode_png(np.full((5, 5), 255, np.uint8)))
    summary = export_masks(project, tmp_path / "out", "png,coco")
    assert summary.masks == 1
    reasons = dict(summary.skipped)
    assert "unreadable" in reasons["val/cat/c3.png"] and "5x5 but the image is 24x16" in reasons["test/dog/d4.png"]
    doc = json.loads((tmp_path / "out/coco.json").read_text())
    assert [i["file_name"] for i in doc["images"]] == ["train/cat/c0.png"] and len(doc["annotations"]) == 1
    assert listing(tmp_path / "out/masks") == ["train", "train/cat", "train/cat/c0.png"]


def test_missing_images_stop_an_export_with_images(project, tmp_path, shared_tree):
    project.images_root = tmp_path / "moved"  # as if the image folder had been moved away
    with pytest.raises(GradiaError, match="image file not found"):
        export_masks(project, tmp_path / "out", "png", with_images=True)
    assert not (tmp_path / "out").exists()
    summary = export_masks(project, tmp_path / "out", "png")  # masks alone do not need the images
    assert summary.masks == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_in_place_of_an_image_is_named_as_such_not_copied(project, tmp_path):
    shutil.copytree(project.images_root, tmp_path / "images")  # the shared tree stays whole
    project.images_root = tmp_path / "images"
    path = project.image_path(project.samples()[0])
    path.unlink()
    os.mkfifo(path)  # copying it would wait for a writer forever
    with pytest.raises(GradiaError, match="not a regular file"):
        export_masks(project, tmp_path / "out", "png", ExportFilter(has_mask=None), with_images=True)
    assert not (tmp_path / "out").exists()


def test_two_images_with_one_stem_are_not_exported_as_png(tree, tmp_path):
    from .conftest import square_mask, write_image, write_mask_file
    write_image(tree.images / "train/cat/c0.jpg")
    write_mask_file(tree.masks / "train/cat/c1.png", square_mask())
    with create_project(tmp_path / "p", tree.images) as project:
        for s in project.samples(split="train", class_name="cat"):
            project.write_mask(s, square_mask(s.width, s.height))
        summary = export_masks(project, tmp_path / "out", "png,coco")
    assert sorted(p for p, _ in summary.skipped) == ["train/cat/c0.jpg", "train/cat/c0.png"]
    assert "same folder has the stem" in summary.skipped[0][1]
    assert len(json.loads((tmp_path / "out/coco.json").read_text())["annotations"]) == 4  # COCO names whole files
    assert read_mask(tmp_path / "out/masks/train/cat/c1.png").any()


def test_export_reads_a_read_only_project(project_template, tmp_path):
    from gradia_desktop.core.store import Project
    with Project.open(project_template, readonly=True) as project:
        summary = export_masks(project, tmp_path / "out", "coco")
    assert summary.masks == 3 and summary.formats == ["coco"]
    assert export_mod.COCO_NAME in summary.files


def test_stored_masks_in_other_encodings_are_written_as_0_and_255(project, tmp_path):
    m = project.read_mask(1)
    project.mask_path(1).write_bytes(encode_png(np.where(m, 1, 0).astype(np.uint8)))  # values 0 and 1
    project.mask_path(7).write_bytes(encode_png(np.dstack([np.where(project.read_mask(7), 200, 0)] * 3)
                                                .astype(np.uint8)))  # colour
    export_masks(project, tmp_path / "out", "png,coco")
    reader = COCO(str(tmp_path / "out/coco.json"))
    for ann in reader.loadAnns(reader.getAnnIds()):
        sample = project.sample(ann["image_id"])
        raw = cv2.imread(str(tmp_path / "out/masks" / sample.path), cv2.IMREAD_UNCHANGED)
        assert raw.ndim == 2 and set(np.unique(raw)) == {0, 255}
        assert np.array_equal(raw > 0, project.read_mask(sample))
        assert np.array_equal(reader.annToMask(ann).astype(bool), raw > 0)


KILLED_EXPORT = """
import os, signal, sys
from gradia_desktop.core import coco
from gradia_desktop.core.export import export_masks
from gradia_desktop.core.store import Project

real_encode, calls = coco.encode, []

def encode_then_die(mask):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_encode(mask)

coco.encode = encode_then_die
with Project.open(sys.argv[1], readonly=True) as project:
    export_masks(project, sys.argv[2], "png,coco", with_images=True, workers=1)
"""


def test_a_killed_export_leaves_only_a_stale_stage_that_the_next_export_removes(project, tmp_path):
    import signal
    import subprocess
    import sys

    out = tmp_path / "exports" / "out"
    result = subprocess.run([sys.executable, "-c", KILLED_EXPORT, str(project.root), str(out)], timeout=120)
    assert result.returncode == -signal.SIGKILL
    assert not out.exists() and len(partial_leftovers(out.parent)) == 1  # nothing that looks complete
    summary = export_masks(project, out, "png,coco")
    assert summary.masks == len(project.samples(has_mask=True))
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


def test_the_export_folder_gets_the_mode_of_a_plain_mkdir(project, tmp_path):
    old = os.umask(0o027)
    try:
        export_masks(project, tmp_path / "out", "png,coco")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "out" / "coco.json").stat().st_mode) == 0o640


def test_an_unreadable_output_folder_is_one_line(project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self == out:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(GradiaError, match=r"out: cannot write the export \(Permission denied\)"):
        export_masks(project, out, "png")
