"""Opening and closing a project's database for ``Project``: which access the folder allows, the lock,
the checks before any write, the migration and the reconciliation of leftovers, in that order.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import GradiaError
from . import project_db, project_lock
from .reconcile import reconcile
from .schema import DB_NAME, SCHEMA, SCHEMA_VERSION


@dataclass
class OpenedDatabase:
    conn: sqlite3.Connection
    readonly: bool
    meta: dict[str, str]


class _ReadOnlyAfterAll(Exception):
    """The folder looked writable, but the lock file or the database could not be written."""


def open_database(root: Path, readonly: bool) -> OpenedDatabase:
    """Open ``root``'s database; read-only when asked or when the folder or the database cannot be
    written. Raises ProjectInUse or a one-line GradiaError; a foreign or damaged file is never written."""
    if not root.is_dir():
        raise GradiaError(f"{root}: project folder not found")
    if not (root / DB_NAME).is_file():
        raise GradiaError(f"{root}: not a GRADIA project (no {DB_NAME})")
    access = project_db.access_for(root, readonly)
    if access == project_db.RW:
        try:
            return _open_writable(root)
        except _ReadOnlyAfterAll:
            access = project_db.RO
    return _open(root, access, newly_locked=False)


def close_database(root: Path, conn: sqlite3.Connection, readonly: bool) -> None:
    """Close; a writable database first moves its WAL into the main file (so a copy of the folder, or
    the folder made read-only, holds everything), then the lock is released."""
    try:
        if not readonly:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA busy_timeout = 0")  # never wait on another connection's reader
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    finally:
        if not readonly:
            project_lock.release(root)


def create_database(db: Path, images_root: Path, classes: list[str]) -> sqlite3.Connection:
    """A new, empty project database at ``db`` (inside a staging folder that is renamed into place)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("schema_version", str(SCHEMA_VERSION)), ("created", str(time.time())),
        ("images_root", str(images_root))])
    conn.executemany("INSERT INTO classes VALUES (?, ?)", list(enumerate(classes)))
    return conn


def _open_writable(root: Path) -> OpenedDatabase:
    try:
        newly_locked = project_lock.acquire(root)
    except project_lock.ProjectInUse:
        raise
    except OSError:  # the lock file cannot be made: the folder is not writable after all
        raise _ReadOnlyAfterAll from None
    try:
        return _open(root, project_db.RW, newly_locked)
    except BaseException:
        project_lock.release(root)
        raise


def _open(root: Path, access: str, newly_locked: bool) -> OpenedDatabase:
    db = root / DB_NAME
    conn, version, meta = project_db.connect_checked(db, access)  # nothing is written before this
    try:
        if access == project_db.RW:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            project_db.migrate(conn, version)
            if newly_locked:  # no other process, nor another Project of this one, can be using them
                reconcile(conn, root)
        else:
            project_db.settle_reader(conn, access, version)
        return OpenedDatabase(conn, access != project_db.RW, meta)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and access == project_db.RW and "readonly" in str(exc):
            raise _ReadOnlyAfterAll from None
        if isinstance(exc, sqlite3.DatabaseError):
            raise project_db.database_error(db, exc) from None
        raise
