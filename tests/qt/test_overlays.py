"""NumPy-to-Qt conversions used by the image view."""

from __future__ import annotations

import numpy as np
from .helpers_qt import qimage_array
from PySide6.QtGui import QImage

from gradia_desktop.qt.overlays import heatmap_rgb, mask_outline, mask_rgba, rgb_to_qimage, rgba_to_qimage


def test_rgb_to_qimage_copies_odd_widths_and_views():
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, size=(9, 14, 3), dtype=np.uint8)
    rgb = big[1:8, 2:13:2]  # 7x6, non-contiguous, rows not 4-byte aligned once copied
    image = rgb_to_qimage(rgb)
    expected = rgb.copy()
    del rgb, big  # the QImage must own its pixels
    assert (image.width(), image.height()) == (6, 7)
    assert np.array_equal(qimage_array(image.convertToFormat(QImage.Format.Format_RGB888), 3), expected)


def test_rgba_to_qimage_keeps_alpha():
    rgba = np.zeros((3, 5, 4), np.uint8)
    rgba[1, 2] = (10, 20, 30, 40)
    image = rgba_to_qimage(rgba)
    assert np.array_equal(qimage_array(image.convertToFormat(QImage.Format.Format_RGBA8888), 4), rgba)


def test_heatmap_is_upsampled_and_jet_coloured():
    cam = np.array([[0.0, 1.0]], np.float32)
    heat = heatmap_rgb(cam, width=40, height=10)
    assert heat.shape == (10, 40, 3) and heat.dtype == np.uint8
    assert heat[5, 0, 2] > 100 and heat[5, 0, 0] < 50  # cold: blue
    assert heat[5, -1, 0] > 100 and heat[5, -1, 2] < 50  # hot: red
    assert len({tuple(px) for px in heat[5]}) > 5  # bilinear, not two flat halves


def test_mask_overlay_is_transparent_outside_the_mask():
    mask = np.zeros((4, 6), bool)
    mask[1:3, 2:5] = True
    rgba = mask_rgba(mask)
    assert (rgba[~mask, 3] == 0).all()
    assert (rgba[mask, 3] > 0).all() and (rgba[mask, 1] > rgba[mask, 0]).all()  # green


def test_mask_outline_follows_pixel_edges(qapp):
    mask = np.zeros((8, 10), bool)
    mask[2:5, 3:7] = True
    rect = mask_outline(mask).boundingRect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (3, 2, 4, 3)
