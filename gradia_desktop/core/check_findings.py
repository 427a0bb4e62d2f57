"""What ``gradia check`` looks for (core/project_check.py runs these): each finding is one line, and
where a safe fix exists, a function that applies it and says what it did.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GradiaError
from . import images, mask_files
from .parallel import ordered_map
from .progress import Progress
from .project_db import transaction
from .reconcile import INTERRUPTED_NOTE, fail_interrupted_runs, running_versions, stored_mask_files
from .training_metrics import EpochMetrics

SHOWN = 5  # examples per finding
_VERSION_DIR = re.compile(r"v(\d+)")


@dataclass
class Finding:
    problem: str
    repair: Callable[[], str] | None = None  # applies the fix, returns what it did


def _some(items: list, shown: int = SHOWN) -> str:
    text = ", ".join(str(i) for i in items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _run_many(conn: sqlite3.Connection, sql: str, rows: list[tuple]) -> None:
    with transaction(conn):
        conn.executemany(sql, rows)


# ---- rows: stored JSON, heatmaps, references ---------------------------------------------------
def database_findings(conn: sqlite3.Connection, db: Path, meta: dict[str, str]) -> list[Finding]:
    root = db.parent
    found = []
    images_root = Path(meta["images_root"])
    images_root = images_root if images_root.is_absolute() else root / images_root
    if not images_root.is_dir():
        found.append(Finding(f"images folder {images_root} not found (the project reads its images there)"))
    broken: dict[str, int] = {}
    for table, _rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check"):
        broken[f"{table} -> {parent}"] = broken.get(f"{table} -> {parent}", 0) + 1
    found += [Finding(f"{_count(n, 'row')} of {link.split(' -> ')[0]} point to missing {link.split(' -> ')[1]} rows")
              for link, n in broken.items()]
    for vid, config, metrics in conn.execute("SELECT id, config, metrics FROM versions ORDER BY id"):
        for name, text in (("config", config), ("metrics", metrics)):
            if name == "metrics" and not text:
                continue
            try:
                if not isinstance(json.loads(text), dict):
                    raise ValueError("not an object")
            except (TypeError, ValueError) as exc:
                found.append(Finding(f"{db.name}: version v{vid}: damaged {name} JSON ({exc})"))
    found += _damaged_epochs(conn, db) + _damaged_settings(conn, db) + _damaged_heatmaps(conn, db)
    return found


def _damaged_epochs(conn: sqlite3.Connection, db: Path) -> list[Finding]:
    bad = []
    for vid, epoch, text in conn.execute("SELECT version_id, epoch, metrics FROM epochs ORDER BY version_id, epoch"):
        try:
            EpochMetrics.from_dict(json.loads(text))
        except (TypeError, ValueError, AttributeError):
            bad.append((vid, epoch))
    if not bad:
        return []
    names = [f"v{v} epoch {e}" for v, e in bad]

    def repair() -> str:
        _run_many(conn, "DELETE FROM epochs WHERE version_id = ? AND epoch = ?", bad)
        return f"removed {_count(len(bad), 'unreadable epoch record')} ({_some(names)})"
    return [Finding(f"{db.name}: {_count(len(bad), 'epoch record')} with damaged metrics: {_some(names)}", repair)]


def _damaged_settings(conn: sqlite3.Connection, db: Path) -> list[Finding]:
    bad = []
    for key, text in conn.execute("SELECT key, value FROM settings ORDER BY key"):
        try:
            json.loads(text)
        except (TypeError, ValueError):
            bad.append(key)
    if not bad:
        return []

    def repair() -> str:
        _run_many(conn, "DELETE FROM settings WHERE key = ?", [(k,) for k in bad])
        return f"removed {_count(len(bad), 'unreadable setting')} ({_some(bad)}); the defaults apply"
    return [Finding(f"{db.name}: {_count(len(bad), 'setting')} with damaged JSON: {_some(bad)}", repair)]


def _damaged_heatmaps(conn: sqlite3.Connection, db: Path) -> list[Finding]:
    bad = conn.execute(
        "SELECT version_id, sample_id FROM predictions WHERE typeof(cam) != 'blob' OR typeof(cam_h) != 'integer'"
        " OR typeof(cam_w) != 'integer' OR cam_h <= 0 OR cam_w <= 0 OR length(cam) != cam_h * cam_w * 2"
        " ORDER BY version_id, sample_id").fetchall()
    if not bad:
        return []
    names = [f"v{v} sample {s}" for v, s in bad]

    def repair() -> str:
        _run_many(conn, "DELETE FROM predictions WHERE version_id = ? AND sample_id = ?", bad)
        return (f"removed {_count(len(bad), 'damaged stored heatmap')} ({_some(names)}); "
                "gradia eval --recompute makes them again")
    return [Finding(f"{db.name}: {_count(len(bad), 'stored heatmap')} of the wrong size: {_some(names)}", repair)]


# ---- masks against their rows -------------------------------------------------------------------
def mask_findings(conn: sqlite3.Connection, root: Path, idle: bool, progress: Progress) -> list[Finding]:
    """Rows without files, files without rows, temp files (only when ``idle``: nobody writing now) and
    files that do not hold what their row says."""
    masks_dir = root / mask_files.MASKS_DIR
    pixels, files = {}, {}
    # Counts and names in one query (one snapshot), so that a writer committing meanwhile cannot part them.
    for sid, count, name in conn.execute(mask_files.ROWS_WITH_PIXELS_SQL):
        pixels[sid], files[sid] = count, name
    scan = mask_files.scan(masks_dir, files)
    paths = dict(conn.execute("SELECT id, path FROM samples"))
    found = []
    now = stored_mask_files(conn) if scan.missing else {}
    missing = [s for s in scan.missing if now.get(s) == files[s]]  # not a writer that moved it meanwhile
    if missing:
        found.append(_missing_files(conn, masks_dir, files, missing, paths))
    for leftovers, what in ((scan.orphans, "mask file no row names"), (scan.temps, "temp file of an interrupted write")):
        if leftovers and idle:
            found.append(Finding(f"{_count(len(leftovers), what)}: {_some([f'masks/{n}' for n in leftovers])}",
                                 _remover(masks_dir, leftovers, what)))
    present = sorted(set(files) - set(scan.missing))
    found += _mask_contents(conn, masks_dir, files, pixels, present, paths, progress)
    return found


def _missing_files(conn: sqlite3.Connection, masks_dir: Path, files: dict[int, str], missing: list[int],
                   paths: dict[int, str]) -> Finding:
    def where(sid: int) -> str:
        return f"masks/{files[sid]} ({paths.get(sid, f'sample {sid}')})"

    def drop_rows() -> str:
        still = [s for s in missing if not (masks_dir / files[s]).exists()]
        with transaction(conn):
            conn.executemany("DELETE FROM mask_files WHERE sample_id = ?", [(s,) for s in still])
            conn.executemany("DELETE FROM mask_avoid WHERE sample_id = ?", [(s,) for s in still])
            conn.executemany("DELETE FROM masks WHERE sample_id = ?", [(s,) for s in still])
        return f"removed {_count(len(still), 'mask row')} whose file was missing: {_some([where(s) for s in still])}"
    return Finding(f"{_count(len(missing), 'mask')} whose file is missing: {_some([where(s) for s in missing])}",
                   drop_rows)


def _remover(folder: Path, names: list[str], what: str) -> Callable[[], str]:
    def repair() -> str:
        gone = mask_files.remove(folder, names)
        if len(gone) < len(names):
            raise OSError(f"{len(names) - len(gone)} could not be deleted")
        return f"deleted {_count(len(gone), what)}: {_some([f'{folder.name}/{n}' for n in gone])}"
    return repair


def _mask_contents(conn: sqlite3.Connection, masks_dir: Path, files: dict[int, str], pixels: dict[int, int],
                   present: list[int], paths: dict[int, str], progress: Progress) -> list[Finding]:
    sizes = {sid: (h, w) for sid, w, h in conn.execute("SELECT id, width, height FROM samples")}

    def read(sid: int) -> tuple[int, np.ndarray | None, str | None]:
        try:
            return sid, images.read_mask(masks_dir / files[sid]), None
        except GradiaError as exc:
            return sid, None, str(exc)

    unreadable, wrong_size, recount = [], [], []
    for sid, mask, error in ordered_map(read, present, progress, "checking masks"):
        where = f"masks/{files[sid]} ({paths.get(sid, f'sample {sid}')})"
        if error is not None:
            if (masks_dir / files[sid]).exists():  # else a writer replaced it while we read
                unreadable.append(f"{where}: {error}")
        elif sizes.get(sid) is not None and mask.shape != sizes[sid]:
            wrong_size.append(f"{where} is {mask.shape[1]}x{mask.shape[0]}, its image "
                              f"{sizes[sid][1]}x{sizes[sid][0]}")
        elif int(np.count_nonzero(mask)) != pixels.get(sid):
            recount.append((int(np.count_nonzero(mask)), sid))
    found = []
    if unreadable:
        found.append(Finding(f"{_count(len(unreadable), 'mask file')} that cannot be read: {_some(unreadable, 3)}"))
    if wrong_size:
        found.append(Finding(f"{_count(len(wrong_size), 'mask')} whose size differs from the image "
                             f"(the app offers to fit them when shown): {_some(wrong_size, 3)}"))
    if recount:
        names = [paths.get(sid, f"sample {sid}") for _, sid in recount]

        def repair() -> str:
            _run_many(conn, "UPDATE masks SET pixels = ? WHERE sample_id = ?", recount)
            return f"recounted the pixels of {_count(len(recount), 'mask')} ({_some(names)})"
        found.append(Finding(f"{_count(len(recount), 'mask')} whose recorded pixel count differs from its file: "
                             f"{_some(names)}", repair))
    return found


# ---- runs and model folders -------------------------------------------------------------------
def model_findings(conn: sqlite3.Connection, root: Path, idle: bool) -> list[Finding]:
    found = []
    versions = {vid: (status, note or "", ckpt) for vid, status, note, ckpt in
                conn.execute("SELECT id, status, note, checkpoint FROM versions")}
    stuck = running_versions(conn) if idle else []
    for vid in stuck:
        def repair(vid: int = vid) -> str:
            removed = fail_interrupted_runs(conn, root, [vid])
            return f"v{vid}: marked failed ({INTERRUPTED_NOTE})" + (f", removed {removed[0]}" if removed else "")
        found.append(Finding(f"v{vid}: still marked running, but no process is running it", repair))
    for vid, (status, _note, ckpt) in sorted(versions.items()):
        if status == "done" and (not ckpt or not (root / ckpt).is_file()):
            found.append(Finding(f"v{vid}: its checkpoint {ckpt or '(none recorded)'} is missing"))
    models = root / "models"
    folders = sorted((int(m.group(1)), p) for p in (models.iterdir() if models.is_dir() else [])
                     if p.is_dir() and (m := _VERSION_DIR.fullmatch(p.name)))
    for vid, folder in folders:
        status, note, _ckpt = versions.get(vid, ("unknown", "", None))
        if vid in stuck or status == "running":
            continue
        kept_on_purpose = status == "failed" and f"models/v{vid}/" in note  # the trainer keeps a last good epoch
        if status == "done" or kept_on_purpose:
            temps = [p.name for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name]
            if temps and idle:
                found.append(Finding(f"models/v{vid}: {_count(len(temps), 'temp file')} of an interrupted write",
                                     _remover(folder, temps, "temp file")))
            continue
        what = "a version the database does not know" if status == "unknown" else f"a {status} run"
        found.append(Finding(f"models/v{vid}: left by {what}", _folder_remover(folder, what)))
    return found


def _folder_remover(folder: Path, what: str) -> Callable[[], str]:
    def repair() -> str:
        shutil.rmtree(folder)
        return f"removed {folder.parent.name}/{folder.name} (left by {what})"
    return repair
