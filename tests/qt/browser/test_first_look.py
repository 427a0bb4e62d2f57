"""A first visit of a large image that was not prefetched: a preview at once, the full image after.

The thresholds are shrunk so that small images count as large: ``large`` images (the window decodes
them in the background) and previews from 100x100 pixels, sized for a 64x64 screen.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradia_desktop.core.images import read_rgb, write_mask_png
from gradia_desktop.core.project_init import create_project
from gradia_desktop.qt.browser import prefetch
from gradia_desktop.qt.canvas import progressive_image
from gradia_desktop.qt.canvas.progressive_image import PREVIEWS, file_stamp
from gradia_desktop.qt.window import main_window

from ..helpers_qt import open_main_window
from .test_prefetch import layer_shows, no_gui_loads, settle

W, H = 512, 384
SCREEN = (64, 64)  # 512x384 fits as 64x48: a JPEG decodes at 1/8
LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


@pytest.fixture
def small_thresholds(monkeypatch):
    monkeypatch.setattr(main_window, "DECODE_IN_BACKGROUND_PIXELS", 100 * 100)
    monkeypatch.setattr(progressive_image, "PREVIEW_MIN_PIXELS", 100 * 100)
    monkeypatch.setattr(progressive_image, "_screen", SCREEN)
    PREVIEWS.clear()
    yield
    PREVIEWS.clear()


@pytest.fixture
def held_full_decodes(monkeypatch):
    """An event: once cleared, the background lane's full decodes of previews wait until it is set."""
    gate = threading.Event()
    gate.set()
    real = prefetch.refine
    monkeypatch.setattr(prefetch, "refine", lambda *args: gate.wait(20) and real(*args))
    yield gate
    gate.set()


def make_project(root, suffix: str) -> tuple:
    """Eight smooth W x H images (``suffix``) in two classes; the first of each class with a mask."""
    rng = np.random.default_rng(0)
    mask = np.zeros((H, W), bool)
    mask[100:250, 150:400] = True
    for i in range(8):
        cls = "ab"[i % 2]
        folder = root / "images" / "train" / cls
        folder.mkdir(parents=True, exist_ok=True)
        rgb = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / f"img_{i}{suffix}"), rgb)
        if i < 2:
            write_mask_png(root / "masks" / "train" / cls / f"img_{i}.png", mask)
    create_project(root / "project", root / "images", root / "masks").close()
    return root / "project", mask


def open_window(qtbot, project_dir):
    window = open_main_window(qtbot, project_dir)
    window.prefetcher.screen = SCREEN
    settle(qtbot, window)
    return window


def jump_unprefetched(window, sample, hold: threading.Event | None = None) -> None:
    """Show ``sample`` as if the user got there before the background did (its full decode held)."""
    window.prefetcher.clear()
    if hold is not None:
        hold.clear()
    window.browser.select_sample(sample.id)


def view_state(canvas) -> tuple:
    return (canvas.zoom(), canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value(),
            canvas.sceneRect())


def test_a_large_jpeg_shows_a_reduced_decode_first_then_its_full_resolution(qtbot, tmp_path, monkeypatch,
                                                                           small_thresholds, held_full_decodes):
    project_dir, mask = make_project(tmp_path, ".jpg")
    window = open_window(qtbot, project_dir)
    target = next(s for s in window.project.samples() if s.has_mask and s.id != window.current_sample.id)
    loads = no_gui_loads(window, monkeypatch)
    jump_unprefetched(window, target, held_full_decodes)
    qtbot.waitUntil(lambda: window.canvas.image_shape() == (H, W), timeout=10_000)
    canvas = window.canvas
    assert canvas.image_item.showing_preview() and canvas.image_item.image.width() == W // 8
    assert canvas.editor().mask.shape == (H, W) and np.array_equal(canvas.editor().mask, mask)
    assert layer_shows(window, mask)  # the full-size mask over the stretched preview
    canvas.zoom_by(2.5, QPointF(300, 200))
    canvas.pan_by(QPointF(-40, 25))
    before = view_state(canvas)
    held_full_decodes.set()
    qtbot.waitUntil(lambda: not canvas.image_item.showing_preview(), timeout=10_000)
    assert view_state(canvas) == before
    assert np.array_equal(canvas.image(), read_rgb(window.project.image_path(target)))
    assert loads == []  # nothing decoded or read on the GUI thread


def test_painting_before_the_full_image_arrives_keeps_full_size_coordinates(qtbot, tmp_path, small_thresholds,
                                                                           held_full_decodes):
    project_dir, _ = make_project(tmp_path, ".jpg")
    window = open_window(qtbot, project_dir)
    target = next(s for s in window.project.samples() if not s.has_mask and s.id != window.current_sample.id)
    jump_unprefetched(window, target, held_full_decodes)
    qtbot.waitUntil(lambda: window.canvas.image_shape() == (H, W), timeout=10_000)
    canvas = window.canvas
    assert canvas.image_item.showing_preview()
    canvas.set_tool("brush")
    canvas.set_brush_radius(6)
    vp = canvas.viewport()
    start, end = canvas.mapFromScene(QPointF(60.5, 300.5)), canvas.mapFromScene(QPointF(450.5, 300.5))
    QTest.mousePress(vp, LEFT, NONE, start)
    QTest.mouseMove(vp, end)
    QTest.mouseRelease(vp, LEFT, NONE, end)
    painted = canvas.editor().mask.copy()
    assert painted.shape == (H, W) and painted[300, 60] and painted[300, 450] and not painted[200, 60]
    held_full_decodes.set()
    qtbot.waitUntil(lambda: not canvas.image_item.showing_preview(), timeout=10_000)
    assert np.array_equal(canvas.editor().mask, painted) and layer_shows(window, painted)
    window.autosaver.flush()
    assert np.array_equal(window.project.read_mask(target), painted)
    qtbot.wait(50)


def test_a_large_png_shows_the_preview_its_thumbnail_left_behind(qtbot, tmp_path, monkeypatch, small_thresholds,
                                                                 held_full_decodes):
    project_dir, mask = make_project(tmp_path, ".png")
    window = open_window(qtbot, project_dir)
    samples = window.project.samples()
    qtbot.waitUntil(lambda: all(PREVIEWS.has(window.project.image_path(s), file_stamp(window.project.image_path(s)))
                                for s in samples), timeout=10_000)  # every row's thumbnail was made
    target = next(s for s in samples if s.has_mask and s.id != window.current_sample.id)
    loads = no_gui_loads(window, monkeypatch)
    jump_unprefetched(window, target, held_full_decodes)
    qtbot.waitUntil(lambda: window.canvas.image_shape() == (H, W), timeout=10_000)
    canvas = window.canvas
    assert canvas.image_item.showing_preview() and (canvas.image_item.image.width(),
                                                    canvas.image_item.image.height()) == (64, 48)
    assert np.array_equal(canvas.editor().mask, mask) and layer_shows(window, mask)
    held_full_decodes.set()
    qtbot.waitUntil(lambda: not canvas.image_item.showing_preview(), timeout=10_000)
    assert np.array_equal(canvas.image(), read_rgb(window.project.image_path(target)))
    assert loads == []


def test_a_large_png_without_a_preview_is_shown_in_full_at_once(qtbot, tmp_path, small_thresholds):
    project_dir, _ = make_project(tmp_path, ".png")
    window = open_window(qtbot, project_dir)
    target = next(s for s in window.project.samples() if s.id != window.current_sample.id)
    PREVIEWS.clear()
    jump_unprefetched(window, target)
    qtbot.waitUntil(lambda: window.canvas.image_shape() == (H, W), timeout=10_000)
    assert not window.canvas.image_item.showing_preview()
    assert np.array_equal(window.canvas.image(), read_rgb(window.project.image_path(target)))


def test_leaving_before_the_full_image_arrives_does_not_hold_up_the_next_image(qtbot, tmp_path, small_thresholds,
                                                                              held_full_decodes):
    project_dir, _ = make_project(tmp_path, ".jpg")
    window = open_window(qtbot, project_dir)
    first, second, third = [s for s in window.project.samples() if s.id != window.current_sample.id][:3]

    def shown_as_preview(sample) -> bool:
        return (window.current_sample.id == sample.id and window.canvas.image_shape() == (H, W)
                and window.canvas.image_item.showing_preview())

    jump_unprefetched(window, first, held_full_decodes)  # its full decode starts, and is held
    qtbot.waitUntil(lambda: shown_as_preview(first), timeout=10_000)
    for sample in (second, third):  # not prefetched either: their first looks do not wait for it
        window.browser.select_sample(sample.id)  # (the second's full decode, queued, is dropped)
        qtbot.waitUntil(lambda: shown_as_preview(sample), timeout=10_000)
    held_full_decodes.set()
    qtbot.waitUntil(lambda: not window.canvas.image_item.showing_preview(), timeout=10_000)
    settle(qtbot, window)
    for sample in (first, second):  # back: a full image that was dropped is decoded again
        window.browser.select_sample(sample.id)
        qtbot.waitUntil(lambda: window.current_sample.id == sample.id and window.canvas.image_shape() == (H, W)
                        and not window.canvas.image_item.showing_preview(), timeout=10_000)
        assert np.array_equal(window.canvas.image(), read_rgb(window.project.image_path(sample)))
