"""Batches of a split's images, in an order the caller chose, read ahead by DataLoader worker processes.

The caller decides the order (from the run's seeded generator), so a streamed run draws exactly the
batches an in-memory run draws; the workers only read. Images held in memory are indexed directly:
worker processes would only copy what is already there.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .row_file import RowImages

PREFETCH_BATCHES = 4  # per worker
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MIN_BATCHES_FOR_WORKERS = 8  # below this, starting the workers costs more than they save


class _BatchReads(Dataset):
    def __init__(self, images: RowImages, batches: Sequence[torch.Tensor]):
        self.images, self.batches = images, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, b: int) -> torch.Tensor:
        return self.images[self.batches[b]]


def _start_worker(_worker_id: int) -> None:
    """In each reader process: batch-sized allocations straight from (and back to) the OS.

    glibc otherwise raises its mmap threshold after the first batch is freed and serves later batches
    from a heap that fragments as they are handed over to the trainer: a reader grew for as long as it
    read (peak 760 MB after 1,200 images of 224 px, 1,216 MB after 4,800); with the threshold fixed it
    levels off (about 640 MB for either, most of it torch itself).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
        except (OSError, AttributeError):  # not glibc: its allocator does not behave this way
            pass


def default_workers() -> int:
    """Reader processes for a streamed split: enough to keep decoding-free reads ahead of a step."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def read_batches(images, batches: Sequence[torch.Tensor], workers: int | None = None,
                 pin_memory: bool = False) -> Iterator[torch.Tensor]:
    """Yield ``images[batch]`` for each index tensor in ``batches``, in order.

    For cache rows (``RowImages``) with ``workers`` > 0, that many worker processes read ahead
    (started fresh with 'spawn': forking a process that runs Qt and torch threads is unsafe).
    """
    if not isinstance(images, RowImages) or workers == 0 or len(batches) < MIN_BATCHES_FOR_WORKERS:
        for batch in batches:
            yield images[batch]
        return
    workers = default_workers() if workers is None else workers
    # plain arrays, not tensors: each index tensor would travel to the workers as shared memory of its own
    plain = [np.asarray(batch, dtype=np.int64) for batch in batches]
    loader = DataLoader(_BatchReads(images, plain), batch_size=None, shuffle=False,
                        num_workers=min(workers, len(batches)), multiprocessing_context="spawn",
                        prefetch_factor=PREFETCH_BATCHES, pin_memory=pin_memory, worker_init_fn=_start_worker)
    yield from loader


def in_order(count: int, batch_size: int) -> list[torch.Tensor]:
    """Consecutive positions 0..count-1 in batches of ``batch_size``."""
    return [torch.arange(start, min(count, start + batch_size)) for start in range(0, count, batch_size)]
