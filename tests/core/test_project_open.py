"""Opening a project: read-only folders and mounts, damaged and foreign databases (never written to),
the version 1 layout (read as it is, upgraded in place when writable), and the WAL on close."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest

from gradia_desktop.core import project_db
from gradia_desktop.core.export import export_masks
from gradia_desktop.core.schema import DB_NAME, SCHEMA_VERSION
from gradia_desktop.core.store import Project
from gradia_desktop.errors import GradiaError

from .conftest import H, W, listing, square_mask


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert message and "\n" not in message
    return message


def _closed_copy(project) -> Path:
    root = project.root
    project.set_setting("kept", 42)
    project.write_mask(2, square_mask())
    project.close()
    return root


def _make_read_only(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            path = Path(folder, name)
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    root.chmod(root.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _make_writable(root: Path) -> None:
    root.chmod(root.stat().st_mode | stat.S_IWUSR)
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            path = Path(folder, name)
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _permissions_bind(tmp_path: Path) -> bool:
    """False where this process writes through chmod a-w anyway (root with CAP_DAC_OVERRIDE)."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    probe.chmod(0o444)
    try:
        with open(probe, "a"):
            return False
    except PermissionError:
        return True
    finally:
        probe.chmod(0o644)
        probe.unlink()


# ---- read-only --------------------------------------------------------------------------------

def test_a_chmod_a_w_project_opens_read_only_and_can_be_viewed_and_exported(project, tmp_path):
    if not _permissions_bind(tmp_path):
        pytest.skip("this process can write to read-only files (root): see the simulated test below")
    root = _closed_copy(project)
    _make_read_only(root)
    try:
        before = listing(root)
        with Project.open(root) as p:
            assert p.readonly and p.setting("kept") == 42
            assert p.read_mask(2).sum() == square_mask().sum() and len(p.samples()) == 10
            summary = export_masks(p, tmp_path / "out", ("png", "manifest"))
            assert summary.masks == 4
            with pytest.raises(GradiaError, match="read-only"):
                p.set_setting("kept", 1)
        assert listing(root) == before  # no -wal, -shm or lock file
    finally:
        _make_writable(root)


def test_a_read_only_copy_of_an_open_project_reads_its_wal_or_says_why_not(project, tmp_path):
    if not _permissions_bind(tmp_path):
        pytest.skip("this process can write to read-only files (root)")
    project.set_setting("in the wal", True)
    copy = tmp_path / "copy"
    shutil.copytree(project.root, copy)  # while open: the last changes are only in project.sqlite-wal
    assert os.path.getsize(f"{copy / DB_NAME}-wal") > 0
    _make_read_only(copy)
    try:
        with Project.open(copy) as p:
            assert p.readonly and p.setting("in the wal") is True
        _make_writable(copy)
        os.unlink(f"{copy / DB_NAME}-shm")
        _make_read_only(copy)
        with pytest.raises(GradiaError) as exc:
            Project.open(copy)
        assert f"{DB_NAME}-wal cannot be read" in _one_line(exc)
    finally:
        _make_writable(copy)


def test_a_folder_that_cannot_be_written_is_opened_immutable_without_side_files(project, monkeypatch):
    root = _closed_copy(project)
    monkeypatch.setattr(project_db.os, "access", lambda path, mode: False)  # as on a read-only mount
    assert project_db.access_for(root, readonly=False) == project_db.IMMUTABLE
    before = listing(root)
    with Project.open(root) as p:
        assert p.readonly and p.setting("kept") == 42 and p.sample(2).has_mask
        np.testing.assert_array_equal(p.read_mask(2), square_mask())
        assert listing(root) == before
        with pytest.raises(GradiaError, match="read-only"):
            p.write_mask(3, square_mask())
    assert listing(root) == before


def test_a_read_only_database_file_in_a_writable_folder_opens_read_only(project, monkeypatch):
    root = _closed_copy(project)
    real_access = os.access
    monkeypatch.setattr(project_db.os, "access",
                        lambda path, mode: False if Path(path).name == DB_NAME else real_access(path, mode))
    with Project.open(root) as p:
        assert p.readonly and p.setting("kept") == 42
    assert not (root / "project.lock").exists()


def test_a_database_that_refuses_writes_after_all_falls_back_to_read_only(project, monkeypatch):
    project.create_version(None, "baseline", "tiny", "layer4", 64, {})  # a run to mark interrupted on open
    root = _closed_copy(project)
    real_connect = project_db.connect
    # A folder that reports itself writable holding a database that is not (e.g. a network share).
    monkeypatch.setattr(project_db, "connect",
                        lambda db, access: real_connect(db, project_db.RO if access == project_db.RW else access))
    with Project.open(root) as p:
        assert p.readonly and p.setting("kept") == 42
        assert p.version(1).status == "running"
    assert not (root / "project.lock").exists()


def test_closing_moves_the_wal_into_the_database_file(project, tmp_path):
    root = _closed_copy(project)
    assert not Path(f"{root / DB_NAME}-wal").exists() or os.path.getsize(f"{root / DB_NAME}-wal") == 0
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(root / DB_NAME, alone / DB_NAME)  # the database file without its side files
    conn = project_db.connect(alone / DB_NAME, project_db.IMMUTABLE)
    try:
        assert conn.execute("SELECT value FROM settings WHERE key = 'kept'").fetchone() == ("42",)
    finally:
        conn.close()


# ---- damaged and foreign databases --------------------------------------------------------------

def _damage(root: Path, sql: str) -> None:
    conn = sqlite3.connect(root / DB_NAME)
    conn.executescript(sql)
    conn.close()


@pytest.mark.parametrize("sql,what", [
    ("DROP TABLE judgements", "table judgements is missing"),
    ("ALTER TABLE versions RENAME COLUMN note TO notes", "table versions has no column note"),
    ("DROP TABLE meta", "table meta is missing"),
    ("DELETE FROM meta WHERE key = 'schema_version'", "schema version None"),
    ("DELETE FROM meta WHERE key = 'images_root'", "no images_root"),
    ("DROP TABLE mask_files", "table mask_files is missing"),
])
def test_a_damaged_schema_is_refused_in_one_line_and_left_alone(project, sql, what):
    root = _closed_copy(project)
    _damage(root, sql)
    before = _sha(root / DB_NAME)
    for readonly in (False, True):
        with pytest.raises(GradiaError) as exc:
            Project.open(root, readonly=readonly)
        message = _one_line(exc)
        assert message.startswith(f"{root / DB_NAME}: damaged project database (") and what in message
        assert message.endswith("run gradia check")
    assert _sha(root / DB_NAME) == before
    assert not (root / "project.lock").exists()


def test_a_page_of_random_bytes_is_found_before_anything_is_written(project):
    root = _closed_copy(project)
    db = root / DB_NAME
    page = sqlite3.connect(db).execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    assert len(data) >= 4 * page
    data[2 * page:3 * page] = np.random.default_rng(0).integers(0, 256, page, dtype=np.uint8).tobytes()
    db.write_bytes(bytes(data))
    with pytest.raises(GradiaError) as exc:
        Project.open(root)
    assert "damaged project database" in _one_line(exc) and str(db) in str(exc.value)
    assert db.read_bytes() == bytes(data)


def test_a_damaged_database_with_changes_left_in_its_wal_is_not_written_either(project, tmp_path):
    project.set_setting("pending", 1)
    copy = tmp_path / "copy"
    shutil.copytree(project.root, copy)  # while open: the copy has a -wal file full of changes
    db, wal = copy / DB_NAME, Path(f"{copy / DB_NAME}-wal")
    assert wal.stat().st_size > 0
    conn = project_db.connect(db, project_db.RO)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    (root_page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'samples'").fetchone()
    conn.close()
    data = bytearray(db.read_bytes())
    data[(root_page - 1) * page:root_page * page] = b"\xff" * page
    db.write_bytes(bytes(data))
    wal_before = wal.read_bytes()
    for readonly in (False, True):
        with pytest.raises(GradiaError, match="damaged project database"):
            Project.open(copy, readonly=readonly)
    assert db.read_bytes() == bytes(data) and wal.read_bytes() == wal_before  # nothing checkpointed into it


@pytest.mark.parametrize("content,why", [
    (b"", "empty file"),
    (b"this is not an sqlite database" * 50, "not an SQLite database"),
])
def test_a_file_that_is_no_database_is_not_rewritten(tmp_path, content, why):
    (tmp_path / DB_NAME).write_bytes(content)
    with pytest.raises(GradiaError) as exc:
        Project.open(tmp_path)
    assert f"{tmp_path / DB_NAME}: not a GRADIA project database ({why}" in _one_line(exc)
    assert (tmp_path / DB_NAME).read_bytes() == content  # the old code turned an empty file into WAL mode
    assert sorted(os.listdir(tmp_path)) == [DB_NAME]


def test_an_empty_sqlite_database_is_not_a_project(tmp_path):
    sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA user_version = 7").connection.close()
    before = _sha(tmp_path / DB_NAME)
    with pytest.raises(GradiaError, match="not a GRADIA project database"):
        Project.open(tmp_path)
    assert _sha(tmp_path / DB_NAME) == before


# ---- the version 1 layout -----------------------------------------------------------------------

def _as_version_1(root: Path) -> None:
    """What a project made before mask_files existed looks like: masks/<id>.png only."""
    _damage(root, "DROP TABLE mask_files; DROP TABLE mask_avoid; UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def test_a_version_1_project_reads_read_only_as_it_is(project_template, tmp_path):
    root = tmp_path / "v1"
    shutil.copytree(project_template, root)
    _as_version_1(root)
    before = _sha(root / DB_NAME)
    with Project.open(root, readonly=True) as p:
        assert sorted(p.mask_pixels()) == [1, 7, 10] and p.read_mask(7) is not None
        assert p.mask_path(7) == root / "masks" / "7.png" and p.missing_mask_files() == []
    assert _sha(root / DB_NAME) == before


def test_a_version_1_project_is_upgraded_in_place_when_writable(project_template, tmp_path):
    root = tmp_path / "v1"
    shutil.copytree(project_template, root)
    _as_version_1(root)
    with Project.open(root) as p:
        assert p.read_mask(7) is not None and p.mask_path(7).name == "7.png"
        p.write_mask(7, np.ones((H, W), bool))
        assert p.mask_path(7).name == "7-1.png" and p.read_mask(7).all()
    conn = sqlite3.connect(root / DB_NAME)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert conn.execute("SELECT * FROM mask_files").fetchall() == [(7, "7-1.png")]
    finally:
        conn.close()
    assert sorted(os.listdir(root / "masks")) == ["1.png", "10.png", "7-1.png"]
