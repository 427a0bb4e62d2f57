"""Batches of a split's images, in an order the caller chose, read ahead while the caller works.

The caller decides the order (from the run's seeded generator), so a streamed run draws exactly the
batches an in-memory run draws; the readers only read. Images held in memory are indexed directly.

Rows of the pixel cache need no decoding, so a batch read is a few positioned reads (which release
the GIL). By default threads of the training process read ahead: no copy between processes, no
extra process of torch's size. In `gradia bench --data --repeats 3` on 2 cores the input pipeline
ran at 723 images/s over 2,000 cached images at 224 px read by threads, against 396 with one
DataLoader worker process, whose every batch crosses into the trainer through shared memory (675
against 687 over 50,000); the worker also added about 620 MB. ``workers`` > 0 asks for DataLoader
worker processes instead, for storage where reads are slow enough to need more in flight.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .row_file import RowImages

PREFETCH_BATCHES = 4  # per worker process
READ_AHEAD_BATCHES = 4  # by the reader threads
READER_THREADS = 2 if hasattr(os, "preadv") else 1  # without positioned reads a shared descriptor has one reader
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
TRIM_AT_BYTES = 64 << 20  # free heap above this is given back after a streamed batch
MIN_BATCHES_FOR_WORKERS = 8  # below this, starting the workers costs more than they save


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    if hasattr(libc, "mallinfo2"):  # glibc 2.33 and later
        libc.mallinfo2.restype = _MallInfo2
    return libc


_LIBC = _glibc()
_CAN_TRIM = _LIBC is not None and hasattr(_LIBC, "mallinfo2") and hasattr(_LIBC, "malloc_trim")


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
    if _LIBC is not None:
        try:
            _LIBC.mallopt(M_MMAP_THRESHOLD, 1 << 20)
        except AttributeError:  # not glibc: its allocator does not behave this way
            pass


def return_free_memory() -> None:
    """Give the heap's free pages back to the OS once more than TRIM_AT_BYTES of it lie free (glibc;
    a no-op elsewhere). Called after each streamed batch.

    Each batch allocates and frees a few buffers of its size (the read batch, its counterfactual and
    flipped copies); glibc keeps what was freed, and in some runs its heap fragmented and grew for as
    long as the epoch went on: a streamed epoch of 20,000 images at 224 px peaked at 0.79-1.32 GB
    (against 0.72 GB for 2,000), and 0.79-0.84 GB with this. Trimming after every batch instead
    cost a little more speed for no lower peak.
    """
    if _CAN_TRIM and _free_heap_bytes() > TRIM_AT_BYTES:
        _LIBC.malloc_trim(0)


def _free_heap_bytes() -> int:
    return int(_LIBC.mallinfo2().fordblks)


def read_batches(images, batches: Sequence[torch.Tensor], workers: int | None = None,
                 pin_memory: bool = False) -> Iterator[torch.Tensor]:
    """Yield ``images[batch]`` for each index tensor in ``batches``, in order.

    For cache rows (``RowImages``) the next batches are read ahead: by threads of this process, or
    with ``workers`` > 0 by that many DataLoader worker processes (started fresh with 'spawn':
    forking a process that runs Qt and torch threads is unsafe). ``pin_memory`` reads into
    page-locked memory, for non-blocking copies to a GPU.
    """
    if not isinstance(images, RowImages):
        for batch in batches:
            yield images[batch]
        return
    if not workers or len(batches) < MIN_BATCHES_FOR_WORKERS:  # None or 0: threads (see the module's text)
        reads = _read_ahead(images, batches, pin_memory)
    else:
        reads = _read_in_workers(images, batches, workers, pin_memory)
    try:
        for batch in reads:
            yield batch
            return_free_memory()  # the caller is done with the batch it was given
    finally:
        reads.close()


def _read_ahead(images: RowImages, batches: Sequence[torch.Tensor], pin_memory: bool) -> Iterator[torch.Tensor]:
    images.open()  # one descriptor, opened before the threads share it
    pool = ThreadPoolExecutor(max_workers=READER_THREADS, thread_name_prefix="gradia-rows")
    pending: list[Future] = []
    try:
        for k in range(len(batches)):
            while len(pending) < READ_AHEAD_BATCHES and k + len(pending) < len(batches):
                pending.append(pool.submit(images.read, batches[k + len(pending)], pin_memory))
            yield pending.pop(0).result()
    finally:  # a caller that stops early (a cancelled epoch) drops the reads not yet started
        pool.shutdown(wait=True, cancel_futures=True)


def _read_in_workers(images: RowImages, batches: Sequence[torch.Tensor], workers: int,
                     pin_memory: bool) -> Iterator[torch.Tensor]:
    # plain arrays, not tensors: each index tensor would travel to the workers as shared memory of its own
    plain = [np.asarray(batch, dtype=np.int64) for batch in batches]
    loader = DataLoader(_BatchReads(images, plain), batch_size=None, shuffle=False,
                        num_workers=min(workers, len(batches)), multiprocessing_context="spawn",
                        prefetch_factor=PREFETCH_BATCHES, pin_memory=pin_memory, worker_init_fn=_start_worker)
    yield from loader


def in_order(count: int, batch_size: int) -> list[torch.Tensor]:
    """Consecutive positions 0..count-1 in batches of ``batch_size``."""
    return [torch.arange(start, min(count, start + batch_size)) for start in range(0, count, batch_size)]
