"""training/batches.py: threads or worker processes read a streamed split's batches in the order asked for."""

from __future__ import annotations

import multiprocessing
import threading
import time

import numpy as np
import pytest
import torch

from gradia_desktop.training import batches
from gradia_desktop.training.batches import in_order, read_batches
from gradia_desktop.training.row_file import RowImages, write_rows


def test_workers_yield_the_batches_asked_for_in_order(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (40, 6, 6, 3), dtype=np.uint8)
    write_rows(tmp_path / "rows.u8", images)
    rows = RowImages(tmp_path / "rows.u8", 6, 6, 3, np.arange(40))
    order = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    batches = list(order.split(4))
    read = list(read_batches(rows, batches, workers=2))
    assert len(read) == 10
    for batch, got in zip(batches, read):
        assert torch.equal(got, rows[batch])


def test_stopping_early_ends_the_workers(tmp_path):
    write_rows(tmp_path / "rows.u8", np.zeros((40, 2, 2, 3), np.uint8))
    rows = RowImages(tmp_path / "rows.u8", 2, 2, 3, np.arange(40))
    reads = read_batches(rows, in_order(40, 4), workers=2)
    next(reads)
    assert len(multiprocessing.active_children()) == 2
    reads.close()  # what a cancelled epoch does
    deadline = time.monotonic() + 30
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


def test_tensors_in_memory_are_indexed_without_workers():
    images = torch.arange(10 * 3 * 2 * 2, dtype=torch.int32).view(10, 3, 2, 2).to(torch.uint8)
    assert [b.shape[0] for b in in_order(10, 4)] == [4, 4, 2]
    read = list(read_batches(images, in_order(10, 4), workers=4))
    assert torch.equal(torch.cat(read), images)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


@pytest.mark.skipif(batches._LIBC is None or not hasattr(batches._LIBC, "mallinfo2"), reason="glibc only")
def test_free_heap_beyond_the_limit_goes_back_to_the_os():
    chunks = [bytearray(100_000) for _ in range(1500)]  # below the mmap threshold: on the heap
    for chunk in chunks:
        chunk[::4096] = b"x" * len(chunk[::4096])  # touched, so resident
    before = _rss_mb()
    del chunks[:-1]  # the last one keeps the heap's top in use: only a trim inside it gives pages back
    assert batches._free_heap_bytes() > batches.TRIM_AT_BYTES
    batches.return_free_memory()
    assert before - _rss_mb() > 100 and batches._free_heap_bytes() > 0


def test_threads_read_ahead_the_batches_asked_for_in_order_and_stop_with_the_caller(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (40, 6, 6, 3), dtype=np.uint8)
    write_rows(tmp_path / "rows.u8", images)
    rows = RowImages(tmp_path / "rows.u8", 6, 6, 3, np.arange(40))
    batches = list(torch.randperm(40, generator=torch.Generator().manual_seed(1)).split(3))
    read = list(read_batches(rows, batches, workers=0))
    assert len(read) == len(batches) and multiprocessing.active_children() == []
    for batch, got in zip(batches, read):
        assert torch.equal(got, rows[batch])
    reads = read_batches(rows, batches, workers=0)
    next(reads)
    assert any(t.name.startswith("gradia-rows") for t in threading.enumerate())
    reads.close()  # what a cancelled epoch does
    assert not any(t.name.startswith("gradia-rows") for t in threading.enumerate())
