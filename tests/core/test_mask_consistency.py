"""A mask's file and its row stay consistent whenever the process stops: at each step of a write or a
clear (simulated in-process), when the commit fails, and under real SIGKILLs at random moments."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from gradia_desktop.core import mask_files
from gradia_desktop.core.store import Project
from gradia_desktop.errors import GradiaError

from .conftest import H, W, square_mask


class _Killed(BaseException):
    """Where a killed process would stop."""


class _CommitFails:
    """Stands in for the store's connection and raises ``exc`` instead of committing."""

    def __init__(self, conn: sqlite3.Connection, exc: BaseException):
        self._conn, self._exc = conn, exc

    def execute(self, sql, *args):
        if sql.strip().upper() == "COMMIT":
            raise self._exc
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def _kill_before_commit(project, monkeypatch):
    monkeypatch.setattr(mask_files, "remove", lambda folder, names: [])  # a dead process deletes nothing
    monkeypatch.setattr(project, "_conn", _CommitFails(project._conn, _Killed()))


def _kill_after_commit(monkeypatch):
    monkeypatch.setattr(mask_files, "remove", lambda folder, names: [])


def _restart(project, monkeypatch) -> Project:
    """Drop the 'killed' process's state and open the project as the next process would."""
    monkeypatch.undo()
    project.close()
    return Project.open(project.root)


def _assert_consistent(p: Project) -> None:
    pixels = p.mask_pixels()
    assert p.missing_mask_files() == []
    for sid, n in pixels.items():
        assert int(p.read_mask(sid).sum()) == n, f"sample {sid}: row and file disagree"
    assert sorted(os.listdir(p.root / "masks")) == sorted(p.mask_path(sid).name for sid in pixels)


def test_killed_before_the_commit_of_a_write_keeps_the_old_mask(project, monkeypatch):
    old = project.read_mask(1)
    _kill_before_commit(project, monkeypatch)
    with pytest.raises(_Killed):
        project.write_mask(1, np.ones((H, W), bool))
    assert len(os.listdir(project.root / "masks")) == 4  # the new file was written, its row never committed
    with _restart(project, monkeypatch) as p:
        np.testing.assert_array_equal(p.read_mask(1), old)
        _assert_consistent(p)  # and the new file is gone


def test_killed_after_the_commit_of_a_write_has_the_new_mask(project, monkeypatch):
    _kill_after_commit(monkeypatch)
    project.write_mask(1, square_mask(box=(0, 0, 3, 3)))
    project.write_mask(2, square_mask(box=(0, 0, 2, 2)))
    with _restart(project, monkeypatch) as p:
        assert p.mask_pixels()[1] == 9 and p.mask_pixels()[2] == 4
        _assert_consistent(p)  # the replaced 1.png went on reopening


def test_killed_before_the_commit_of_a_clear_keeps_the_mask(project, monkeypatch):
    old = project.read_mask(7)
    _kill_before_commit(project, monkeypatch)
    with pytest.raises(_Killed):
        project.delete_mask(7)
    with _restart(project, monkeypatch) as p:
        np.testing.assert_array_equal(p.read_mask(7), old)  # the old code had deleted the file by now
        _assert_consistent(p)


def test_killed_after_the_commit_of_a_clear_has_no_mask(project, monkeypatch):
    _kill_after_commit(monkeypatch)
    project.write_mask(7, np.zeros((H, W), bool))  # an empty mask clears
    assert (project.root / "masks" / "7.png").exists()
    with _restart(project, monkeypatch) as p:
        assert p.read_mask(7) is None and 7 not in p.mask_pixels()
        _assert_consistent(p)


@pytest.mark.parametrize("clear", [False, True])
def test_a_commit_that_fails_leaves_the_mask_and_its_file_untouched(project, monkeypatch, clear):
    before = {n: (project.root / "masks" / n).read_bytes() for n in os.listdir(project.root / "masks")}
    pixels = project.mask_pixels()
    monkeypatch.setattr(project, "_conn", _CommitFails(
        project._conn, sqlite3.OperationalError("attempt to write a readonly database")))
    with pytest.raises(GradiaError) as exc:
        project.write_mask(1, np.zeros((H, W), bool) if clear else np.ones((H, W), bool))
    message = str(exc.value)
    assert "\n" not in message and str(project.db) in message and "read-only" in message
    monkeypatch.undo()
    assert {n: (project.root / "masks" / n).read_bytes() for n in os.listdir(project.root / "masks")} == before
    assert project.mask_pixels() == pixels
    _assert_consistent(project)


_KILLER = r"""
import json, os, random, signal, sys, time
import numpy as np
from gradia_desktop.core.store import Project

root, kills = sys.argv[1], int(sys.argv[2])
timing = random.Random(kills)
bad = []
for k in range(kills):
    child = os.fork()
    if child == 0:  # edit masks as fast as possible until killed
        rng = np.random.default_rng(k)
        project = Project.open(root)
        samples = project.samples()
        while True:
            s = samples[int(rng.integers(len(samples)))]
            if rng.random() < 0.3:
                project.delete_mask(s.id)
            else:
                project.write_mask(s, rng.random((s.height, s.width)) < rng.uniform(0.05, 0.9))
    time.sleep(timing.uniform(0.005, 0.08))
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    with Project.open(root) as p:  # the killed holder's lock is gone with it
        pixels = p.mask_pixels()
        missing = p.missing_mask_files()
        wrong = [sid for sid, n in pixels.items() if sid not in missing and int(p.read_mask(sid).sum()) != n]
        extra = sorted(set(os.listdir(os.path.join(root, "masks"))) - {p.mask_path(sid).name for sid in pixels})
    if missing or wrong or extra:
        bad.append({"kill": k, "missing": missing, "wrong_pixels": wrong, "extra_files": extra})
print(json.dumps(bad))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_at_random_moments_never_leaves_a_row_and_its_file_disagreeing(project):
    root = project.root
    project.close()
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(root), "30"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
