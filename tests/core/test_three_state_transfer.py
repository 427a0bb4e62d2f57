"""Three-state masks through core/export.py and core/mask_import.py: PNG 0/64/255, COCO's "don't look here"
category (decoded with pycocotools), the manifest's avoid_pixels, and export -> import unchanged."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from gradia_desktop.core import coco
from gradia_desktop.core.export import export_masks
from gradia_desktop.core.manifest import COLUMNS
from gradia_desktop.core.mask_import import import_masks
from gradia_desktop.core.mask_rule import MaskRule
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.store import Project
from gradia_desktop.errors import GradiaError

from .conftest import square_mask

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # in pycocotools
AVOID_ID = 3  # two classes (cat, dog): ids 1 and 2, "don't look here" one above


@pytest.fixture
def three_state(project):
    """`project` (look-here masks on 1, 7, 10) with a "don't look here" layer added to 1, partly over
    its "look here", and a mask on 6 (the odd-sized 20x12 image) that only marks "don't look here"."""
    look = project.read_mask(1)
    avoid = np.zeros_like(look)
    avoid[8:16, :] = True
    project.write_mask(1, look, avoid=avoid)
    s6 = project.sample(6)
    avoid6 = np.zeros((s6.height, s6.width), bool)
    avoid6[0:3, 5:18] = True
    avoid6[8:12, 0:2] = True
    project.write_mask(s6, np.zeros_like(avoid6), avoid=avoid6)
    return project


@pytest.fixture
def fresh(shared_tree, tmp_path):
    p = create_project(tmp_path / "fresh", shared_tree.images)
    yield p
    p.close()


def layers_by_path(project: Project) -> dict:
    """path -> (look, avoid) of every sample's mask, None without one."""
    out = {}
    for s in project.samples():
        layers = project.read_mask_layers(s)
        out[s.path] = None if layers is None else (layers.look, layers.avoid)
    return out


def assert_same_masks(a: Project, b: Project) -> None:
    la, lb = layers_by_path(a), layers_by_path(b)
    assert la.keys() == lb.keys()
    for path, layers in la.items():
        if layers is None or lb[path] is None:
            assert layers is None and lb[path] is None, path
        else:
            assert np.array_equal(layers[0], lb[path][0]) and np.array_equal(layers[1], lb[path][1]), path
    assert a.mask_pixels() == b.mask_pixels() and a.avoid_pixels() == b.avoid_pixels()
    assert [s.has_mask for s in a.samples()] == [s.has_mask for s in b.samples()]


def decoded(ann: dict) -> np.ndarray:
    """An annotation's mask as pycocotools decodes it."""
    rle = {"size": ann["segmentation"]["size"], "counts": ann["segmentation"]["counts"].encode()}
    return mask_utils.decode(rle).astype(bool)


# ---- export -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["png", "coco"])
def test_three_state_masks_survive_export_then_import_unchanged(three_state, fresh, tmp_path, fmt):
    summary = export_masks(three_state, tmp_path / "out", "png,coco")
    assert summary.masks == summary.samples == 4 and not summary.skipped  # the avoid-only mask on 6 too
    imported = import_masks(fresh, fmt, tmp_path / "out" / ("coco.json" if fmt == "coco" else ""))
    assert sorted(imported.matched) == ["test/dog/d4.png", "train/cat/c0.png", "train/dog/d2.png", "val/cat/c3.png"]
    assert_same_masks(three_state, fresh)
    assert fresh.read_mask(6) is None and not fresh.sample(6).has_mask and fresh.read_mask_layers(6).avoid.any()


def test_a_new_project_made_from_an_exported_mask_folder_keeps_both_layers(three_state, shared_tree, tmp_path):
    export_masks(three_state, tmp_path / "out", "png")
    made = create_project(tmp_path / "made", shared_tree.images, tmp_path / "out" / "masks")
    try:
        assert_same_masks(three_state, made)
    finally:
        made.close()


def test_png_masks_hold_0_64_and_255_and_two_state_ones_are_copied_byte_for_byte(three_state, tmp_path):
    export_masks(three_state, tmp_path / "out", "png")
    raw = {sid: cv2.imread(str(tmp_path / "out/masks" / three_state.sample(sid).path), cv2.IMREAD_UNCHANGED)
           for sid in (1, 6, 7, 10)}
    for sid, values in ((1, {0, 64, 255}), (6, {0, 64}), (7, {0, 255}), (10, {0, 255})):
        layers = three_state.read_mask_layers(sid)
        assert raw[sid].dtype == np.uint8 and set(np.unique(raw[sid]).tolist()) == values, sid
        assert np.array_equal(raw[sid] == 255, layers.look) and np.array_equal(raw[sid] == 64, layers.avoid), sid
    for sid in (7, 10):
        stored = three_state.mask_path(sid).read_bytes()
        assert (tmp_path / "out/masks" / three_state.sample(sid).path).read_bytes() == stored


def test_coco_has_one_dont_look_category_after_the_classes_and_pycocotools_decodes_both_layers(
        three_state, project_template, tmp_path):
    export_masks(three_state, tmp_path / "out", "coco")
    doc = json.loads((tmp_path / "out/coco.json").read_text())
    assert [c["id"] for c in doc["categories"]] == [1, 2, AVOID_ID]
    extra = doc["categories"][-1]
    assert extra["name"] == "don't look here" and "must not use" in extra["description"]
    look = [a for a in doc["annotations"] if a["category_id"] != AVOID_ID]
    avoid = [a for a in doc["annotations"] if a["category_id"] == AVOID_ID]
    assert [a["image_id"] for a in look] == [1, 7, 10] and [a["image_id"] for a in avoid] == [1, 6]
    assert [a["id"] for a in doc["annotations"]] == [1, 2, 3, 4, 5]  # "look here" first, with their old ids
    for ann in doc["annotations"]:
        layers = three_state.read_mask_layers(ann["image_id"])
        expected = layers.avoid if ann["category_id"] == AVOID_ID else layers.look
        assert np.array_equal(decoded(ann), expected), ann["id"]
        ys, xs = np.nonzero(expected)
        assert ann["area"] == expected.sum() and ann["iscrowd"] == 0
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    reader = COCO(str(tmp_path / "out/coco.json"))
    assert reader.getCatIds(catNms=["don't look here"]) == [AVOID_ID]
    for ann in reader.loadAnns(reader.getAnnIds(catIds=[AVOID_ID])):
        assert np.array_equal(reader.annToMask(ann).astype(bool), three_state.read_mask_layers(ann["image_id"]).avoid)
    # the "look here" part is what the same masks without "don't look here" export as
    with Project.open(project_template, readonly=True) as two_state:
        export_masks(two_state, tmp_path / "two", "coco")
    before = json.loads((tmp_path / "two/coco.json").read_text())
    assert before["categories"] == doc["categories"][:-1] and before["annotations"] == look


def test_a_two_state_project_exports_as_before(project_template, tmp_path):
    with Project.open(project_template, readonly=True) as project:
        summary = export_masks(project, tmp_path / "out", "png,coco,manifest")
        masked = project.samples(has_mask=True)
        for s in masked:
            assert (tmp_path / "out/masks" / s.path).read_bytes() == project.mask_path(s.id).read_bytes()
    assert summary.masks == len(masked) == 3
    doc = json.loads((tmp_path / "out/coco.json").read_text())
    assert doc["categories"] == [{"id": 1, "name": "cat", "supercategory": ""},
                                 {"id": 2, "name": "dog", "supercategory": ""}]
    assert {a["category_id"] for a in doc["annotations"]} <= {1, 2} and len(doc["annotations"]) == 3
    rows = [json.loads(line) for line in (tmp_path / "out/manifest.jsonl").read_text().splitlines()]
    assert all(r["avoid_pixels"] == 0 for r in rows) and len(rows) == 10


def test_the_manifest_counts_dont_look_pixels_apart(three_state, tmp_path):
    export_masks(three_state, tmp_path / "out", "manifest")
    rows = {r["path"]: r for r in map(json.loads, (tmp_path / "out/manifest.jsonl").read_text().splitlines())}
    with open(tmp_path / "out/manifest.csv", newline="") as fh:
        table = {r["path"]: r for r in csv.DictReader(fh)}
    assert list(next(iter(table.values()))) == list(COLUMNS)
    assert [c for c in COLUMNS if c != "avoid_pixels"] == [
        "path", "split", "class", "width", "height", "has_mask", "mask_pixels", "version", "prediction",
        "confidence", "correct", "iou", "judgement", "judgement_source", "quadrant"]  # the columns as before
    c0, d2, c3 = rows["train/cat/c0.png"], rows["train/dog/d2.png"], rows["val/cat/c3.png"]
    l1, l6 = three_state.read_mask_layers(1), three_state.read_mask_layers(6)
    assert (c0["has_mask"], c0["mask_pixels"], c0["avoid_pixels"]) == (True, l1.look.sum(), l1.avoid.sum())
    assert (d2["has_mask"], d2["mask_pixels"], d2["avoid_pixels"]) == (False, 0, l6.avoid.sum())
    assert c3["avoid_pixels"] == 0 and table["train/dog/d2.png"]["avoid_pixels"] == str(l6.avoid.sum())


# ---- import -----------------------------------------------------------------------------------------
def test_coco_annotations_of_the_dont_look_category_are_the_dont_look_layer(fresh, tmp_path):
    a = square_mask(box=(0, 0, 6, 6))
    b = square_mask(box=(4, 4, 12, 20))  # partly over a: "look here" wins there
    c = square_mask(box=(10, 10, 14, 14))
    seg = lambda m: coco.annotation_fields(coco.encode(m))["segmentation"]
    doc = {"images": [{"id": 2, "file_name": "train/cat/c1.png"}, {"id": 4, "file_name": "train/dog/d0.png"}],
           "categories": [{"id": 1, "name": "cat"}, {"id": 42, "name": "Don\u2019t look  here"}, "junk"],
           "annotations": [{"id": 1, "image_id": 2, "category_id": 1, "segmentation": seg(a)},
                           {"id": 2, "image_id": 2, "category_id": 42, "segmentation": seg(b)},
                           {"id": 3, "image_id": 4, "category_id": 42, "segmentation": seg(c)},
                           {"id": 4, "image_id": 4, "category_id": [42], "segmentation": seg(np.zeros_like(c))}]}
    (tmp_path / "in.json").write_text(json.dumps(doc))
    summary = import_masks(fresh, "coco", tmp_path / "in.json")
    assert summary.matched == ["train/cat/c1.png", "train/dog/d0.png"]
    l2, l4 = fresh.read_mask_layers(2), fresh.read_mask_layers(4)
    assert np.array_equal(l2.look, a) and np.array_equal(l2.avoid, b & ~a)
    assert not l4.look.any() and np.array_equal(l4.avoid, c)  # a mask that only says "don't look here"
    assert fresh.read_mask(4) is None and not fresh.sample(4).has_mask and fresh.avoid_pixels()[4] == c.sum()


def test_a_mask_rule_reads_an_exported_three_state_png_as_look_here_alone(three_state, fresh, tmp_path):
    export_masks(three_state, tmp_path / "out", "png")
    summary = import_masks(fresh, "png", tmp_path / "out", mask_rule=MaskRule(threshold=127))
    assert fresh.avoid_pixels() == {} and np.array_equal(fresh.read_mask(1), three_state.read_mask(1))
    assert ("train/dog/d2.png", "empty mask, nothing to import") in summary.skipped  # only 64s: below 127


def test_dont_look_only_masks_are_kept_unless_overwrite_and_restored_when_an_import_fails(
        three_state, fresh, tmp_path, monkeypatch):
    export_masks(three_state, tmp_path / "out", "coco")
    fresh.write_mask(1, square_mask(box=(0, 0, 3, 3)), avoid=square_mask(box=(5, 5, 7, 7)))
    fresh.write_mask(6, np.zeros((12, 20), bool), avoid=square_mask(20, 12, box=(0, 0, 2, 2)))
    summary = import_masks(fresh, "coco", tmp_path / "out")
    assert summary.matched == ["val/cat/c3.png", "test/dog/d4.png"]
    assert {e.split(" ")[0] for e, r in summary.skipped if "already has a mask" in r} == {
        "train/cat/c0.png", "train/dog/d2.png"}
    before = layers_by_path(fresh), fresh.avoid_pixels(), fresh.mask_pixels()
    real_write, calls = Project.write_mask, []

    def failing_write(self, sample, mask, source="painted", avoid=None):
        calls.append(sample)
        if len(calls) == 3:  # after 1 (three-state) and 6 (only "don't look here") were replaced
            raise OSError(28, "No space left on device")
        return real_write(self, sample, mask, source, avoid)

    monkeypatch.setattr(Project, "write_mask", failing_write)
    with pytest.raises(GradiaError, match="nothing changed: No space left on device"):
        import_masks(fresh, "coco", tmp_path / "out", overwrite=True)
    monkeypatch.setattr(Project, "write_mask", real_write)
    after = layers_by_path(fresh), fresh.avoid_pixels(), fresh.mask_pixels()
    assert after[1:] == before[1:] and all(
        (x is None and y is None) or (np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]))
        for x, y in zip(before[0].values(), after[0].values(), strict=True))
    summary = import_masks(fresh, "coco", tmp_path / "out", overwrite=True)
    assert summary.overwritten == summary.matched == ["train/cat/c0.png", "train/dog/d2.png", "val/cat/c3.png",
                                                      "test/dog/d4.png"]
    assert_same_masks(three_state, fresh)


def test_a_project_of_class_folders_gets_its_exported_png_masks_back(tmp_path):
    """Images in <class>/ folders, no split folders: export names masks <class>/<stem>.png, and import
    (and a new project made with them) finds each image by that name."""
    from .conftest import write_image

    for cls in ("cat", "dog"):
        for i in range(3):
            write_image(tmp_path / "flat" / cls / f"{cls}{i}.jpg", seed=i + (10 if cls == "dog" else 0))
    split = (0.5, 0.25, 0.25)
    source = create_project(tmp_path / "source", tmp_path / "flat", split=split)
    try:
        look = square_mask()
        avoid = np.zeros_like(look)
        avoid[12:, :] = True
        for s in source.samples():
            if s.path.startswith("cat/"):
                source.write_mask(s, look, avoid=avoid if s.path != "cat/cat1.jpg" else None)
        summary = export_masks(source, tmp_path / "out", "png")
        assert summary.masks == 3
        assert sorted(p.relative_to(tmp_path / "out" / "masks").as_posix()
                      for p in (tmp_path / "out" / "masks").rglob("*.png")) == ["cat/cat0.png", "cat/cat1.png",
                                                                               "cat/cat2.png"]
        fresh = create_project(tmp_path / "fresh", tmp_path / "flat", split=split)
        made = create_project(tmp_path / "made", tmp_path / "flat", tmp_path / "out" / "masks", split=split)
        try:
            assert sorted(import_masks(fresh, "png", tmp_path / "out").matched) == ["cat/cat0.jpg", "cat/cat1.jpg",
                                                                                   "cat/cat2.jpg"]
            assert_same_masks(source, fresh)
            assert_same_masks(source, made)
        finally:
            fresh.close()
            made.close()
    finally:
        source.close()
