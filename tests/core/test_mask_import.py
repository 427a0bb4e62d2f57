"""core/mask_import.py and core/coco.py: PNG and COCO imports, all or nothing, every bad entry named."""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from gradia_desktop.core import coco
from gradia_desktop.core.export import ExportFilter, export_masks
from gradia_desktop.core.mask_import import ImportRejected, import_masks
from gradia_desktop.core.mask_rule import MaskRule
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.store import Project
from gradia_desktop.errors import Cancelled, GradiaError

from .conftest import encode_png, listing, square_mask, write_mask_file
from .image_samples import call_with_timeout, encode, needs_fifo, png_claiming, release_fifo
from .test_export import paint_more

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def state(project):
    """Everything an import may change: mask rows, each sample's mask file byte for byte (the store
    moves a mask to a new file name on every write), and how many files the masks folder holds."""
    folder = project.root / "masks"
    files = len(os.listdir(folder)) if folder.is_dir() else 0
    pixels = project.mask_pixels()
    return pixels, {sid: project.mask_path(sid).read_bytes() for sid in pixels}, files


@pytest.fixture
def fresh(shared_tree, tmp_path):
    """A project over the same images as `project`, without masks."""
    p = create_project(tmp_path / "fresh", shared_tree.images)
    yield p
    p.close()


@pytest.fixture
def exported(project, tmp_path):
    """`project` with five masks, exported as PNG + COCO: (project, export folder)."""
    paint_more(project)
    export_masks(project, tmp_path / "export", "png,coco")
    return project, tmp_path / "export"


def coco_doc(exported):
    return json.loads((exported[1] / "coco.json").read_text())


def write_doc(tmp_path, doc, name="in.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def same_masks(a: Project, b: Project) -> None:
    for sa, sb in zip(a.samples(), b.samples(), strict=True):
        assert sa.path == sb.path and sa.has_mask == sb.has_mask, sa.path
        if sa.has_mask:
            assert np.array_equal(a.read_mask(sa), b.read_mask(sb)), sa.path


# ---- round trips ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["coco", "png"])
def test_export_then_import_into_a_fresh_project_gives_identical_masks(exported, fresh, fmt):
    project, out = exported
    source = out / "coco.json" if fmt == "coco" else out  # the PNG import finds masks/ in an export folder
    summary = import_masks(fresh, fmt, source)
    assert sorted(summary.matched) == sorted(s.path for s in project.samples(has_mask=True))
    assert summary.overwritten == [] and summary.changed
    same_masks(project, fresh)


def test_existing_masks_are_skipped_unless_overwrite(exported, fresh):
    project, out = exported
    other = square_mask(box=(0, 0, 4, 4))
    fresh.write_mask(1, other)
    summary = import_masks(fresh, "coco", out / "coco.json")
    assert ("train/cat/c0.png" not in summary.matched and any(
        e.startswith("train/cat/c0.png") and "already has a mask" in r for e, r in summary.skipped))
    assert np.array_equal(fresh.read_mask(1), other)
    summary = import_masks(fresh, "png", out / "masks", overwrite=True)
    assert len(summary.matched) == 5 and summary.overwritten == summary.matched  # all had a mask by then
    same_masks(project, fresh)


def test_several_annotations_of_one_image_are_merged_and_empty_masks_skipped(fresh, tmp_path):
    s = fresh.sample(2)
    a, b = square_mask(box=(0, 0, 3, 3)), square_mask(box=(10, 10, 14, 20))
    seg = lambda m: coco.annotation_fields(coco.encode(m))["segmentation"]
    doc = {"images": [{"id": 2, "file_name": s.path}, {"id": 4, "file_name": fresh.sample(4).path}],
           "annotations": [{"id": 1, "image_id": 2, "segmentation": seg(a)},
                           {"id": 2, "image_id": 2, "segmentation": seg(b)},
                           {"id": 3, "image_id": 4, "segmentation": seg(np.zeros_like(a))}]}
    summary = import_masks(fresh, "coco", write_doc(tmp_path, doc))
    assert summary.matched == [s.path] and np.array_equal(fresh.read_mask(s), a | b)
    assert any("empty mask" in r for _, r in summary.skipped) and not fresh.sample(4).has_mask


def test_uncompressed_rle_counts_are_read_too(fresh, tmp_path):
    mask = square_mask(box=(2, 5, 9, 17))
    runs = coco.string_counts(coco.encode(mask)["counts"].decode()).tolist()
    doc = {"images": [{"id": 1, "file_name": "train/cat/c0.png"}],
           "annotations": [{"id": 1, "image_id": 1, "segmentation": {"size": [16, 24], "counts": runs}}]}
    import_masks(fresh, "coco", write_doc(tmp_path, doc))
    assert np.array_equal(fresh.read_mask(1), mask)


def test_rle_parser_matches_pycocotools():
    rng = np.random.default_rng(5)
    for i in range(200):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        mask = rng.random((h, w)) < rng.random() if i % 2 else square_mask(w, h, box=(h // 4, 0, h // 2, w // 2))
        rle = coco.encode(mask)
        runs = coco.string_counts(rle["counts"].decode())
        assert runs.sum() == h * w and (runs >= 0).all()
        assert np.array_equal(np.repeat(np.arange(len(runs)) % 2, runs).reshape(w, h).T.astype(bool), mask)
        checked = coco.checked_rle({"size": [h, w], "counts": rle["counts"].decode()}, (h, w))
        assert np.array_equal(coco.decode(checked), mask)


# ---- bad input: rejected, named, nothing written ----------------------------------------------------
BIG_RUN = mask_utils.frPyObjects({"size": [12, 20], "counts": [40, 1_000_000, 200]}, 12, 20)["counts"].decode()


def rejected(project, fmt, source, match):
    before = state(project)
    with pytest.raises(ImportRejected, match=match) as info:
        import_masks(project, fmt, source, overwrite=True)
    assert state(project) == before
    return info.value


@pytest.mark.parametrize("name", ["../outside.png", "/etc/passwd", "train/../../x.png", "C:\\data\\x.png",
                                  "train\\..\\..\\x.png"])
def test_path_traversal_in_a_coco_file_name_is_rejected_and_nothing_written(exported, fresh, tmp_path, name):
    doc = coco_doc(exported)
    doc["images"][1]["file_name"] = name
    err = rejected(fresh, "coco", write_doc(tmp_path, doc), "file_name refused")
    assert "images[1]" in str(err) and repr(name) in str(err)
    assert "'..'" in str(err) or "absolute" in str(err)
    assert listing(fresh.root / "masks") == [] and not (tmp_path.parent / "outside.png").exists()


@pytest.mark.parametrize("counts, match", [
    ("PPYo0", "runs cover"),  # too few pixels
    ("0" * 5 + "`", "ends in the middle of a number"),
    ("ab\u00e9", "non-ASCII"),
    ("~~~~", "outside the RLE alphabet"),
    (BIG_RUN, "runs cover 1000240 pixels but size 20x12 has 240"),  # pycocotools would write past the mask
    ("l" * 40 + "1", "a number in counts is too long"),
    ([100, -4, 288], "negative run length"),
    ([384.0], "non-integer"),
    ({"a": 1}, "neither a string nor a list"),
])
def test_malformed_rle_is_rejected_with_the_entry_named(exported, fresh, tmp_path, counts, match):
    doc = coco_doc(exported)
    doc["annotations"][2]["segmentation"]["counts"] = counts
    err = rejected(fresh, "coco", write_doc(tmp_path, doc), match)
    assert "annotations[2]" in str(err) and doc["images"][2]["file_name"] in str(err)
    assert "nothing imported" in str(err) and listing(fresh.root / "masks") == []


def test_coco_entries_that_do_not_fit_the_project_are_each_reported(exported, fresh, tmp_path):
    doc = coco_doc(exported)
    bad = copy.deepcopy(doc)
    bad["images"].append({"id": 999, "file_name": "train/cat/zebra.png"})
    bad["images"].append(dict(doc["images"][0]))  # duplicate id and file_name
    bad["images"].append({**doc["images"][1], "id": 1000})  # duplicate file_name only
    bad["annotations"].append({**doc["annotations"][0]})  # duplicate annotation id
    bad["annotations"].append({**doc["annotations"][0], "id": 77, "image_id": 12345})  # unknown image id
    bad["annotations"][1]["segmentation"] = {"size": [8, 8], "counts": [64]}  # size differs from the image
    bad["annotations"].append({"id": 78, "image_id": 999, "segmentation": [[0, 0, 1, 1, 2, 2]]})
    err = rejected(fresh, "coco", write_doc(tmp_path, bad), "nothing imported")
    text = "\n".join(err.problems)
    assert "no image 'train/cat/zebra.png' in the project" in text
    assert "duplicate image id" in text and "duplicate file_name" in text and "duplicate annotation id" in text
    assert "image_id 12345 is not in the file's images" in text
    assert "annotations[1]" in text and "mask is 8x8 but the image is 24x16" in text
    assert len(err.problems) == 6 and "(and 3 more)" in str(err)
    polygon = copy.deepcopy(doc)
    polygon["annotations"][0]["segmentation"] = [[0, 0, 1, 1, 2, 2]]
    rejected(fresh, "coco", write_doc(tmp_path, polygon, "poly.json"), "polygon segmentation is not supported")
    sized = copy.deepcopy(doc)
    sized["images"][0]["width"] = 99
    rejected(fresh, "coco", write_doc(tmp_path, sized, "sized.json"), "says 99x16 but the project's image is 24x16")
    for text, match in (("{not json", "not valid JSON"), ("[1, 2]", "expected a JSON object"),
                        ('{"images": 3}', "'images' is missing or not a list")):
        (tmp_path / "x.json").write_text(text)
        with pytest.raises(GradiaError, match=match):
            import_masks(fresh, "coco", tmp_path / "x.json")
    with pytest.raises(GradiaError, match="file not found"):
        import_masks(fresh, "coco", tmp_path / "missing.json")


def test_png_folder_problems_are_each_reported(fresh, tmp_path):
    src = tmp_path / "masks"
    good = square_mask()
    write_mask_file(src / "train/cat/c0.png", good)
    write_mask_file(src / "train/cat/c0.bmp", good)  # a second mask for the same image
    write_mask_file(src / "train/cat/zebra.png", good)  # no such image
    write_mask_file(src / "train/cat/c1.png", square_mask(10, 10))  # size differs
    write_mask_file(src / "val/cat/deeper/c3.png", good)  # wrong depth
    (src / "val/dog").mkdir(parents=True)
    (src / "val/dog/d3.png").write_bytes(b"broken")
    (src / "notes.txt").write_text("not a mask")  # skipped, not a problem
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(encode_png(np.full((16, 24), 255, np.uint8)))
    (src / "test/dog").mkdir(parents=True)
    os.symlink(outside, src / "test/dog/d4.png")
    err = rejected(fresh, "png", src, "nothing imported")
    text = "\n".join(err.problems)
    assert "train/cat/c0.png: duplicate, train/cat/c0.bmp is a mask for the same image train/cat/c0.png" in text
    assert "train/cat/zebra.png: no image train/cat/zebra.* in the project" in text
    assert "train/cat/c1.png: mask is 10x10 but the image train/cat/c1.png is 24x16" in text
    assert "val/cat/deeper/c3.png: no image val/cat/deeper/c3.* in the project" in text
    assert "val/dog/d3.png" in text and "not a readable image" in text
    assert "test/dog/d4.png: link to a file outside the mask folder, refused" in text
    assert len(err.problems) == 6


def test_an_import_that_fails_half_way_changes_nothing(exported, monkeypatch):
    project, out = exported
    project.write_mask(2, square_mask(box=(5, 5, 9, 9)))  # not in the export: must stay
    before = state(project)
    # Change what the export holds, so an overwrite would really change masks.
    doc = json.loads((out / "coco.json").read_text())
    for ann in doc["annotations"]:
        s = project.sample(ann["image_id"])
        ann["segmentation"] = coco.annotation_fields(coco.encode(square_mask(s.width, s.height, box=(0, 0, 2, 2))))[
            "segmentation"]
    (out / "changed.json").write_text(json.dumps(doc))
    real_write = Project.write_mask
    calls = []

    def failing_write(self, sample, mask, source="painted"):
        calls.append(sample)
        if len(calls) == 3:
            real_write(self, sample, mask, source)  # the file and row change, then the disk fills up
            raise OSError(28, "No space left on device")
        return real_write(self, sample, mask, source)

    monkeypatch.setattr(Project, "write_mask", failing_write)
    with pytest.raises(GradiaError, match="import failed at .*nothing changed: No space left on device"):
        import_masks(project, "coco", out / "changed.json", overwrite=True)
    assert state(project) == before

    def cancel(stage, done, total):
        if stage == "writing masks" and done == 2:
            raise Cancelled("cancelled")

    monkeypatch.setattr(Project, "write_mask", real_write)
    with pytest.raises(Cancelled):
        import_masks(project, "png", out, overwrite=True, progress=cancel)
    assert state(project) == before


def test_read_only_projects_and_unknown_formats_are_refused(project_template, fresh, tmp_path):
    with Project.open(project_template, readonly=True) as ro, pytest.raises(GradiaError, match="read-only"):
        import_masks(ro, "png", tmp_path)
    with pytest.raises(GradiaError, match="unknown import format"):
        import_masks(fresh, "tiff", tmp_path)
    with pytest.raises(GradiaError, match="mask folder not found"):
        import_masks(fresh, "png", tmp_path / "nope")


def test_export_filters_then_import_only_touch_the_selected_samples(exported, fresh, tmp_path):
    project, _ = exported
    export_masks(project, tmp_path / "val-only", "coco", ExportFilter(split="val"))
    summary = import_masks(fresh, "coco", tmp_path / "val-only")  # the export folder: its coco.json
    assert summary.matched == ["val/cat/c3.png"]
    assert [s.path for s in fresh.samples(has_mask=True)] == ["val/cat/c3.png"]


# ---- hostile masks (issue 11): refused by name before anything is written ---------------------------
def test_colour_photographs_and_jpegs_are_not_masks_unless_a_threshold_is_given(fresh, tmp_path):
    src = tmp_path / "masks"
    write_mask_file(src / "train/cat/c0.png", square_mask())
    photo = np.random.default_rng(2).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    (src / "train/cat/c1.png").write_bytes(encode_png(photo))
    (src / "train/cat/c2.jpg").write_bytes(encode(".jpg", np.where(square_mask(), 255, 0).astype(np.uint8)))
    err = rejected(fresh, "png", src, "nothing imported, 2 problems")
    text = "\n".join(err.problems)
    assert "train/cat/c1.png: " in text and "a colour image, not a mask" in text
    assert "train/cat/c2.jpg: " in text and "JPEG mask is lossy" in text
    summary = import_masks(fresh, "png", src, mask_rule=MaskRule(threshold=127))
    assert summary.matched == ["train/cat/c0.png", "train/cat/c1.png", "train/cat/c2.png"]
    np.testing.assert_array_equal(fresh.read_mask(2), photo.max(axis=2) > 127)
    np.testing.assert_array_equal(fresh.read_mask(3), square_mask())


@needs_fifo
def test_a_named_pipe_in_a_mask_folder_is_a_problem_not_a_hang(fresh, tmp_path):
    src = tmp_path / "masks"
    write_mask_file(src / "train/cat/c0.png", square_mask())
    pipe = src / "train/cat/c1.png"
    os.mkfifo(pipe)
    try:
        err = call_with_timeout(rejected, fresh, "png", src, "nothing imported, 1 problem")
    finally:
        release_fifo(pipe)
    assert "train/cat/c1.png: " in err.problems[0] and "named pipe" in err.problems[0]


def test_a_decompression_bomb_in_a_mask_folder_is_a_problem(fresh, tmp_path):
    src = tmp_path / "masks"
    (src / "train/cat").mkdir(parents=True)
    (src / "train/cat/c0.png").write_bytes(png_claiming(50000, 50000))
    err = rejected(fresh, "png", src, "50000x50000 pixels is above the limit")
    assert len(err.problems) == 1


def test_a_mask_rule_is_for_png_folders_only(exported, fresh):
    with pytest.raises(GradiaError, match="applies to PNG mask folders, not to COCO"):
        import_masks(fresh, "coco", exported[1], mask_rule=MaskRule(threshold=10))
    assert fresh.mask_pixels() == {}
