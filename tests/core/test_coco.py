"""core/coco.py and core/bounded_json.py against hostile COCO files: each refused in one line, in bounded memory."""

from __future__ import annotations

import json
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from gradia_desktop.cli import main
from gradia_desktop.core import coco
from gradia_desktop.core.bounded_json import too_deep_at
from gradia_desktop.core.mask_import import ImportRejected, import_masks
from gradia_desktop.core.records import Sample
from gradia_desktop.errors import GradiaError

from .conftest import listing

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # in pycocotools

SAMPLE = Sample(1, "train/cat/c0.png", 0, "cat", "train", 24, 16, False)
HUGE = "1" * 5000  # past Python's 4,300-digit limit for int()


def document(counts: object = None, image_id: str = "1", annotation_id: str = "7", width: str = "24") -> str:
    """A one-image, one-annotation COCO text; the numbers are spliced in as raw JSON literals."""
    if counts is None:
        counts = coco.encode(np.ones((16, 24), bool))["counts"].decode()
    segmentation = json.dumps({"size": [16, 24], "counts": counts})
    return (f'{{"images": [{{"id": {image_id}, "file_name": "train/cat/c0.png", "width": {width}, "height": 16}}],'
            f' "annotations": [{{"id": {annotation_id}, "image_id": {image_id}, "segmentation": {segmentation}}}]}}')


def plan(tmp_path, text: str) -> coco.CocoPlan:
    path = tmp_path / "in.json"
    path.write_text(text)
    return coco.plan_coco(coco.read_json(path), {SAMPLE.path: SAMPLE})


def test_a_plain_document_plans_one_mask(tmp_path):
    result = plan(tmp_path, document())
    assert result.problems == [] and len(result.masks) == 1


# ---- the file itself -------------------------------------------------------------------------------
def test_nesting_100000_deep_is_refused_without_recursing(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"images": [], "annotations": [' + "[" * 100_000 + "]" * 100_000 + "]}")
    with pytest.raises(GradiaError, match=r"deep\.json: nested more than 64 levels deep \(line 1, column 94\)"):
        coco.read_json(path)


def test_brackets_inside_strings_and_escaped_quotes_do_not_count_as_nesting(tmp_path):
    name = 'a\\"[[[[' * 100 + "\\\\"  # escaped quotes, brackets and a final escaped backslash, all in one string
    path = tmp_path / "strings.json"
    path.write_text('{"x": "' + name + '", "y": [[1]]}')
    assert coco.read_json(path)["y"] == [[1]]
    assert too_deep_at(b'"\\\\"[', 0) == 4  # the string ends after the escaped backslash, so '[' counts


def test_the_depth_scan_carries_its_state_across_chunks(monkeypatch):
    import gradia_desktop.core.bounded_json as bounded_json

    text = b'{"a": "\\\\\\"[[[[", "b": [[["]]]["]]]}'
    expected = [too_deep_at(text, limit) for limit in range(5)]
    assert expected == [0, 23, 24, 25, None]
    for chunk in (1, 2, 3, 5):
        monkeypatch.setattr(bounded_json, "_SCAN_CHUNK", chunk)
        assert [too_deep_at(text, limit) for limit in range(5)] == expected, chunk


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(coco, "MAX_COCO_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(document() + " " * 1000)
    with pytest.raises(GradiaError, match=r"big\.json: larger than the 1000 bytes limit for a COCO JSON file"):
        coco.read_json(path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused_before_reading():
    with pytest.raises(GradiaError, match=r"/dev/zero: not a regular file \(a pipe, device or socket\)"):
        coco.read_json(Path("/dev/zero"))


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)

    def unblock():  # had the read blocked, this lets it finish, so the test fails instead of hanging
        if not done.wait(5):
            with open(fifo, "w"):
                pass

    done = threading.Event()
    threading.Thread(target=unblock, daemon=True).start()
    try:
        with pytest.raises(GradiaError, match=r"pipe\.json: not a regular file"):
            coco.read_json(fifo)
    finally:
        done.set()


def test_a_folder_or_missing_file_is_named(tmp_path):
    with pytest.raises(GradiaError, match="is a folder, expected a COCO JSON file"):
        coco.read_json(tmp_path)
    with pytest.raises(GradiaError, match="missing.json: file not found"):
        coco.read_json(tmp_path / "missing.json")


# ---- ids and numbers -------------------------------------------------------------------------------
def test_an_image_id_of_5000_digits_is_a_problem_of_that_entry(tmp_path):
    result = plan(tmp_path, document(image_id=HUGE))
    assert result.problems[0] == ("images[0] (id <an integer of 5000 digits>, file_name 'train/cat/c0.png'): "
                                  "'id' is missing or not an integer of at most 64 bits")
    assert "annotations[0]" in result.problems[1] and "is not in the file's images" in result.problems[1]


def test_ids_that_are_strings_floats_or_past_64_bits_are_refused(tmp_path):
    for bad in ('"1"', "1.0", str(2**63), "true"):
        result = plan(tmp_path, document(annotation_id=bad))
        assert result.problems == [f"annotations[0] (id {json.loads(bad)!r}, image_id 1): 'id' is missing or not "
                                   "an integer of at most 64 bits"], bad


def test_huge_numbers_in_sizes_and_counts_are_problems_not_tracebacks(tmp_path):
    result = plan(tmp_path, document(width=HUGE))
    assert result.problems == ["images[0] (id 1, file_name 'train/cat/c0.png'): the file says <an integer of 5000 "
                               "digits>x16 but the project's image is 24x16"]
    text = document(counts=[0]).replace('"counts": [0]', f'"counts": [{HUGE}]')
    assert "counts is a list with non-integer entries" in plan(tmp_path, text).problems[0]
    text = document().replace('"size": [16, 24]', f'"size": [16, {HUGE}]')
    assert "size [16, <an integer of 5000 digits>] is not [height, width]" in plan(tmp_path, text).problems[0]


def test_a_20_megabyte_file_name_is_cut_short_in_the_message(tmp_path):
    text = document().replace('"train/cat/c0.png"', json.dumps("x" * 20_000_000))
    problem = plan(tmp_path, text).problems[0]
    assert problem.startswith("images[0] (id 1, file_name 'xxx") and "no image" in problem and len(problem) < 300


# ---- RLE counts ------------------------------------------------------------------------------------
def test_a_20_megabyte_counts_string_is_refused_in_bounded_memory():
    segmentation = {"size": [16, 24], "counts": "1" * 20_000_000}
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"counts has 20000000 characters, more than any RLE of a 24x16 mask "
                                             r"needs \(770\)"):
            coco.checked_rle(segmentation, (16, 24))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_a_long_valid_counts_string_is_decoded_in_bounded_memory():
    mask = np.indices((1024, 1024)).sum(axis=0) % 2 == 1  # a checkerboard: every pixel its own run
    counts = coco.encode(mask)["counts"].decode()
    assert coco._COUNTS_CHUNK < len(counts) <= coco.max_counts_chars(1024, 1024)
    tracemalloc.start()
    try:
        rle = coco.checked_rle({"size": [1024, 1024], "counts": counts}, (1024, 1024))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(coco.decode(rle), mask)
    assert peak < 12 * len(counts)  # decoding it whole took 67 bytes a character


def test_the_most_runs_a_mask_can_have_still_fit_the_bound():
    mask = np.indices((5, 7)).sum(axis=0) % 2 == 0  # first pixel set: a leading empty run, then 35 runs
    rle = coco.encode(mask)
    assert len(coco.string_counts(rle["counts"].decode())) == 36
    assert len(rle["counts"]) <= coco.max_counts_chars(5, 7)
    with pytest.raises(ValueError, match="counts has 37 runs, more than a 7x5 mask can have"):
        coco.checked_rle({"size": [5, 7], "counts": [0] * 2 + [1] * 35}, (5, 7))


@pytest.mark.parametrize("chunk", [7, 8, 13, 64])
def test_chunked_decoding_matches_decoding_whole(monkeypatch, chunk):
    rng = np.random.default_rng(chunk)
    for h, w in ((3, 5), (16, 24), (40, 90)):
        mask = rng.random((h, w)) < rng.random()
        counts = coco.encode(mask)["counts"].decode()
        whole = coco.string_counts(counts)
        assert whole.sum() == h * w
        monkeypatch.setattr(coco, "_COUNTS_CHUNK", chunk)  # 7 characters: the longest number
        assert np.array_equal(coco.string_counts(counts), whole)
        rle = coco.checked_rle({"size": [h, w], "counts": counts}, (h, w))
        monkeypatch.undo()
        assert np.array_equal(coco.decode(rle), mask)


# ---- end to end ------------------------------------------------------------------------------------
def test_cli_import_of_a_hostile_file_is_one_line_and_status_2(project, tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    huge_id = tmp_path / "huge.json"
    huge_id.write_text(document(annotation_id=HUGE))
    root = project.root
    project.close()
    before = listing(root / "masks")
    for path, expected in ((deep, "nested more than 64 levels deep"),
                           (huge_id, "annotations[0] (id <an integer of 5000 digits>, image_id 1)")):
        code = main(["import", str(root), "--format", "coco", "--from", str(path)])
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if "error:" in line]
        assert code == 2 and len(errors) == 1 and str(path) in errors[0] and expected in errors[0], err
        assert "Traceback" not in err
    assert listing(root / "masks") == before


def test_import_masks_refuses_a_huge_id_and_writes_nothing(project, tmp_path):
    before = listing(project.root / "masks")
    path = tmp_path / "in.json"
    path.write_text(document(image_id=HUGE))
    with pytest.raises(ImportRejected, match="'id' is missing or not an integer of at most 64 bits"):
        import_masks(project, "coco", path)
    assert listing(project.root / "masks") == before
