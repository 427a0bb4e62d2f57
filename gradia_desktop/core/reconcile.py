"""Leftovers of a process that ended mid-way: runs still marked running, their model folders, mask files
no row names and temp files of interrupted writes.

``Project.open`` clears them when it newly takes the project's lock (so no other process can be using
them; not when the same process opens the project again, its own training worker may be running one),
and ``gradia check`` reports and repairs the same things.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from . import mask_files
from .project_db import transaction

INTERRUPTED_NOTE = "interrupted: the process ended before the run finished"


@dataclass
class Reconciled:
    runs: list[int] = field(default_factory=list)  # versions marked failed
    removed: list[str] = field(default_factory=list)  # mask files, temp files and model folders, relative


def stored_mask_files(conn: sqlite3.Connection) -> dict[int, str]:
    return dict(conn.execute(mask_files.ROWS_SQL))


def running_versions(conn: sqlite3.Connection) -> list[int]:
    return [vid for (vid,) in conn.execute("SELECT id FROM versions WHERE status = 'running' ORDER BY id")]


def fail_interrupted_runs(conn: sqlite3.Connection, root: Path, ids: list[int]) -> list[str]:
    """Mark the runs ``ids`` failed and remove their model folders; returns the folders removed."""
    if not ids:
        return []
    with transaction(conn):
        conn.executemany("UPDATE versions SET status = 'failed', note = ? WHERE id = ? AND status = 'running'",
                         [(INTERRUPTED_NOTE, vid) for vid in ids])
    return remove_model_dirs(root, ids)


def remove_model_dirs(root: Path, ids: list[int]) -> list[str]:
    removed = []
    for vid in ids:
        folder = root / "models" / f"v{vid}"
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(f"models/v{vid}")
    return removed


def reconcile(conn: sqlite3.Connection, root: Path) -> Reconciled:
    """Clear every leftover (see the module docstring). Never touches a file a row names."""
    done = Reconciled(runs=running_versions(conn))
    done.removed += fail_interrupted_runs(conn, root, done.runs)
    masks_dir = root / mask_files.MASKS_DIR
    scan = mask_files.scan(masks_dir, stored_mask_files(conn))
    done.removed += [f"{mask_files.MASKS_DIR}/{n}" for n in mask_files.remove(masks_dir, scan.orphans + scan.temps)]
    return done
