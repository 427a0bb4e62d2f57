"""One writer per project: an OS lock on ``project.lock`` for as long as a writable Project is open.

The lock is ``flock`` (``msvcrt.locking`` on Windows), so the kernel drops it when the holder's
process ends: a crash never leaves a stale lock. The file's text (pid, host, time) only feeds the
message another writer gets. Within one process the lock is re-entrant (the GUI's training worker
opens the project again while the window holds it): a registry counts the holders per folder.

A holder may invite a child process to write too (``invite``): the app does so for a distributed
training run it starts, whose first process stores the new version while the expert goes on
annotating in the window. The invitation travels in the child's environment (INVITATION_ENV) and is
written into the lock file; a guest takes no lock of its own and counts on its host's.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GradiaError

_NO_LOCKING = {errno.ENOLCK, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    _LOCK_OFFSET = 1 << 20  # lock a byte past the text, so other processes can still read it

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno in _NO_LOCKING:  # a file system without locks (some network shares): go unguarded
                return True
            raise
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

LOCK_NAME = "project.lock"
INVITATION_ENV = "GRADIA_PROJECT_INVITATION"


@dataclass(frozen=True)
class Holder:
    pid: int | None
    host: str
    since: str
    invitations: tuple[str, ...] = ()


class ProjectInUse(GradiaError):
    """Another process has the project open for writing."""

    def __init__(self, root: Path, holder: Holder):
        self.root, self.pid, self.host, self.since = root, holder.pid, holder.host, holder.since
        super().__init__(f"{root}: in use by PID {holder.pid or '?'} on {holder.host} (since {holder.since}); "
                         "open it read-only or close the other window")


@dataclass
class _Held:
    fd: int | None  # None: a guest of another process's lock
    count: int
    since: str = ""
    invitations: set[str] = field(default_factory=set)


_held: dict[Path, _Held] = {}
_registry_lock = threading.Lock()


def _forget_inherited_locks() -> None:
    """A forked child shares its parent's lock file descriptions; it must neither count as their holder
    nor unlock them (that would unlock the parent's). Closing its copies leaves the parent's lock held."""
    global _registry_lock
    _registry_lock = threading.Lock()  # the parent's may have been taken by another thread at the fork
    for held in _held.values():
        if held.fd is None:
            continue
        try:
            os.close(held.fd)
        except OSError:
            pass
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_locks)


def acquire(root: Path) -> bool:
    """Take the project's lock, or join this process's hold on it.

    Returns True when this call took it (no Project of this process had it open for writing, and this
    process is not the invited guest of the process that holds it). Raises ProjectInUse when another
    process holds it, OSError when the lock file cannot be made.
    """
    with _registry_lock:
        held = _held.get(root)
        if held is not None:
            held.count += 1
            return False
        fd = _take(root / LOCK_NAME, root)
        _held[root] = _Held(fd, 1, time.strftime("%Y-%m-%d %H:%M:%S"))
        return fd is not None


def invite(root: Path) -> str:
    """A pass that lets a child process write to this project while this process holds it: set it as
    INVITATION_ENV in the child's environment; ``revoke`` it when the child has ended."""
    token = secrets.token_hex(16)
    with _registry_lock:
        held = _held.get(root)
        if held is None or held.fd is None:
            raise GradiaError(f"{root}: only the process holding the project for writing can invite another")
        held.invitations.add(token)
        _write_holder(held.fd, held.since, held.invitations)
    return token


def revoke(root: Path, token: str) -> None:
    with _registry_lock:
        held = _held.get(root)
        if held is not None and held.fd is not None and token in held.invitations:
            held.invitations.discard(token)
            _write_holder(held.fd, held.since, held.invitations)


def release(root: Path) -> None:
    with _registry_lock:
        held = _held.get(root)
        if held is None:
            return
        held.count -= 1
        if held.count:
            return
        del _held[root]
        if held.fd is None:  # a guest: the lock is its host's
            return
        try:  # unlink while still holding it: see _take for how a waiting opener copes
            (root / LOCK_NAME).unlink(missing_ok=True)
        except OSError:
            pass  # Windows cannot remove an open file; it stays, unlocked
        try:
            _unlock(held.fd)
        except OSError:
            pass  # closing the file below releases it anyway
        finally:
            os.close(held.fd)


def held_here(root: Path) -> bool:
    """Whether this process holds the project's lock."""
    return hold_count(root) > 0


def hold_count(root: Path) -> int:
    """How many writable opens of this process share the project's lock now."""
    with _registry_lock:
        held = _held.get(root)
        return held.count if held else 0


def holder(root: Path) -> Holder | None:
    """Who holds the project's lock now (this process included), without taking it; None when nobody."""
    if held_here(root):
        return _this_holder()
    try:
        fd = os.open(root / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None  # no lock file: nobody holds it
    try:
        if _try_lock(fd):
            _unlock(fd)
            return None
        return _read_holder(fd)
    except OSError:
        return None  # cannot tell: treat as free, as a file system without locks would
    finally:
        os.close(fd)


def _take(path: Path, root: Path) -> int | None:
    """The locked file's descriptor; None when another process holds it and invited this one."""
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd):
                holder = _read_holder(fd)
                if os.environ.get(INVITATION_ENV) in holder.invitations:
                    os.close(fd)
                    return None
                raise ProjectInUse(root, holder)
            # A holder that was releasing may have unlinked the file we opened: then our lock guards
            # nothing and a newcomer would lock a fresh file. Only the file the name points to counts.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                _write_holder(fd, time.strftime("%Y-%m-%d %H:%M:%S"), ())
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    raise OSError(f"{path}: the lock file keeps changing")


def _this_holder() -> Holder:
    return Holder(os.getpid(), socket.gethostname(), "")


def _write_holder(fd: int, since: str, invitations) -> None:
    text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since,
                       "invitations": sorted(invitations)}).encode()
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, text)


def _read_holder(fd: int) -> Holder:
    for attempt in range(5):  # the holder writes its text just after locking
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 4096)
        try:
            info = json.loads(data)
            return Holder(int(info["pid"]), str(info["host"]), str(info["since"]),
                          tuple(str(t) for t in info.get("invitations", ())))
        except (ValueError, KeyError, TypeError):
            time.sleep(0.02 * (attempt + 1))
    return Holder(None, "an unknown host", "an unknown time")
