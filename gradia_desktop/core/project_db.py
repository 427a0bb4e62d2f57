"""Opening a project database: how (read-write, read-only, immutable), the checks that run before
anything is written, migrations, and SQLite errors turned into one line that names the file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Iterator

from ..errors import GradiaError
from .schema import ADDED_IN, ADDED_TABLES, DB_NAME, MIGRATIONS, SCHEMA, SCHEMA_VERSION

SQLITE_MAGIC = b"SQLite format 3\x00"
# RW: the writable project. READER: a writable database opened to read (mode=rw, so that SQLite tidies
# its -wal/-shm files on close, with query_only set). RO: mode=ro. IMMUTABLE: no side files at all.
RW, READER, RO, IMMUTABLE = "rw", "reader", "ro", "immutable"
_URI_QUERY = {RW: "mode=rw", READER: "mode=rw", RO: "mode=ro", IMMUTABLE: "mode=ro&immutable=1"}


class DamagedDatabase(GradiaError):
    """The file is a GRADIA project database, but its tables or pages are damaged."""

    def __init__(self, db: Path, what: str):
        self.db, self.what = db, " ".join(str(what).split())
        super().__init__(f"{db}: damaged project database ({self.what}) — run gradia check")


def not_a_project(db: Path, why: str) -> GradiaError:
    return GradiaError(f"{db}: not a GRADIA project database ({why})")


def database_error(db: Path, exc: sqlite3.Error) -> GradiaError:
    """A SQLite error as the one line the user sees."""
    text = str(exc) or type(exc).__name__
    if "malformed" in text or "not a database" in text:
        return DamagedDatabase(db, text)
    if "readonly" in text or "read-only" in text:
        return GradiaError(f"{db}: cannot write, the database is read-only ({text})")
    if "full" in text:
        return GradiaError(f"{db}: cannot write, the database or disk is full ({text})")
    return GradiaError(f"{db}: {text}")


def access_for(root: Path, readonly: bool) -> str:
    """RW (READER when ``readonly``) when the folder and the database can be written; RO when only the
    folder can; IMMUTABLE where the folder cannot be written either, so SQLite needs no -wal/-shm side
    files. Unless a -wal file holds changes (its writer did not close): RO reads them through the
    -shm file, and without one they cannot be read."""
    db = root / DB_NAME
    if os.access(root, os.W_OK) and os.access(db, os.W_OK):
        return READER if readonly else RW
    if os.access(root, os.W_OK):
        return RO
    if _wal_size(db) > 0:
        if not os.path.exists(f"{db}-shm"):
            raise GradiaError(f"{db}: its changes in {DB_NAME}-wal cannot be read in a folder that cannot be "
                              "written; make the folder writable and open the project once")
        return RO
    return IMMUTABLE


def _wal_size(db: Path) -> int:
    try:
        return os.stat(f"{db}-wal").st_size
    except OSError:
        return 0


def connect(db: Path, access: str) -> sqlite3.Connection:
    uri = f"file:{urllib.parse.quote(db.as_posix())}?{_URI_QUERY[access]}"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise database_error(db, exc) from None
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


@functools.cache
def expected_columns() -> dict[str, tuple[str, ...]]:
    """Table -> column names, as the current schema creates them."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: tuple(row[1] for row in conn.execute(f"PRAGMA table_info({t})")) for t in tables}
    finally:
        conn.close()


def validate(conn: sqlite3.Connection, db: Path, check: str | None = "quick_check") -> tuple[int, dict[str, str]]:
    """The database's schema version and meta table, after checking that it is a GRADIA project with
    every table and column its version has and (``check``: quick_check, integrity_check or None)
    sound pages. Reads only. Raises a one-line GradiaError: DamagedDatabase for a damaged project."""
    try:
        with open(db, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise GradiaError(f"{db}: cannot read ({exc.strerror or exc})") from None
    if head != SQLITE_MAGIC:
        raise not_a_project(db, "empty file" if not head else "not an SQLite database, or its first page is damaged")
    try:
        return _validate(conn, db, check)
    except sqlite3.DatabaseError as exc:
        raise database_error(db, exc) from None


def connect_checked(db: Path, access: str, check: str = "quick_check") -> tuple[sqlite3.Connection, int, dict[str, str]]:
    """``connect`` and ``validate``. Where a -wal or -journal file holds changes (a writer that did not
    close), the checks run first on a connection that cannot write: closing a read-write connection
    would apply those changes to a database that fails them."""
    if access in (RW, READER) and (_wal_size(db) > 0 or os.path.exists(f"{db}-journal")):
        probe = connect(db, RO)
        try:
            validate(probe, db, check)
        finally:
            probe.close()
        check = None
    conn = connect(db, access)
    try:
        version, meta = validate(conn, db, check)
    except BaseException:
        conn.close()
        raise
    return conn, version, meta


def _validate(conn: sqlite3.Connection, db: Path, check: str | None) -> tuple[int, dict[str, str]]:
    expected = expected_columns()
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables & set(expected):
        raise not_a_project(db, "no GRADIA tables" if tables else "no tables")
    if "meta" not in tables:
        raise DamagedDatabase(db, "table meta is missing")
    meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    try:
        version = int(meta["schema_version"])
    except (KeyError, ValueError):
        raise DamagedDatabase(db, f"schema version {meta.get('schema_version')!r} in table meta") from None
    if version > SCHEMA_VERSION or version < 1:
        raise GradiaError(f"{db}: schema version {version} is not supported (expected {SCHEMA_VERSION}"
                          f"{', written by a newer GRADIA' if version > SCHEMA_VERSION else ''})")
    for table, columns in expected.items():
        if ADDED_IN.get(table, 1) > version:
            continue
        if table not in tables:
            raise DamagedDatabase(db, f"table {table} is missing")
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        lacking = [c for c in columns if c not in present]
        if lacking:
            raise DamagedDatabase(db, f"table {table} has no column {', '.join(lacking)}")
    if "images_root" not in meta:
        raise DamagedDatabase(db, "table meta has no images_root")
    if check:
        problems = [row[0] for row in conn.execute(f"PRAGMA {check}(5)")]
        if problems != ["ok"]:
            raise DamagedDatabase(db, f"{check}: {'; '.join(problems)}")
    return version, meta


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (a failed COMMIT included)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Upgrade a writable database from ``version`` to the current one, each step one transaction."""
    while version < SCHEMA_VERSION:
        with transaction(conn):
            conn.execute(MIGRATIONS[version])
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
        version += 1


def stand_in_for_missing_tables(conn: sqlite3.Connection, version: int) -> None:
    """Let a connection to an older database that it may not upgrade run the current queries: empty
    TEMP tables in place of those a later version added."""
    for table, added in ADDED_IN.items():
        if version < added:
            conn.execute(ADDED_TABLES[table].replace("CREATE TABLE", "CREATE TEMP TABLE", 1)
                         .replace(" REFERENCES masks(sample_id)", ""))


def settle_reader(conn: sqlite3.Connection, access: str, version: int) -> None:
    """Make a connection that must not write ready: stand-in tables, then (READER) no writes at all."""
    stand_in_for_missing_tables(conn, version)
    if access == READER:
        conn.execute("PRAGMA query_only = 1")
