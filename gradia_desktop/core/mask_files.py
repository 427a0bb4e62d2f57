"""Mask file names in a project's masks/ folder, and what counts as a leftover there.

Each mask row names its file (table ``mask_files``; without an entry it is ``<sample_id>.png``, the
name ``init`` and schema version 1 use). A write never overwrites the file a row names: it writes
``<sample_id>-<generation>.png`` (atomically), switches the row to it in one commit, then deletes
the old file. Whenever a process stops, the row names a complete file; what can be left over is a
file no row names (an orphan) or atomic_write's temp file, both removed by reconciliation.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

MASKS_DIR = "masks"

# Every mask row with its file name; a version 1 database gets an empty TEMP mask_files table.
_FROM = "FROM masks m LEFT JOIN mask_files f ON f.sample_id = m.sample_id"
_FILE = "COALESCE(f.file, m.sample_id || '.png')"
ROWS_SQL = f"SELECT m.sample_id, {_FILE} {_FROM}"
ONE_SQL = ROWS_SQL + " WHERE m.sample_id = ?"
ROWS_WITH_PIXELS_SQL = f"SELECT m.sample_id, m.pixels, {_FILE} {_FROM}"

_MASK_NAME = re.compile(r"(\d+)(?:-(\d+))?\.png")
_TEMP_NAME = re.compile(r"\..+\.tmp\.png")  # core/atomic.py: .<name>.<random>.tmp.png


def legacy_name(sample_id: int) -> str:
    return f"{sample_id}.png"


def next_name(sample_id: int, current: str | None) -> str:
    """A name for the sample's next mask file that differs from ``current`` (its file now, if any)."""
    match = _MASK_NAME.fullmatch(current or "")
    generation = int(match.group(2) or 0) if match else 0
    return f"{sample_id}-{generation + 1}.png"


def is_temp_name(name: str) -> bool:
    return bool(_TEMP_NAME.fullmatch(name))


def is_mask_name(name: str) -> bool:
    return bool(_MASK_NAME.fullmatch(name))


@dataclass
class MaskFolderScan:
    """masks/ compared with the rows: ``files`` maps sample id -> the file its row names."""

    missing: list[int] = field(default_factory=list)  # rows whose file is not there
    orphans: list[str] = field(default_factory=list)  # mask-named files no row names
    temps: list[str] = field(default_factory=list)  # temp files of interrupted writes


def scan(masks_dir: Path, files: dict[int, str]) -> MaskFolderScan:
    try:
        present = {entry.name for entry in os.scandir(masks_dir) if entry.is_file(follow_symlinks=False)}
    except FileNotFoundError:
        present = set()
    referenced = set(files.values())
    return MaskFolderScan(
        missing=sorted(sid for sid, name in files.items() if name not in present),
        orphans=sorted(n for n in present if n not in referenced and is_mask_name(n)),
        temps=sorted(n for n in present if is_temp_name(n)))


def remove(masks_dir: Path, names: list[str]) -> list[str]:
    """Delete ``names`` from masks/; returns those that are gone now."""
    gone = []
    for name in names:
        try:
            (masks_dir / name).unlink(missing_ok=True)
        except OSError:
            continue
        gone.append(name)
    return gone
