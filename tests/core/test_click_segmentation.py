"""core/click_segmentation.py: masks grown from positive and negative clicks and a box by GrabCut."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gradia_desktop.core.click_segmentation import ClickSegmenter, ClickSession


def _scene(seed: int = 0, size: int = 96):
    """A dark disc and a dark square on a noisy orange background (the square is a second object)."""
    rng = np.random.default_rng(seed)
    rgb = np.clip(np.array((210, 130, 60), np.float32) + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    disc = np.zeros((size, size), np.uint8)
    cv2.circle(disc, (30, 40), 14, 1, -1)
    square = np.zeros((size, size), bool)
    square[55:80, 60:85] = True
    rgb[disc > 0] = (40, 40, 50)
    rgb[square] = (45, 35, 40)
    return rgb, disc.astype(bool), square


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_one_positive_click_finds_the_object_under_it_and_nothing_else():
    rgb, disc, square = _scene()
    seg = ClickSegmenter(rgb)
    assert not seg.mask().any()
    mask = seg.add_click(30, 40, True)
    assert iou(mask, disc) > 0.9
    assert not (mask & square).any()  # same colour, but not connected to the click


def test_a_second_positive_click_adds_the_other_object():
    rgb, disc, square = _scene(1)
    seg = ClickSegmenter(rgb)
    seg.add_click(30, 40, True)
    assert iou(seg.add_click(70, 67, True), disc | square) > 0.9


def test_a_negative_click_takes_away_background_the_mask_should_not_hold():
    rgb, disc, _ = _scene(5)
    spill = np.zeros_like(disc)
    spill[36:44, 44:72] = True  # a greyish bar attached to the disc: close enough to be taken at first
    rgb[spill] = (95, 85, 90)
    seg = ClickSegmenter(rgb)
    seg.add_click(30, 40, True)
    seg.add_click(60, 40, True)
    assert (seg.mask() & spill).sum() > 0.8 * spill.sum()
    assert iou(seg.add_click(60, 40, False), disc) > 0.9  # the later click wins, and the bar goes


def test_undo_goes_back_one_click_at_a_time_and_a_box_is_one_step():
    rgb, disc, square = _scene(2)
    seg = ClickSegmenter(rgb)
    first = seg.add_click(30, 40, True)
    seg.add_click(70, 67, True)
    assert np.array_equal(seg.undo(), first)
    assert len(seg.clicks) == 1
    boxed = seg.set_box(12, 22, 49, 59)  # around the disc
    assert iou(boxed, disc) > 0.9 and not (boxed & square).any()
    assert np.array_equal(seg.undo(), first) and seg.box is None
    assert not seg.undo().any() and not seg.undo().any()  # nothing left to undo: still empty


def test_a_box_alone_cuts_out_the_object_inside_it():
    rgb, _disc, square = _scene(3)
    mask = ClickSegmenter(rgb).set_box(52, 48, 92, 88)
    assert iou(mask, square) > 0.85


def _two_colour_object(seed: int = 0, size: int = 200):
    """A large object, dark on its left and light blue on its right, on noisy orange; a blue patch
    elsewhere. A click on the dark part alone does not reach the blue part: it is too far away."""
    rng = np.random.default_rng(seed)
    rgb = np.clip(np.array((210, 130, 60), np.float32) + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    obj = np.zeros((size, size), bool)
    obj[20:150, 20:130] = True
    rgb[20:150, 20:60] = (40, 40, 50)
    rgb[20:150, 60:130] = (90, 170, 230)
    rgb[160:190, 150:190] = (90, 170, 230)
    prior = cv2.GaussianBlur(obj.astype(np.float32), (0, 0), 8)
    return rgb, obj, prior / prior.max()


def test_a_heatmap_prior_starts_the_first_click_where_the_model_looked():
    rgb, obj, prior = _two_colour_object()
    assert iou(ClickSegmenter(rgb).add_click(40, 85, True), obj) < 0.5  # the dark part only
    assert iou(ClickSegmenter(rgb, prior=prior).add_click(40, 85, True), obj) > 0.95


def test_a_box_alone_starts_from_the_prior_inside_it_or_from_all_of_it():
    rgb, obj, prior = _two_colour_object(1)
    assert iou(ClickSegmenter(rgb, prior=prior).set_box(10, 10, 140, 160), obj) > 0.95
    assert iou(ClickSegmenter(rgb, prior=np.zeros(obj.shape)).set_box(10, 10, 140, 160), obj) > 0.95


def test_a_session_scales_the_prior_and_the_box_with_a_large_image():
    rgb, obj, prior = _two_colour_object(2)
    big = lambda a: cv2.resize(a, (1000, 1000), interpolation=cv2.INTER_NEAREST)  # noqa: E731
    base = np.zeros((1000, 1000), bool)
    base[990:, 990:] = True  # painted before: kept
    session = ClickSession(big(rgb), base, prior=big(prior))
    assert session.scale < 1
    whole = session.click(200, 425, True)
    assert iou(whole & ~base, big(obj.astype(np.uint8)).astype(bool)) > 0.9 and whole[995, 995]
    boxed = ClickSession(big(rgb), base).set_box(80, 80, 680, 770)
    assert iou(boxed & ~base, big(obj.astype(np.uint8)).astype(bool)) > 0.9
    assert not boxed[:, 690:990].any() and not boxed[780:990].any()  # nothing outside the box
    with pytest.raises(ValueError, match="prior"):
        ClickSession(rgb, np.zeros(obj.shape, bool), prior=np.zeros((3, 3)))


def test_clicks_outside_the_image_and_bad_images_are_refused_cleanly():
    rgb, _, _ = _scene()
    seg = ClickSegmenter(rgb)
    assert not seg.add_click(-3, 10, True).any() and seg.clicks == []
    assert not seg.set_box(5, 5, 6, 6).any()  # too small to mean a box
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        ClickSegmenter(rgb[..., 0])
    with pytest.raises(ValueError, match="prior"):
        ClickSegmenter(rgb, prior=np.zeros((3, 3)))


def test_a_flat_image_does_not_fail():
    flat = np.full((40, 40, 3), 128, np.uint8)
    mask = ClickSegmenter(flat).add_click(20, 20, True)
    assert mask[20, 20]
