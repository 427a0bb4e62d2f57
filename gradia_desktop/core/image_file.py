"""Opening image and mask files safely: regular files only, of bounded size, never a hang.

A path is opened once, without blocking (a named pipe opened for reading would otherwise wait for
a writer forever), and the open descriptor is checked, not the path: a pipe or device swapped in
after a look at the path is refused all the same.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import GradiaError

MAX_BYTES_ENV = "GRADIA_MAX_IMAGE_BYTES"
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: far above any image within the pixel limit, compressed or not

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def positive_int_setting(name: str, default: int) -> int:
    """An environment variable holding a positive whole number (``_`` and ``,`` allowed as separators)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise GradiaError(f"{name}={text!r}: not a positive whole number")
    return value


def max_file_bytes() -> int:
    """The largest image or mask file read, in bytes: ``GRADIA_MAX_IMAGE_BYTES``, 1 GiB by default."""
    return positive_int_setting(MAX_BYTES_ENV, DEFAULT_MAX_BYTES)


def _open_error(path: Path, exc: OSError) -> GradiaError:
    reason = {errno.ENOENT: "file not found", errno.ELOOP: "symbolic link loop, not a file",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EISDIR: "a folder, not an image file", errno.ENXIO: "not a regular file"}.get(exc.errno)
    return GradiaError(f"{path}: {reason or f'cannot read ({exc.strerror or exc})'}")


@contextlib.contextmanager
def open_regular(path: str | os.PathLike) -> Iterator[tuple[BinaryIO, int]]:
    """``(file, size)`` for a regular, non-empty file within the size limit; GradiaError otherwise."""
    path = Path(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise GradiaError(f"{path}: {kind}, not an image file")
        if info.st_size == 0:
            raise GradiaError(f"{path}: empty file, not an image")
        limit = max_file_bytes()
        if info.st_size > limit:
            raise GradiaError(f"{path}: {info.st_size:,} bytes is above the limit of {limit:,} bytes for an "
                              f"image file (set {MAX_BYTES_ENV} to allow it)")
        file = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with file:
        yield file, info.st_size


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """The whole content of a regular image file (see open_regular for what is refused)."""
    with open_regular(path) as (file, size):
        try:
            data = file.read(size)
        except OSError as exc:
            raise _open_error(Path(path), exc) from None
    if not data:
        raise GradiaError(f"{path}: empty file, not an image")
    return data
