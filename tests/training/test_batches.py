"""training/batches.py: worker processes read a streamed split's batches in the order asked for."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import torch

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
