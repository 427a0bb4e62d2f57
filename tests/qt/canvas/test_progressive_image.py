"""A large image shown progressively: a preview stretched over the full extent, then the full image."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF

from gradia_desktop.core.mask_edit import MaskEditor
from gradia_desktop.qt.canvas import progressive_image
from gradia_desktop.qt.canvas.canvas_widget import Canvas
from gradia_desktop.qt.canvas.layers import rgb_layer_array, rgb_layer_image
from gradia_desktop.qt.canvas.progressive_image import PreviewCache, PreviewImage, Refinement

from ..helpers_qt import qimage_array
from .test_canvas_widget import drag, hover, view_pos

W, H = 240, 160  # the full image
K = 4  # the preview is 1/4 of it a side


@pytest.fixture
def canvas(shown_canvas):
    return shown_canvas


@pytest.fixture
def full_rgb():
    rng = np.random.default_rng(3)
    return cv2.resize(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)


def preview_of(rgb: np.ndarray) -> PreviewImage:
    small = cv2.resize(rgb, (W // K, H // K), interpolation=cv2.INTER_AREA)
    return PreviewImage(rgb_layer_array(small), (H, W), Refinement())


def arrive(preview: PreviewImage, rgb: np.ndarray) -> None:
    """The full image arrives from a worker, and is announced on the GUI thread."""
    worker = threading.Thread(target=lambda: preview.refinement.fulfil(rgb_layer_image(rgb)))
    worker.start()
    worker.join()
    preview.refinement.announce()


def view_state(canvas: Canvas) -> tuple:
    return (canvas.zoom(), canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value(),
            canvas.sceneRect())


def test_a_preview_is_shown_at_full_size_then_the_full_image_without_moving_the_view(canvas, full_rgb):
    preview = preview_of(full_rgb)
    canvas.set_image(preview)
    assert canvas.image_shape() == (H, W) and canvas.sceneRect().size().toTuple() == (W, H)
    assert canvas.image_item.showing_preview() and canvas.image_item.image.width() == W // K
    editor = MaskEditor((H, W))
    editor.replace(np.pad(np.ones((40, 60), bool), ((50, H - 90), (100, W - 160))))
    canvas.set_editor(editor)  # the mask is at full size from the start
    canvas.zoom_by(3.0, QPointF(200, 150))
    canvas.pan_by(QPointF(-35, 20))
    before = view_state(canvas)
    arrive(preview, full_rgb)
    assert not canvas.image_item.showing_preview() and canvas.image_item.image.width() == W
    assert view_state(canvas) == before  # zoom and pan kept
    assert np.array_equal(canvas.image(), full_rgb)
    assert canvas.editor().look is editor
    assert np.array_equal(qimage_array(canvas.mask_item.image, 4)[..., 3] > 0, editor.mask)


def test_the_preview_lines_up_with_the_full_image_on_screen(canvas, full_rgb):
    preview = preview_of(full_rgb)
    canvas.set_image(preview)
    canvas.viewport().repaint()
    shown_first = canvas.viewport().grab().toImage()
    arrive(preview, full_rgb)
    canvas.viewport().repaint()
    shown_then = canvas.viewport().grab().toImage()
    first, then = (qimage_array(i.convertToFormat(i.Format.Format_RGB888), 3).astype(int)
                   for i in (shown_first, shown_then))
    assert np.abs(first - then).mean() < 6  # the same picture, only blurrier: nothing shifted or scaled


def test_the_pixel_readout_works_on_the_preview(canvas, full_rgb):
    infos = []
    canvas.cursor_moved.connect(infos.append)
    preview = preview_of(full_rgb)
    canvas.set_image(preview)
    canvas.set_editor(MaskEditor((H, W)))
    hover(canvas, view_pos(canvas, W - 1, H - 1))  # the last full-size pixel, beyond the preview's
    assert (infos[-1]["x"], infos[-1]["y"]) == (W - 1, H - 1)
    small = cv2.resize(full_rgb, (W // K, H // K), interpolation=cv2.INTER_AREA)
    assert infos[-1]["rgb"] == tuple(int(v) for v in small[-1, -1])


def test_painting_on_a_preview_paints_the_full_size_mask(canvas, full_rgb):
    preview = preview_of(full_rgb)
    canvas.set_image(preview)
    editor = MaskEditor((H, W))
    canvas.set_editor(editor)
    canvas.set_tool("brush")
    canvas.set_brush_radius(4)
    drag(canvas, [(30, 40), (200, 40)])
    painted = editor.mask.copy()
    assert painted[40, 30] and painted[40, 200] and not painted[60, 30]  # image pixels, not preview pixels
    arrive(preview, full_rgb)
    assert canvas.editor().look is editor and np.array_equal(editor.mask, painted)
    assert np.array_equal(qimage_array(canvas.mask_item.image, 4)[..., 3] > 0, painted)


def test_a_tool_that_needs_every_pixel_waits_for_the_full_image(canvas, full_rgb):
    preview = preview_of(full_rgb)
    canvas.set_image(preview)
    later = threading.Timer(0.2, lambda: preview.refinement.fulfil(rgb_layer_image(full_rgb)))
    later.start()
    assert np.array_equal(canvas.image(), full_rgb)  # the magic wand's input: waited for, not the preview
    assert not canvas.image_item.showing_preview()
    later.join()


def test_a_failed_full_decode_leaves_the_preview_and_its_pixels_scaled_up(canvas, full_rgb):
    preview = preview_of(full_rgb)
    canvas.set_image(preview)
    preview.refinement.fulfil(None)
    preview.refinement.announce()
    assert canvas.image_item.showing_preview()
    rgb = canvas.image()
    assert rgb.shape == (H, W, 3) and np.abs(rgb.astype(int) - full_rgb).mean() < 12


def test_a_preview_whose_full_image_has_arrived_is_shown_in_full(canvas, full_rgb):
    preview = preview_of(full_rgb)
    preview.refinement.fulfil(rgb_layer_image(full_rgb))  # arrived, not yet announced
    canvas.set_image(preview)
    assert not canvas.image_item.showing_preview() and np.array_equal(canvas.image(), full_rgb)


def test_an_image_shown_after_the_preview_is_not_replaced_by_its_full_image(canvas, full_rgb):
    preview = preview_of(full_rgb)
    canvas.set_image(preview)
    other = rgb_layer_image(np.zeros((H, W, 3), np.uint8))
    canvas.set_image(other)
    arrive(preview, full_rgb)
    assert canvas.image_item.image is other


# ---- the cache of previews ----------------------------------------------------------------------
def test_the_preview_cache_keeps_a_screen_sized_copy_by_file_and_stamp(monkeypatch, tmp_path):
    monkeypatch.setattr(progressive_image, "PREVIEW_MIN_PIXELS", 100)
    cache = PreviewCache()
    rgb = np.full((400, 600, 3), 120, np.uint8)
    path = tmp_path / "a.png"
    preview = cache.put(path, (1, 2, 3), rgb, (150, 150))
    assert preview.shape == (100, 150, 3)  # fitted on the screen
    got, full = cache.get(path, (1, 2, 3))
    assert full == (600, 400) and got.shape == (100, 150, 3) and abs(int(got.mean()) - 120) <= 2
    assert cache.get(path, (1, 2, 4)) is None  # the file changed: no stale preview
    assert cache.put(path, (9,), np.zeros((8, 8, 3), np.uint8), (150, 150)).shape == (8, 8, 3)  # too small to need one
    assert len(cache) == 1


def test_the_preview_cache_is_bounded_by_bytes(monkeypatch, tmp_path):
    monkeypatch.setattr(progressive_image, "PREVIEW_MIN_PIXELS", 100)
    rng = np.random.default_rng(0)
    cache = PreviewCache()
    cache.put(tmp_path / "probe.png", (0,), rng.integers(0, 256, (300, 300, 3), dtype=np.uint8), (100, 100))
    one = cache._bytes
    cache = PreviewCache(max_bytes=int(one * 2.5))
    for i in range(5):
        cache.put(tmp_path / f"{i}.png", (i,), rng.integers(0, 256, (300, 300, 3), dtype=np.uint8), (100, 100))
    assert len(cache) == 2 and cache.has(tmp_path / "4.png", (4,)) and not cache.has(tmp_path / "0.png", (0,))
