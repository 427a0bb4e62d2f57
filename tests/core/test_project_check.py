"""core/project_check.py: what `gradia check` finds, what --repair fixes, and what it never touches."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from gradia_desktop.core import project_db, project_lock
from gradia_desktop.core.project_check import CheckReport, check_project
from gradia_desktop.core.project_lock import ProjectInUse
from gradia_desktop.core.records import Prediction
from gradia_desktop.core.reconcile import INTERRUPTED_NOTE
from gradia_desktop.core.schema import DB_NAME
from gradia_desktop.core.store import Project
from gradia_desktop.errors import GradiaError

from .conftest import listing, square_mask


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sql(root: Path, script: str, *args) -> list:
    conn = sqlite3.connect(root / DB_NAME)
    try:
        rows = conn.execute(script, args).fetchall() if args else conn.executescript(script).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def _version(p: Project, status: str, note: str | None = None) -> int:
    vid = p.create_version(None, "baseline", "tiny", "layer4", 64, {})
    (p.root / "models" / f"v{vid}").mkdir()
    (p.root / "models" / f"v{vid}" / "best.safetensors").write_bytes(b"weights")
    if status != "running":
        p.finish_version(vid, status, f"models/v{vid}/best.safetensors" if status == "done" else None, note=note)
    return vid


@pytest.fixture
def damaged(project):
    """A closed project with one of every repairable problem, and two that cannot be repaired."""
    root = project.root
    done = _version(project, "done")
    project.save_predictions(done, [Prediction(1, 0, 0.5, np.zeros((2, 2))), Prediction(2, 1, 0.5, np.zeros((2, 2)))])
    project.add_epoch(done, _epoch())
    project.set_setting("brush", 4)
    project.write_mask(2, square_mask())
    ids = {"done": done, "stuck": _version(project, "running"), "cancelled": _version(project, "cancelled"),
           "kept": _version(project, "failed", note="... the last good checkpoint is kept at models/v4/epoch_002"),
           "lost": _version(project, "done")}
    project.close()
    (root / "models" / "v99").mkdir()  # no such version
    (root / f"models/v{ids['lost']}/best.safetensors").unlink()
    (root / "masks" / "7.png").unlink()  # a row without its file
    (root / "masks" / "5-1.png").write_bytes((root / "masks" / "2-1.png").read_bytes())  # a file without a row
    (root / "masks" / ".2-2.png.x1y2.tmp.png").write_bytes(b"half")
    _sql(root, f"""UPDATE masks SET pixels = 3 WHERE sample_id = 1;
                  UPDATE settings SET value = '{{broken' WHERE key = 'brush';
                  UPDATE epochs SET metrics = 'null' WHERE version_id = {done};
                  UPDATE predictions SET cam = x'0000' WHERE sample_id = 2;
                  UPDATE versions SET config = '[1' WHERE id = {ids['cancelled']};""")
    return root, ids


def _epoch():
    from gradia_desktop.core.training_metrics import EpochMetrics

    return EpochMetrics(epoch=1, loss=0.5, ce=0.5, attention=0.0, train_accuracy=0.5, val_accuracy=0.5,
                        val_iou=None, val_energy=None, val_pointing=None, seconds=1.0)


def _matching(lines: list[str], *fragments: str) -> list[str]:
    return [line for line in lines if all(f in line for f in fragments)]


def test_a_clean_project_has_no_problems(project):
    root = project.root
    project.close()
    report = check_project(root)
    assert isinstance(report, CheckReport) and report.ok and report.problems == [] and report.repaired == []
    assert check_project(root, repair=True).repaired == []


def test_check_reports_every_problem_and_changes_nothing(damaged):
    root, ids = damaged
    before, db = listing(root), _sha(root / DB_NAME)
    report = check_project(root)
    assert not report.ok and report.repaired == []
    problems = report.problems
    assert all("\n" not in p for p in problems)
    for fragments in [("whose file is missing", "masks/7.png", "val/cat/c3.png"), ("no row names", "masks/5-1.png"),
                      ("interrupted write", ".2-2.png.x1y2.tmp.png"), ("pixel count", "train/cat/c0.png"),
                      (f"v{ids['stuck']}: still marked running",), ("models/v99", "does not know"),
                      (f"models/v{ids['cancelled']}", "cancelled run"), ("setting", "brush"),
                      (f"v{ids['done']} epoch 1",), (f"v{ids['done']} sample 2", "heatmap"),
                      (f"version v{ids['cancelled']}: damaged config JSON",),
                      (f"v{ids['lost']}: its checkpoint", "is missing")]:
        assert len(_matching(problems, *fragments)) == 1, (fragments, problems)
    assert not _matching(problems, f"models/v{ids['kept']}")  # a failed run's kept checkpoint is on purpose
    assert len(problems) == 12
    assert listing(root) == before and _sha(root / DB_NAME) == db


def test_repair_fixes_what_is_safe_and_says_what_it_did(damaged):
    root, ids = damaged
    report = check_project(root, repair=True)
    left = sorted(report.problems)
    assert len(left) == 2 and left[0].startswith(f"project.sqlite: version v{ids['cancelled']}: damaged config JSON (")
    assert left[1] == f"v{ids['lost']}: its checkpoint models/v{ids['lost']}/best.safetensors is missing"
    assert len(report.repaired) == 10 and all("\n" not in r for r in report.repaired)
    assert _matching(report.repaired, "removed 1 mask row whose file was missing", "masks/7.png")
    assert _matching(report.repaired, f"v{ids['stuck']}: marked failed", f"removed models/v{ids['stuck']}")
    assert not report.ok
    with Project.open(root) as p:
        assert sorted(p.mask_pixels()) == [1, 2, 10] and p.missing_mask_files() == []
        assert p.mask_pixels()[1] == int(p.read_mask(1).sum())
        assert p.version(ids["stuck"]).note == INTERRUPTED_NOTE and p.version(ids["stuck"]).status == "failed"
        assert p.setting("brush", "default") == "default" and p.epochs(ids["done"]) == []
        assert sorted(p.predictions(ids["done"])) == [1]
    assert sorted(os.listdir(root / "masks")) == ["1.png", "10.png", "2-1.png"]
    assert sorted(os.listdir(root / "models")) == [f"v{ids['done']}", f"v{ids['kept']}", f"v{ids['lost']}"]
    again = check_project(root, repair=True)
    assert again.repaired == [] and again.problems == report.problems


def test_a_database_that_fails_the_integrity_check_is_reported_and_never_touched(damaged):
    root, _ = damaged
    db = root / DB_NAME
    page = sqlite3.connect(db).execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[3 * page:4 * page] = bytes(range(256)) * (page // 256)
    db.write_bytes(bytes(data))
    before = listing(root)
    for repair in (False, True):
        report = check_project(root, repair=repair)
        assert len(report.problems) == 1 and report.repaired == []
        assert report.problems[0].startswith("project.sqlite: damaged (")
    assert db.read_bytes() == bytes(data) and listing(root) == before  # leftovers stay too


def test_repair_refuses_a_project_another_process_is_writing(damaged):
    pytest.importorskip("fcntl")
    from .test_project_lock import OtherProcess

    root, ids = damaged
    other = OtherProcess(root)
    try:
        with pytest.raises(ProjectInUse):
            check_project(root, repair=True)
        report = check_project(root)  # it may be running that run and writing those files right now
        assert not _matching(report.problems, "still marked running")
        assert not _matching(report.problems, "no row names") and not _matching(report.problems, "interrupted write")
        assert _matching(report.problems, "whose file is missing")
    finally:
        other.dies()


def test_repair_while_this_process_has_the_project_open_leaves_its_runs_alone(project):
    running = project.create_version(None, "baseline", "tiny", "layer4", 64, {})
    report = check_project(project.root, repair=True)
    assert report.ok and project.version(running).status == "running"
    assert project_lock.hold_count(project.root) == 1  # the check let go of its own hold


def test_check_of_a_version_1_project(project_template, tmp_path):
    root = tmp_path / "v1"
    shutil.copytree(project_template, root)
    _sql(root, "DROP TABLE mask_files; DROP TABLE mask_avoid; UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    (root / "masks" / "7.png").unlink()
    assert _matching(check_project(root).problems, "masks/7.png")
    assert _matching(check_project(root, repair=True).repaired, "masks/7.png")
    assert check_project(root).ok


@pytest.mark.parametrize("make,message", [
    (lambda tmp: tmp / "missing", "project folder not found"),
    (lambda tmp: tmp, "not a GRADIA project (no project.sqlite)"),
])
def test_no_project_is_an_error(tmp_path, make, message):
    with pytest.raises(GradiaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_project(make(tmp_path))


def test_a_foreign_database_is_an_error(tmp_path):
    sqlite3.connect(tmp_path / DB_NAME).execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(GradiaError, match="not a GRADIA project database"):
        check_project(tmp_path, repair=True)


def test_repair_needs_a_writable_project(project, monkeypatch):
    root = project.root
    project.close()
    monkeypatch.setattr(project_db.os, "access", lambda path, mode: False)
    assert check_project(root).ok
    with pytest.raises(GradiaError, match="cannot repair, the project folder or its database is read-only"):
        check_project(root, repair=True)


def test_report_as_json(project):
    report = check_project(project.root)
    assert json.loads(json.dumps(report.to_dict())) == {"project": str(project.root), "ok": True,
                                                         "problems": [], "repaired": []}
