"""The GRADIA loss and its mask preprocessing against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gradia_desktop.training.config import DEFAULT_WEIGHTS
from gradia_desktop.training.loss import gradia_loss, mask_to_grid, outside_evidence

# cv2.GaussianBlur with ksize 3 and sigma 0 uses the fixed kernel [1/4, 1/2, 1/4]; after dividing
# by the peak, a single hot cell becomes 1 in the centre, 1/2 beside it and 1/4 on the diagonals.
SPOT = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], np.float32)


def test_mask_to_grid_area_downsample_blur_and_peak_normalise():
    mask = np.zeros((10, 10), bool)
    mask[4:6, 4:6] = True  # exactly grid cell (2, 2) of a 5x5 grid
    grid = mask_to_grid(mask, (5, 5))
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 1:4] = SPOT
    np.testing.assert_allclose(grid, expected, atol=1e-6)


def test_mask_to_grid_partial_cover_is_area_weighted_before_normalising():
    mask = np.zeros((10, 10), bool)
    mask[4, 4:6] = True  # half of cell (2, 2)
    mask[0:2, 8:10] = True  # all of cell (0, 4)
    grid = mask_to_grid(mask, (5, 5))
    # Before normalising: cell (2,2) = 0.5 * 1/4 = 0.125 at the centre; cell (0,4) on the border,
    # where BORDER_REFLECT_101 keeps the kernel's mass inside: 1/2 * 1/2 = 0.25 (the peak).
    assert grid.max() == pytest.approx(1.0)
    assert grid[0, 4] == pytest.approx(1.0)
    assert grid[2, 2] == pytest.approx(0.125 / 0.25)
    assert grid[0, 3] == pytest.approx(0.5)  # 1/4 (one column over) * 1/2 (border row) / 0.25
    assert grid[4, 0] == 0


def test_mask_to_grid_of_empty_mask_is_zero():
    assert not mask_to_grid(np.zeros((8, 8), bool), (4, 4)).any()


def _ce(logits, y):
    return math.log(sum(math.exp(v) for v in logits)) - logits[y]


def test_gradia_loss_matches_hand_computation():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 0])
    cam = torch.tensor([[[0.0, 2.0], [4.0, 4.0]], [[1.0, 1.0], [1.0, 3.0]]])
    grid = torch.tensor([[[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 0.0]]])
    w_pred, w_att = torch.tensor([1.0, 0.4]), torch.tensor([1.0, 1.6])
    parts = gradia_loss(logits, y, cam, grid, w_pred, w_att, lam=2.0)
    ce = (1.0 * _ce([2, 0], 0) + 0.4 * _ce([0, 1], 0)) / 2
    # minmax(cam0) = [[0, .5], [1, 1]] -> |diff| mean = 0.5 / 4; minmax(cam1) = [[0, 0], [0, 1]] -> 2 / 4
    att = (1.0 * 0.125 + 1.6 * 0.5) / 2
    assert float(parts.ce) == pytest.approx(ce, rel=1e-6)
    assert float(parts.attention) == pytest.approx(att, rel=1e-5)
    assert float(parts.total) == pytest.approx(ce + 2.0 * att, rel=1e-5)
    assert parts.n_attention == 2


def test_attention_mean_runs_over_the_attention_set_only():
    logits = torch.zeros(3, 2)
    y = torch.tensor([0, 1, 0])
    cam = torch.tensor([[[0.0, 1.0]], [[0.0, 1.0]], [[1.0, 0.0]]])
    grid = torch.tensor([[[0.0, 1.0]], [[0.0, 1.0]], [[0.0, 1.0]]])  # only sample 2 is wrong (L1 = 1)
    parts = gradia_loss(logits, y, cam, grid, torch.ones(3), torch.tensor([0.0, 0.0, 1.6]), lam=1.0)
    assert parts.n_attention == 1
    assert float(parts.attention) == pytest.approx(1.6, rel=1e-5)  # mean over A = {2}, not over all 3
    assert float(parts.ce) == pytest.approx(math.log(2), rel=1e-6)


def test_no_attention_sample_gives_plain_weighted_cross_entropy():
    logits = torch.tensor([[1.0, 0.0]])
    parts = gradia_loss(logits, torch.tensor([1]), torch.zeros(1, 2, 2), torch.zeros(1, 2, 2),
                        torch.tensor([0.5]), torch.tensor([0.0]), lam=10.0)
    assert parts.n_attention == 0 and float(parts.attention) == 0
    assert float(parts.total) == pytest.approx(0.5 * _ce([1, 0], 1), rel=1e-6)


def test_default_weight_table_is_the_papers():
    assert DEFAULT_WEIGHTS == {"UA": (0.4, 1.6), "UI": (1.0, 1.0), "RI": (0.8, 0.2), "RA": (1.0, 0.0),
                               "masked": (1.0, 1.0), "unmasked": (1.0, 0.0)}


def test_outside_evidence_sums_the_absolute_evidence_outside_the_mask_per_cell():
    evidence = torch.zeros(2, 4, 4)
    evidence[0, 0, 0], evidence[0, 3, 3], evidence[0, 1, 1] = 2.0, -2.0, 9.0  # (1, 1) lies inside the mask
    evidence[1, 2, 2] = 5.0  # inside
    grid = torch.zeros(2, 4, 4)
    grid[:, 1:3, 1:3] = 1.0
    both = torch.tensor([True, True])
    assert float(outside_evidence(evidence, grid, both)) == pytest.approx(((2 + 2) / 16 + 0) / 2)
    assert float(outside_evidence(evidence, grid, torch.tensor([False, True]))) == 0.0
    assert float(outside_evidence(evidence, grid, torch.tensor([False, False]))) == 0.0
    evidence.requires_grad_(True)
    outside_evidence(evidence, grid, both).backward()
    assert evidence.grad[0, 0, 0] > 0 and evidence.grad[0, 3, 3] < 0 and evidence.grad[0, 1, 1] == 0


def test_the_tolerance_band_erodes_and_dilates_and_keeps_a_thin_mask_whole():
    from gradia_desktop.training.loss import tolerance_band

    mask = np.zeros((32, 32), bool)
    mask[10:20, 10:20] = True
    inner, outer = tolerance_band(mask, 2)
    assert inner.sum() == 36 and inner[12:18, 12:18].all()
    assert outer[8:22, 10:20].all() and not outer[0:6].any() and (outer & mask).sum() == mask.sum()
    line = np.zeros((32, 32), bool)
    line[5, 3:30] = True
    assert np.array_equal(tolerance_band(line, 2)[0], line)  # eroded away: the mask itself is the inner part


def test_the_tolerant_term_ignores_the_band_between_eroded_and_dilated_masks():
    outer = torch.zeros(1, 4, 4)
    outer[0, 0:3, 0:3] = 1.0
    inner = torch.zeros(1, 4, 4)
    inner[0, 1, 1] = 1.0
    logits, y, w = torch.zeros(1, 2), torch.tensor([0]), torch.ones(1)
    in_band = torch.zeros(1, 4, 4)
    in_band[0, 1, 1], in_band[0, 0, 2] = 1.0, 0.5  # the object, and half attention on the rim
    assert float(gradia_loss(logits, y, in_band, outer, w, w, 1.0, inner=inner).attention) == pytest.approx(0, abs=1e-6)
    assert float(gradia_loss(logits, y, in_band, outer, w, w, 1.0).attention) > 0  # the paper's L1 does count the rim
    outside = in_band.clone()
    outside[0, 3, 3] = 1.0  # attention beyond the dilated mask
    missing = torch.zeros(1, 4, 4)
    missing[0, 0, 0] = 1.0  # attention on the rim only, none on the object
    assert float(gradia_loss(logits, y, outside, outer, w, w, 1.0, inner=inner).attention) == pytest.approx(1 / 16)
    assert float(gradia_loss(logits, y, missing, outer, w, w, 1.0, inner=inner).attention) == pytest.approx(1 / 16)
