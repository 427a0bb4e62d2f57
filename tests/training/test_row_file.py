"""training/row_file.py: cache rows read back like the uint8 tensor they stand in for."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from gradia_desktop.training.row_file import GrowingRows, RowImages, write_rows


@pytest.fixture
def stored(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (6, 5, 4, 3), dtype=np.uint8)
    path = tmp_path / "rows.u8"
    write_rows(path, images[:3])
    write_rows(path, images[3:], start_row=3)
    order = np.array([5, 0, 3, 1, 4, 2])  # positions map to rows in any order
    expected = torch.from_numpy(images[order]).permute(0, 3, 1, 2)
    return RowImages(path, 5, 4, 3, order), expected


def test_every_kind_of_index_reads_what_a_tensor_would_give(stored):
    rows, expected = stored
    assert rows.shape == tuple(expected.shape) == (6, 3, 5, 4) and len(rows) == 6
    assert torch.equal(rows[2], expected[2]) and torch.equal(rows[-1], expected[-1])
    assert torch.equal(rows[torch.tensor(4)], expected[4])
    assert torch.equal(rows[1:5], expected[1:5])
    assert torch.equal(rows[torch.tensor([4, 0, 4])], expected[torch.tensor([4, 0, 4])])
    mask = torch.tensor([True, False, True, False, False, True])
    assert torch.equal(rows[mask], expected[mask])
    assert torch.equal(rows.subset([3, 1])[:], expected[[3, 1]])
    with pytest.raises(IndexError):
        rows[6]


def test_a_pickled_copy_opens_its_own_file(stored):
    rows, expected = stored
    rows[0]  # opens a descriptor here; the copy must not carry it
    copy = pickle.loads(pickle.dumps(rows))
    assert copy._fd is None and torch.equal(copy[:], expected)


def test_a_file_cut_short_names_the_file(stored):
    rows, _ = stored
    with open(rows.path, "r+b") as f:
        f.truncate(rows.row_bytes * 4)
    with pytest.raises(OSError, match="rows.u8: row 5 is cut short"):
        rows[0]


@pytest.mark.parametrize("in_file", [False, True])
def test_growing_rows_in_memory_and_in_a_file_agree(tmp_path, in_file):
    rng = np.random.default_rng(1)
    first, second = (rng.integers(0, 256, (k, 4, 4, 1), dtype=np.uint8) for k in (3, 2))
    rows = GrowingRows(4, 4, 1, tmp_path / "scratch" / "keep.u8" if in_file else None)
    assert len(rows) == 0
    rows.append(first)
    rows.append(second)
    both = torch.from_numpy(np.concatenate([first, second])).permute(0, 3, 1, 2)
    assert len(rows) == 5 and torch.equal(rows[:], both) and torch.equal(rows[3], both[3])
    rows.discard()
    assert not (tmp_path / "scratch" / "keep.u8").exists()
