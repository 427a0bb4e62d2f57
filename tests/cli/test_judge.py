"""cli/judge_command.py: `gradia judge` sets, imports and exports a version's judgements."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.records import Prediction
from gradia_desktop.core.store import Project

from .cli_run import run

# shared.png is in train/cat and val/cat: ambiguous across the project, unique within a split
IMAGES = ("train/cat/a.png", "train/cat/shared.png", "train/dog/b.png", "train/dog/c.png",
          "val/cat/shared.png", "val/dog/d.png", "test/cat/e.png", "test/dog/f.png")
WRONG = {"train/dog/c.png", "train/cat/shared.png", "val/cat/shared.png"}  # v1 predicts the other class
UNPREDICTED = {"test/dog/f.png"}  # v1 stored no prediction for it


def judge_ok(capsys, root: Path, *argv) -> None:
    code, _, err = run(capsys, "judge", root, *argv)
    assert code == 0, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A closed project over IMAGES with v1 (predictions stored, no training) and v2 (none), made once."""
    base = tmp_path_factory.mktemp("judge")
    for i, rel in enumerate(IMAGES):
        path = base / "images" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), np.full((8, 8, 3), 20 * i, np.uint8))
    with create_project(base / "project", base / "images") as project:
        for _ in range(2):
            vid = project.create_version(None, "baseline", "tiny", "features", 32, {})
            project.finish_version(vid, "done", checkpoint=f"models/v{vid}/best.safetensors")
        project.save_predictions(1, [
            Prediction(s.id, 1 - s.class_idx if s.path in WRONG else s.class_idx, 0.9, np.zeros((2, 2), np.float32))
            for s in project.samples() if s.path not in UNPREDICTED])
        return project.root


@pytest.fixture
def root(template, tmp_path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(template, copy)
    return copy


def ids(root: Path) -> dict[str, int]:
    with Project.open(root, readonly=True) as project:
        return {s.path: s.id for s in project.samples()}


def judgements(root: Path, version: int) -> dict[str, bool]:
    with Project.open(root, readonly=True) as project:
        paths = {s.id: s.path for s in project.samples()}
        return {paths[sid]: r for sid, r in project.judgements(version).items()}


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ---- --set --------------------------------------------------------------------------------------
def test_set_by_id_path_and_file_name_then_clear(root, capsys):
    a = ids(root)["train/cat/a.png"]
    code, out, err = run(capsys, "judge", root, "--set", "R", "--samples", f"{a},train/dog/b.png",
                         "--samples", "d.png", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["version"], got["set"], got["reasonable"], got["unreasonable"]) == (2, 3, 3, 0)  # latest: v2
    code, out, err = run(capsys, "judge", root, "--version", "v1", "--set", "unreasonable", "--samples",
                         "./train/dog/c.png")
    assert code == 0 and out.strip() == "v1: 1 judgement set (unreasonable)", err
    assert judgements(root, 2) == {"train/cat/a.png": True, "train/dog/b.png": True, "val/dog/d.png": True}
    assert judgements(root, 1) == {"train/dog/c.png": False}
    code, out, err = run(capsys, "judge", root, "--version", "2", "--set", "clear", "--samples", "a.png,e.png",
                         "--json")
    assert code == 0 and json.loads(out)["cleared"] == 1, err
    assert judgements(root, 2) == {"train/dog/b.png": True, "val/dog/d.png": True}


@pytest.mark.parametrize("argv, fragments", [
    (("--samples", "a.png,nosuch.png"), ("'nosuch.png'", "no sample in the project")),
    (("--samples", "a.png,shared.png"), ("'shared.png'", "train/cat/shared.png", "val/cat/shared.png")),
    (("--samples", "a.png", "--split", "val"), ("'a.png'", "in the val split")),
    (("--samples", "a.png,999"), ("sample 999", "no sample with this id")),
])
def test_a_bad_sample_is_one_line_and_nothing_is_written(root, capsys, argv, fragments):
    code, _, err = run(capsys, "judge", root, "--set", "u", *argv)
    line = one_error_line(err)
    assert code == 2 and all(f in line for f in fragments), line
    assert judgements(root, 2) == {}


def test_an_id_outside_the_split_names_its_split_and_a_file_name_unique_in_the_split_works(root, capsys):
    code, _, err = run(capsys, "judge", root, "--set", "u", "--samples", str(ids(root)["train/cat/a.png"]),
                       "--split", "val")
    assert code == 2 and "is in the train split" in one_error_line(err)
    code, _, err = run(capsys, "judge", root, "--set", "u", "--samples", "shared.png", "--split", "val")
    assert code == 0, err
    assert judgements(root, 2) == {"val/cat/shared.png": False}


@pytest.mark.parametrize("argv, fragment", [(("--set", "r"), "--set needs --samples"),
                                            (("--samples", "1", "--export", "out.json"), "only with --set")])
def test_set_and_samples_go_together(root, capsys, argv, fragment):
    code, _, err = run(capsys, "judge", root, *argv)
    assert code == 2 and fragment in one_error_line(err)


# ---- --import -----------------------------------------------------------------------------------
def test_import_counts_disagreements_and_unmatched_names_and_records_all(root, capsys, tmp_path):
    authors = write_json(tmp_path / "authors.json", {
        "a.png": "Reasonable Accurate",        # v1 right: agrees
        "c.png": "Unreasonable Accurate",      # v1 wrong: disagrees
        "d.png": "Reasonable Inaccurate",      # v1 right: disagrees
        "f.png": "Unreasonable Inaccurate",    # no stored prediction: nothing to compare
        "ghost.png": "Reasonable Accurate",    # no such image
    })
    code, out, err = run(capsys, "judge", root, "--version", "v1", "--import", authors, "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["set"], got["reasonable"], got["unreasonable"], got["disagree"], got["without_prediction"]) == \
        (4, 2, 2, 2, 1)
    assert got["unmatched"] == ["ghost.png"]
    assert "'ghost.png'" in err and "2 of the imported judgements disagree with v1" in err
    assert judgements(root, 1) == {"train/cat/a.png": True, "train/dog/c.png": False, "val/dog/d.png": True,
                                   "test/dog/f.png": False}
    code, out, _ = run(capsys, "judge", root, "--version", "v1", "--import", authors)
    assert out.strip() == ("v1: 4 judgements set (2 reasonable, 2 unreasonable), 2 of them disagree with v1's "
                           "predictions, 1 without a stored prediction to compare; 1 file name matched no sample")


def test_import_of_an_ambiguous_file_name_is_one_line_and_writes_nothing(root, capsys, tmp_path):
    authors = write_json(tmp_path / "authors.json", {"a.png": "Reasonable Accurate",
                                                     "shared.png": "Unreasonable Inaccurate"})
    code, _, err = run(capsys, "judge", root, "--import", authors)
    line = one_error_line(err)
    assert code == 2 and all(f in line for f in ("'shared.png'", "train/cat/shared.png", "val/cat/shared.png",
                                                 "--split", str(authors)))
    assert judgements(root, 2) == {}
    code, out, err = run(capsys, "judge", root, "--import", authors, "--split", "val", "--json")
    assert code == 0 and json.loads(out)["unmatched"] == ["a.png"], err
    assert judgements(root, 2) == {"val/cat/shared.png": False}


def test_a_long_import_shows_progress_and_names_the_first_unmatched_only(root, capsys, tmp_path):
    names = {f"ghost{i:04d}.png": "Reasonable Accurate" for i in range(1200)}
    authors = write_json(tmp_path / "authors.json", {**names, "e.png": "Unreasonable Accurate"})
    code, out, err = run(capsys, "judge", root, "--version", "1", "--import", authors, "--json")
    assert code == 0, err
    assert json.loads(out)["unmatched"] == sorted(names) and json.loads(out)["set"] == 1
    assert "matching file names: 1201/1201 (100%)" in err
    assert err.count("has the file name 'ghost") == 20 and "... and 1180 more file names matched no sample" in err
    code, _, err = run(capsys, "judge", root, "--version", "1", "--import", authors, "--quiet")
    assert code == 0 and "matching file names" not in err and "1180 more" in err


@pytest.mark.parametrize("content, fragment", [
    ('{"a.png": "Reasonable Accurate", "d.png": "Reasonable"}', "'Reasonable', expected one of"),
    ('{"a.png": "Reasonable Accurate", "d.png": true}', "a bool"),
    ('["a.png"]', "expected a JSON object"),
    ('{"a.png": "Reasonable Accurate",', "not valid JSON"),
    ('{"a.png": "Reasonable Accurate", "a.png": "Unreasonable Accurate"}', "appears twice"),
    (None, "cannot read"),
])
def test_a_bad_authors_file_is_one_line_naming_it_and_writes_nothing(root, capsys, tmp_path, content, fragment):
    authors = tmp_path / "authors.json"
    if content is not None:
        authors.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "judge", root, "--import", authors)
    line = one_error_line(err)
    assert code == 2 and str(authors) in line and fragment in line, line
    assert judgements(root, 2) == {}


# ---- --export -----------------------------------------------------------------------------------
def test_export_clear_import_gives_the_same_judgements(root, capsys, tmp_path):
    given = {"a.png": True, "c.png": False, "d.png": False, "e.png": True, "f.png": True}
    for name, reasonable in given.items():
        judge_ok(capsys, root, "--version", "1", "--set", "r" if reasonable else "u", "--samples", name)
    before = judgements(root, 1)
    out_file = tmp_path / "out" / "judgements.json"
    code, out, err = run(capsys, "judge", root, "--version", "v1", "--export", out_file, "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["exported"], got["skipped_without_prediction"], got["reasonable"]) == (4, 1, 2)
    assert "1 judged sample not exported" in err
    text = out_file.read_text(encoding="utf-8")
    assert json.loads(text) == {"a.png": "Reasonable Accurate", "c.png": "Unreasonable Inaccurate",
                                "d.png": "Unreasonable Accurate", "e.png": "Reasonable Accurate"}
    assert list(json.loads(text)) == sorted(json.loads(text)) and '\n  "a.png"' in text
    judge_ok(capsys, root, "--version", "1", "--set", "clear", "--samples", "a.png,c.png,d.png,e.png")
    assert judgements(root, 1) == {"test/dog/f.png": True}
    code, out, err = run(capsys, "judge", root, "--version", "v1", "--import", out_file, "--json")
    assert code == 0 and json.loads(out)["disagree"] == 0, err
    assert judgements(root, 1) == before


def test_export_refuses_a_file_name_shared_in_scope(root, capsys, tmp_path):
    judge_ok(capsys, root, "--version", "1", "--set", "r", "--samples", "train/cat/shared.png")
    out_file = tmp_path / "judgements.json"
    code, _, err = run(capsys, "judge", root, "--version", "1", "--export", out_file)
    line = one_error_line(err)
    assert code == 2 and "'shared.png'" in line and "val/cat/shared.png" in line and "--split" in line
    assert not out_file.exists()
    code, _, err = run(capsys, "judge", root, "--version", "1", "--export", out_file, "--split", "train")
    assert code == 0 and json.loads(out_file.read_text()) == {"shared.png": "Reasonable Inaccurate"}, err


def test_export_replaces_an_existing_file_whole_or_not_at_all(root, capsys, tmp_path, monkeypatch):
    judge_ok(capsys, root, "--version", "1", "--set", "u", "--samples", "a.png")
    out_file = tmp_path / "out" / "judgements.json"
    out_file.parent.mkdir()
    old = json.dumps({f"old{i}.png": "Reasonable Accurate" for i in range(200)}, indent=2)
    out_file.write_text(old, encoding="utf-8")
    real = Path.write_bytes

    def half_then_disk_full(self, data):
        real(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_disk_full)
    code, _, err = run(capsys, "judge", root, "--version", "1", "--export", out_file)
    assert code == 2 and "No space left" in one_error_line(err)
    monkeypatch.undo()
    assert out_file.read_text(encoding="utf-8") == old and [p.name for p in out_file.parent.iterdir()] == \
        [out_file.name]
    code, _, err = run(capsys, "judge", root, "--version", "1", "--export", out_file)
    assert code == 0, err
    assert json.loads(out_file.read_text(encoding="utf-8")) == {"a.png": "Unreasonable Accurate"}


def test_the_judge_command_imports_no_torch(root, tmp_path):
    # its own module and handler: building the whole `gradia` parser loads torch through `gradia train`'s defaults
    code = ("import argparse, sys; from gradia_desktop.cli.judge_command import add_judge; "
            "from gradia_desktop.cli.progress_line import ProgressLine; "
            "parser = argparse.ArgumentParser(); add_judge(parser.add_subparsers()); "
            f"args = parser.parse_args(['judge', {str(root)!r}, '--export', {str(tmp_path / 'j.json')!r}]); "
            "args.handler(args, ProgressLine(quiet=True)); print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr
    assert json.loads((tmp_path / "j.json").read_text()) == {}
