"""core/superpixels.py: regions that follow the image's edges, snapping, and the region under a click."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gradia_desktop.core.superpixels import region_at, superpixels, touched_regions


def _disc(size: int = 64):
    rng = np.random.default_rng(0)
    rgb = np.clip(rng.normal(120, 10, (size, size, 3)), 0, 255).astype(np.uint8)
    truth = np.zeros((size, size), np.uint8)
    cv2.circle(truth, (size // 2, size // 2), size // 5, 1, -1)
    rgb[truth > 0] = (250, 250, 250)
    return rgb, truth.astype(bool)


def test_regions_cover_the_image_and_stop_at_its_edges():
    rgb, truth = _disc()
    labels = superpixels(rgb, 8)
    assert labels.shape == truth.shape and labels.min() == 0 and len(np.unique(labels)) == labels.max() + 1
    assert 40 <= labels.max() + 1 <= 80  # about (64 / 8)^2 regions
    mixed = [i for i in np.unique(labels) if 0.05 < truth[labels == i].mean() < 0.95]
    assert len(mixed) <= 0.15 * (labels.max() + 1)  # nearly every region lies on one side of the disc's edge


def test_a_stroke_snaps_to_the_whole_regions_it_touches_and_a_click_takes_one():
    rgb, truth = _disc()
    labels = superpixels(rgb, 8)
    stroke = np.zeros_like(truth)
    stroke[32, 26:38] = True  # across the disc's middle
    snapped = touched_regions(labels, stroke)
    assert snapped[stroke].all() and (snapped & truth).sum() / truth.sum() > 0.3
    assert (snapped & ~truth).sum() < 0.1 * snapped.sum()  # the snap stays on the disc
    one = region_at(labels, 32, 32)
    assert one[32, 32] and one.sum() < snapped.sum() and not region_at(labels, -5, 3).any()
    assert not touched_regions(labels, np.zeros_like(truth)).any()
    with pytest.raises(ValueError, match="shape"):
        touched_regions(labels, np.zeros((3, 3), bool))


def test_a_large_image_is_cut_at_640_px_and_labelled_at_its_own_size():
    rgb = np.zeros((1300, 900, 3), np.uint8)
    rgb[:, 450:] = 200
    labels = superpixels(rgb, 16)
    assert labels.shape == (1300, 900)
    left, right = set(np.unique(labels[:, :440])), set(np.unique(labels[:, 460:]))
    assert not left & right  # the edge between the halves is kept at full size


def test_only_rgb_uint8_images_are_cut():
    with pytest.raises(ValueError, match="uint8"):
        superpixels(np.zeros((8, 8), np.uint8))
