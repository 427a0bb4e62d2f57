"""Crash-safe file writes: temp file in the same folder, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

from .parallel import default_workers


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        _fsync_file(folder)


def fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` to disk: files first, then their folders.

    Thousands of small files (an export) are flushed on a thread pool: fsync releases the GIL, and
    the disk can take several at once.
    """
    files, folders = [], [root]
    for folder, dirnames, filenames in os.walk(root):
        files.extend(Path(folder, name) for name in filenames)
        folders.extend(Path(folder, name) for name in dirnames)
    with ThreadPoolExecutor(max_workers=default_workers()) as pool:
        list(pool.map(_fsync_file, files))
    for folder in reversed(folders):
        _fsync_dir(folder)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` in one rename.

    A crash at any point leaves either the old file or the new one, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_directory(final: str | os.PathLike) -> Iterator[Path]:
    """Build a folder under a temporary name next to ``final``; rename it into place on success.

    On any exception the staging folder is removed, so nothing that looks complete is left.
    Files inside are written without their own fsync; the whole tree is flushed (``fsync_tree``)
    once, just before the rename, so a crash can never leave a complete-looking folder of
    unwritten files.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield stage
        fsync_tree(stage)
        if final.exists():
            if any(final.iterdir()):
                raise FileExistsError(f"{final}: already exists and is not empty")
            final.rmdir()
        os.replace(stage, final)
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
