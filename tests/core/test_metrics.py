"""core/metrics.py: IoU / energy / pointing, the suggestion rule, quadrants, accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradia_desktop.core import metrics
from gradia_desktop.core.metrics import attention_scores, quadrant, suggest_reasonable

CAM = np.array([
    [0.9, 0.8, 0.0, 0.0],
    [0.2, 0.1, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.4],
], np.float32)


def _mask(*cells, shape=(4, 4)):
    m = np.zeros(shape, bool)
    for y, x in cells:
        m[y, x] = True
    return m


def test_hand_computed_scores_on_4x4():
    masks = np.stack([
        _mask((0, 0), (1, 0)),  # hot = {(0,0),(0,1)}: inter 1, union 3; energy (0.9+0.2)/2.4; peak inside
        _mask((3, 3)),  # inter 0, union 3; energy 0.4/2.4; peak outside
        _mask((0, 0), (0, 1)),  # exactly the hot region: iou 1; energy 1.7/2.4
        _mask(*[(y, x) for y in range(4) for x in range(4)]),  # everything: iou 2/16, energy 1
    ])
    cams = np.stack([CAM] * 4)
    iou, energy, pointing = attention_scores(cams, masks)
    np.testing.assert_allclose(iou, [1 / 3, 0.0, 1.0, 2 / 16], rtol=1e-6)
    np.testing.assert_allclose(energy, [1.1 / 2.4, 0.4 / 2.4, 1.7 / 2.4, 1.0], rtol=1e-5)
    assert pointing.tolist() == [True, False, True, True]
    assert iou.dtype == np.float64 and energy.dtype == np.float64 and pointing.dtype == bool


def test_iou_threshold_is_strictly_above_075():
    cam = np.zeros((1, 2, 2), np.float32)
    cam[0, 0, 0] = 0.75  # not hot
    cam[0, 0, 1] = 0.76  # hot
    mask = np.zeros((1, 2, 2), bool)
    mask[0, 0, 0] = True
    iou, _, _ = attention_scores(cam, mask)
    assert iou[0] == pytest.approx(0.0)  # inter {} / union {(0,0),(0,1)}
    mask[0, 0, 1] = True
    iou, _, _ = attention_scores(cam, mask)
    assert iou[0] == pytest.approx(0.5)
    assert metrics.IOU_THRESHOLD == 0.75


def test_all_zero_cam_gives_zero_energy_and_no_nan():
    cams = np.zeros((2, 3, 3), np.float32)
    masks = np.zeros((2, 3, 3), bool)
    masks[0, 1, 1] = True
    iou, energy, pointing = attention_scores(cams, masks)
    assert energy.tolist() == [0.0, 0.0]
    assert iou.tolist() == [0.0, 0.0]  # sample 1: empty union
    assert not np.isnan(energy).any() and not np.isnan(iou).any()
    # argmax of an all-zero map is pixel (0, 0), which lies outside both masks
    assert pointing.tolist() == [False, False]


def test_empty_union_gives_iou_zero_even_with_energy():
    cam = np.full((1, 2, 2), 0.5, np.float32)  # nothing above 0.75
    mask = np.zeros((1, 2, 2), bool)
    iou, energy, pointing = attention_scores(cam, mask)
    assert iou[0] == 0.0 and energy[0] == 0.0 and not pointing[0]


def test_negative_cam_values_do_not_count_as_energy():
    cam = np.array([[[1.0, -5.0], [-5.0, 1.0]]], np.float32)
    mask = np.array([[[True, True], [False, False]]])
    _, energy, _ = attention_scores(cam, mask)
    assert energy[0] == pytest.approx(0.5)


def test_masks_are_nonzero_not_truthy_bool_only():
    cam = np.array([[[0.1, 0.9], [0.0, 0.0]]], np.float32)
    mask_u8 = np.array([[[0, 255], [0, 0]]], np.uint8)
    mask_f = np.array([[[0.0, 0.3], [0.0, 0.0]]])
    a = attention_scores(cam, mask_u8)
    b = attention_scores(cam, mask_f)
    assert a[0][0] == pytest.approx(1.0) and a[1][0] == pytest.approx(0.9) and a[2][0]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_pointing_uses_first_peak_in_row_major_order():
    cam = np.array([[[0.0, 1.0], [1.0, 0.0]]], np.float32)
    assert attention_scores(cam, np.array([[[0, 1], [0, 0]]]))[2][0]
    assert not attention_scores(cam, np.array([[[0, 0], [1, 0]]]))[2][0]


def test_samples_are_independent_in_a_batch():
    rng = np.random.default_rng(0)
    cams = rng.random((5, 6, 7)).astype(np.float32)
    masks = rng.random((5, 6, 7)) > 0.6
    batched = attention_scores(cams, masks)
    for i in range(5):
        single = attention_scores(cams[i:i + 1], masks[i:i + 1])
        for b, s in zip(batched, single):
            assert b[i] == pytest.approx(s[0])


@pytest.mark.parametrize("cam_shape,mask_shape", [((2, 4, 4), (2, 4, 5)), ((4, 4), (4, 4)), ((1, 4, 4), (2, 4, 4))])
def test_shape_mismatch_is_value_error(cam_shape, mask_shape):
    with pytest.raises(ValueError, match="must both be"):
        attention_scores(np.zeros(cam_shape), np.zeros(mask_shape))


# ---- suggestion, quadrant, helpers -----------------------------------------------------------

@pytest.mark.parametrize("energy,pointing,expected", [
    (None, True, None),
    (0.9, None, None),
    (None, None, None),
    (1 / 3, True, True),  # the threshold is inclusive
    (0.3333, True, False),
    (0.9, True, True),
    (0.9, False, False),  # peak outside the mask: never reasonable
    (0.0, False, False),
    (0.5, np.bool_(True), True),
])
def test_suggest_reasonable(energy, pointing, expected):
    got = suggest_reasonable(energy, pointing)
    assert got is expected


def test_suggest_threshold_constant():
    assert metrics.SUGGEST_MIN_ENERGY == pytest.approx(1 / 3)


@pytest.mark.parametrize("correct,reasonable,expected", [
    (True, True, "RA"), (False, True, "RI"), (True, False, "UA"), (False, False, "UI"),
    (True, None, None), (False, None, None),
])
def test_quadrant(correct, reasonable, expected):
    assert quadrant(correct, reasonable) == expected


def test_accuracy():
    assert metrics.accuracy(np.array([1, 0, 1, 1]), np.array([1, 1, 1, 0])) == pytest.approx(0.5)
    assert metrics.accuracy([2, 2], [2, 2]) == 1.0
    assert math.isnan(metrics.accuracy([], []))


def test_mean_or_none():
    assert metrics.mean_or_none([]) is None
    assert metrics.mean_or_none([1.0, 2.0, 6.0]) == pytest.approx(3.0)
    assert isinstance(metrics.mean_or_none([1, 2]), float)
