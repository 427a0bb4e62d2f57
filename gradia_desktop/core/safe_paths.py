"""Relative paths read from files the user hands us (COCO file names, mask folders), checked.

A name may never leave the folder it is relative to: no absolute paths, no drive letters, no
``..`` parts. Backslashes count as separators, so a Windows-made file is read the same way.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


def clean_relative(name: object) -> str:
    """``name`` as a normalised '/'-separated relative path; ValueError saying why it is refused."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("empty or not a string")
    if "\x00" in name:
        raise ValueError("contains a NUL character")
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) >= 2 and text[1] == ":"):
        raise ValueError("absolute path (must be relative to the images folder)")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError("'..' in the path (it would leave the folder)")
    if not parts:
        raise ValueError("empty path")
    return PurePosixPath(*parts).as_posix()


def inside(root: Path, rel: str) -> Path:
    """``root / rel`` after checking (textually and through links) that it stays under ``root``."""
    rel = clean_relative(rel)
    path = root / rel
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if real != real_root and real_root not in real.parents:
        raise ValueError(f"resolves outside {root}")
    return path
