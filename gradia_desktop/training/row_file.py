"""Fixed-size uint8 images stored as rows of one file, read back a batch at a time.

Rows are read with positioned reads straight into the batch tensor, rather than through a memory map: the pages then live in the
operating system's page cache, shared by every process that reads the file, and not in any one
process's resident memory, so a training run's memory stays flat however many images it streams.
A ``RowImages`` behaves like the uint8 tensor it stands in for where the trainer indexes images:
``rows[i]``, ``rows[start:stop]``, ``rows[index_tensor]`` and ``rows.shape``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch


class RowImages:
    """Images of ``height`` x ``width`` x ``channels`` bytes; position ``k`` is row ``rows[k]`` of the file."""

    def __init__(self, path: str | os.PathLike, height: int, width: int, channels: int, rows: np.ndarray):
        self.path = Path(path)
        self.hwc = (height, width, channels)
        self.rows = np.asarray(rows, np.int64)
        self.row_bytes = height * width * channels
        self._fd: int | None = None
        self._pid: int | None = None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        h, w, c = self.hwc
        return len(self.rows), c, h, w

    def __len__(self) -> int:
        return len(self.rows)

    def __getstate__(self) -> dict:  # worker processes open their own descriptor
        return {**self.__dict__, "_fd": None, "_pid": None}

    def open(self) -> None:
        """Open this process's descriptor now (reads open it when first needed); positioned reads
        may then share it across threads."""
        self._descriptor()

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd, self._pid = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0)), os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass

    def read(self, positions, pin_memory: bool = False) -> torch.Tensor:
        """(len(positions), C, H, W) uint8, in the order given, read straight into the tensor's memory
        (page-locked with ``pin_memory``, for non-blocking copies to a GPU)."""
        positions = np.asarray(positions, np.int64).reshape(-1)
        h, w, c = self.hwc
        out = torch.empty((len(positions), c, h, w), dtype=torch.uint8, pin_memory=pin_memory)
        target = out.numpy().reshape(len(positions), -1)
        fd, size = self._descriptor(), self.row_bytes
        for k, row in enumerate(self.rows[positions]):
            got = _read_into(fd, target[k], int(row) * size)
            if got != size:
                raise OSError(f"{self.path}: row {row} is cut short ({got} of {size} bytes)")
        return out

    def __getitem__(self, key) -> torch.Tensor:
        """(B, C, H, W) for a slice, list or index tensor; (C, H, W) for one position."""
        if isinstance(key, (int, np.integer)) or (isinstance(key, torch.Tensor) and key.dim() == 0):
            index = int(key)
            if not -len(self) <= index < len(self):
                raise IndexError(f"position {index} out of range for {len(self)} images")
            return self.read([index % len(self)])[0]
        if isinstance(key, slice):
            positions = np.arange(len(self))[key]
        elif isinstance(key, torch.Tensor) and key.dtype == torch.bool:
            positions = np.nonzero(key.numpy())[0]
        else:
            positions = np.asarray(key.tolist() if isinstance(key, torch.Tensor) else key, np.int64)
        return self.read(positions)

    def subset(self, positions) -> RowImages:
        """The same file seen through fewer positions (no bytes are copied)."""
        return RowImages(self.path, *self.hwc, self.rows[np.asarray(positions, np.int64)])


def _read_into(fd: int, buffer: np.ndarray, offset: int) -> int:
    """Fill ``buffer`` from ``offset``; the bytes read. No intermediate bytes object: a reader process
    that allocated one per image would fragment its heap and grow for as long as it reads."""
    view, done = memoryview(buffer).cast("B"), 0
    while done < len(view):
        if hasattr(os, "preadv"):
            got = os.preadv(fd, [view[done:]], offset + done)
        else:  # Windows: no positioned reads, but each process has its own descriptor and reads in turn
            os.lseek(fd, offset + done, os.SEEK_SET)
            data = os.read(fd, len(view) - done)
            got = len(data)
            view[done:done + got] = data
        if got == 0:
            break
        done += got
    return done


def write_at(fd: int, data: bytes, offset: int) -> None:
    if hasattr(os, "pwrite"):
        written = os.pwrite(fd, data, offset)
    else:  # Windows
        os.lseek(fd, offset, os.SEEK_SET)
        written = os.write(fd, data)
    if written != len(data):
        raise OSError(f"short write ({written} of {len(data)} bytes)")


def write_rows(path: str | os.PathLike, images: np.ndarray, start_row: int = 0) -> None:
    """Write (N, H, W, C) uint8 ``images`` as rows ``start_row``.. of ``path`` (created if missing).

    Rows are stored channels first, as the tensors they are read back into."""
    images = np.ascontiguousarray(np.asarray(images, np.uint8).transpose(0, 3, 1, 2))
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o644)
    try:
        row_bytes = images[0].nbytes if len(images) else 0
        for k in range(len(images)):
            write_at(fd, images[k].tobytes(), (start_row + k) * row_bytes)
    finally:
        os.close(fd)


class GrowingRows:
    """Rows appended as a run goes (counterfactual plates and kept regions), in memory or in a scratch file.

    In memory for a split held in memory; for a streamed split in ``path`` (removed by ``discard``), so
    what the bank holds does not grow the process with the number of images.
    """

    def __init__(self, height: int, width: int, channels: int, path: str | os.PathLike | None = None):
        self.hwc = (height, width, channels)
        self.path = Path(path) if path is not None else None
        self._memory = torch.zeros((0, channels, height, width), dtype=torch.uint8)
        self._file: RowImages | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"")
            self._file = RowImages(self.path, *self.hwc, np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self._file) if self._file is not None else len(self._memory)

    def append(self, images: np.ndarray) -> None:
        """Add (K, H, W, C) uint8 rows at the end."""
        images = np.asarray(images, np.uint8).reshape(-1, *self.hwc)
        if self._file is None:
            self._memory = torch.cat([self._memory, torch.from_numpy(images).permute(0, 3, 1, 2)])
            return
        start = len(self._file)
        write_rows(self.path, images, start)
        self._file = RowImages(self.path, *self.hwc, np.arange(start + len(images), dtype=np.int64))

    def __getitem__(self, key) -> torch.Tensor:
        return self._file[key] if self._file is not None else self._memory[key]

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self.path.unlink(missing_ok=True)
