"""Crash-safe file writes: temp file in the same folder, fsync, rename.

Temp files and staging folders carry their owner in their name, ``.<name>.<pid>@<host>.<random>``
then ``.tmp<suffix>`` or ``.partial``, so that a later run can tell what a killed process left
(same host, pid gone) from the work of a live one and remove it (``remove_stale_temp_files``).
The file or folder put in place gets the mode a plain open or mkdir would have given it
(0o666 / 0o777 less the umask, or the mode of what it replaces): mkstemp and mkdtemp make
0600 / 0700.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

from .parallel import default_workers

_NAME_KEPT = 100  # of the destination's name, in a temp name (a file name has at most 255 bytes)
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
_umask_lock = threading.Lock()
_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)@(?P<host>[A-Za-z0-9-]+)\.[a-z0-9_]+"
                       r"(?:(?P<partial>\.partial)|\.tmp.*)", re.DOTALL)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        _fsync_file(folder)


# ---- modes ------------------------------------------------------------------------------------
def current_umask() -> int:
    """The process's umask, read without changing it where Linux's /proc tells it."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _umask_by_setting()


@functools.lru_cache(maxsize=1)
def _umask_by_setting() -> int:
    """Elsewhere: set it and set it back, once, under a lock (two threads doing this at the same time
    could leave the temporary value behind). A file another thread makes meanwhile gets 0o077."""
    with _umask_lock:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _mode_for(path: Path, fresh: int) -> int:
    """The mode of what ``path`` holds now, or ``fresh`` less the umask for a new one."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return fresh & ~current_umask()


# ---- owners and leftovers ------------------------------------------------------------------------
def _temp_prefix(name: str) -> str:
    return f".{name[:_NAME_KEPT]}.{os.getpid()}@{_HOST}."


def _owner_gone(pid: int, host: str) -> bool:
    """True only when the owner certainly ended: it ran on this host and its pid is not alive."""
    if host != _HOST or pid == os.getpid() or os.name == "nt":  # Windows' os.kill would end the process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def remove_stale_temp_files(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove the temp files and staging folders directly in ``folder`` whose owner process has ended.

    Only names made by this module are touched, and only when their owner ran on this host and its
    pid is gone; ``name`` limits it to the leftovers of that one destination. Returns what it removed.
    """
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry)
        if (match is None or (name is not None and match["name"] != name[:_NAME_KEPT])
                or not _owner_gone(int(match["pid"]), match["host"])):
            continue
        path = Path(folder, entry)
        if match["partial"] and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        if not os.path.lexists(path):
            removed.append(path)
    return removed


# ---- files and folders ---------------------------------------------------------------------------
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
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        _flush_with_mode(tmp_path, _mode_for(path, 0o666))
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
    _fsync_dir(path.parent)


def _flush_with_mode(path: Path, mode: int) -> None:
    if os.name == "nt":  # no POSIX modes there, and fsync needs a handle open for writing
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
        return
    fd = os.open(path, os.O_RDONLY)  # not for writing: the mode it is given may be read-only
    try:
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_directory(final: str | os.PathLike) -> Iterator[Path]:
    """Build a folder under a temporary name next to ``final``; rename it into place on success.

    On any exception the staging folder is removed, so nothing that looks complete is left; a
    process killed outright leaves it, and the next staging of the same ``final`` removes it.
    Files inside are written without their own fsync; the whole tree is flushed (``fsync_tree``)
    once, just before the rename, so a crash can never leave a complete-looking folder of
    unwritten files.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(final.parent, final.name)
    stage = Path(tempfile.mkdtemp(prefix=_temp_prefix(final.name), suffix=".partial", dir=final.parent))
    try:
        yield stage
        fsync_tree(stage)
        os.chmod(stage, _mode_for(final, 0o777))
        _fsync_dir(stage)
        if final.exists():
            if any(final.iterdir()):
                raise FileExistsError(f"{final}: already exists and is not empty")
            final.rmdir()
        os.replace(stage, final)
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
