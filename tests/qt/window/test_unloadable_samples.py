"""A sample whose image cannot be loaded - whatever the decoder raises, on whichever path it is
loaded - is shown empty and read-only with the reason, and no edit ever lands on it: no mask of the
previous sample is saved under it, and the previous sample's mask stays as it was."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradia_desktop.qt.browser.prefetch import neighbours
from gradia_desktop.qt.window import main_window

from ..helpers_qt import open_main_window

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
CV2_ERROR = ("OpenCV(4.10.0) /io/opencv/modules/imgcodecs/src/loadsave.cpp:79: error: (-215:Assertion failed) "
             "pixels <= CV_IO_MAX_IMAGE_PIXELS in function 'validateInputImageSize'\n")
FAILURES = {"cv2.error": lambda: cv2.error(CV2_ERROR), "MemoryError": MemoryError,
            "RuntimeError": lambda: RuntimeError("the decoder\ngave up")}
REASONS = {"cv2.error": "CV_IO_MAX_IMAGE_PIXELS", "MemoryError": "not enough memory", "RuntimeError": "gave up"}


@pytest.fixture
def window(qtbot, small_project_dir):
    window = open_main_window(qtbot, small_project_dir)
    yield window
    if window.autosaver is not None:
        window.autosaver.flush()
    qtbot.wait(20)  # the last "saved" signals arrive before the window closes


def settle(qtbot, window):
    qtbot.waitUntil(lambda: window.prefetcher.pending() == 0, timeout=10_000)


def start_before_a_maskless_sample(window, qtbot):
    """Stand on a sample with a mask whose next row has none; returns (that sample, the next one)."""
    for _ in range(window.browser.proxy.rowCount()):
        if window.current_sample.has_mask and not neighbours(window.browser)[0].has_mask:
            break
        window.browser.select_next()
    settle(qtbot, window)
    here, following = window.current_sample, neighbours(window.browser)[0]
    assert here.has_mask and not following.has_mask
    return here, following


def break_image(window, monkeypatch, sample, failure):
    """Project.load_image raises ``failure()`` for ``sample``, on every thread; returns the calls."""
    calls = []
    original = window.project.load_image

    def load(s):
        sid = s if isinstance(s, int) else s.id
        if sid == sample.id:
            calls.append(threading.current_thread() is threading.main_thread())
            raise FAILURES[failure]()
        return original(s)

    monkeypatch.setattr(window.project, "load_image", load)
    return calls


def press_every_edit(window, qtbot):
    """Every way an edit can start: keys, the tool bar's buttons, a click with each tool."""
    table = window.browser.table
    for key, modifiers in ((Qt.Key.Key_I, CTRL), (Qt.Key.Key_Z, CTRL), (Qt.Key.Key_Z, CTRL | SHIFT),
                           (Qt.Key.Key_Y, CTRL)):
        qtbot.keyClick(table, key, modifiers)
    for action in (window.tools.invert, window.tools.clear, window.tools.from_heatmap, window.tools.undo,
                   window.tools.redo):
        action.trigger()
    for tool in ("fill", "brush", "lasso"):
        window.canvas.set_tool(tool)
        vp = window.canvas.viewport()
        centre = vp.rect().center()
        QTest.mousePress(vp, LEFT, NONE, centre)
        QTest.mouseMove(vp, centre + vp.rect().topLeft() + centre / 4)
        QTest.mouseMove(vp, centre / 2)
        QTest.mouseRelease(vp, LEFT, NONE, centre / 2)
    window.autosaver.flush()
    qtbot.wait(20)


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("path", ["prefetched", "on_gui_thread", "in_background"])
def test_a_sample_that_cannot_be_loaded_is_shown_empty_and_never_edited(window, qtbot, monkeypatch, failure, path):
    before, broken = start_before_a_maskless_sample(window, qtbot)
    mask_before = window.project.read_mask(before).copy()
    calls = break_image(window, monkeypatch, broken, failure)
    if path == "prefetched":  # the worker meets the failure while preparing the neighbours
        window.prefetcher.clear()
        window.show_sample(before)
        settle(qtbot, window)
        assert calls == [False]
    else:
        window.prefetcher.clear()
        if path == "in_background":  # as for a large image: decoded by the worker while the canvas waits
            monkeypatch.setattr(main_window, "DECODE_IN_BACKGROUND_PIXELS", 1)
    window.browser.select_next()
    qtbot.waitUntil(lambda: window.canvas.problem() is not None, timeout=10_000)

    assert window.current_sample.id == broken.id
    assert window.canvas.image_shape() is None and window.canvas.editor() is None
    assert window.canvas.is_read_only()
    reason = window.canvas.problem()
    assert str(window.project.image_path(broken)) in reason and REASONS[failure] in reason
    assert "\n" not in reason and window.canvas.problem_banner.isVisible()
    assert window.status.path_label.text() == reason
    assert calls.count(True) == (1 if path == "on_gui_thread" else 0)  # large images never on the GUI thread

    press_every_edit(window, qtbot)
    assert window.project.read_mask(broken) is None
    assert np.array_equal(window.project.read_mask(before), mask_before)
    assert window.autosaver.pending() == 0

    window.browser.select_previous()  # the previous sample comes back whole and editable
    assert window.current_sample.id == before.id and window.canvas.problem() is None
    assert np.array_equal(window.canvas.editor().mask, mask_before) and not window.canvas.is_read_only()


def test_a_stroke_open_while_the_browser_moves_is_saved_to_its_own_sample(window, qtbot):
    before, after = start_before_a_maskless_sample(window, qtbot)
    window.canvas.set_tool("brush")
    window.canvas.set_brush_radius(3)
    vp = window.canvas.viewport()
    QTest.mousePress(vp, LEFT, NONE, window.canvas.mapFromScene(QPointF(4.5, 4.5)))
    QTest.mouseMove(vp, window.canvas.mapFromScene(QPointF(20.5, 4.5)))
    window.browser.select_next()  # e.g. D pressed with the mouse button still down
    QTest.mouseRelease(vp, LEFT, NONE, window.canvas.mapFromScene(QPointF(20.5, 4.5)))
    window.autosaver.flush()
    qtbot.wait(20)
    assert window.current_sample.id == after.id
    assert window.project.read_mask(after) is None
    assert window.project.read_mask(before)[4, 4:21].all()


def test_a_mask_that_cannot_be_read_is_kept_and_not_painted_over(window, qtbot, monkeypatch):
    before, _ = start_before_a_maskless_sample(window, qtbot)
    window.browser.select_next()
    window.browser.select_previous()
    stored = window.project.mask_path(before.id).read_bytes()
    original = window.project.read_mask_layers

    def read_mask_layers(sample):
        if (sample if isinstance(sample, int) else sample.id) == before.id:
            raise MemoryError()
        return original(sample)

    monkeypatch.setattr(window.project, "read_mask_layers", read_mask_layers)
    window.prefetcher.clear()
    window.editing.forget_editors()
    window.show_sample(before)
    assert window.canvas.image_shape() is not None and window.canvas.editor() is None
    assert window.canvas.is_read_only() and "mask not shown" in window.canvas.problem()
    press_every_edit(window, qtbot)
    assert window.project.mask_path(before.id).read_bytes() == stored


def test_comparing_versions_on_an_unloadable_image_says_why(qtbot, small_project_dir, monkeypatch):
    from gradia_desktop.qt.models.version_compare import VersionCompareDialog

    from .test_main_window import add_finished_version

    older, newer = add_finished_version(small_project_dir), add_finished_version(small_project_dir)
    window = open_main_window(qtbot, small_project_dir)
    broken = window.current_sample
    break_image(window, monkeypatch, broken, "MemoryError")
    window.models.compare(older, newer)
    dialog = window.findChild(VersionCompareDialog)
    texts = [dialog.heatmaps[v].text() for v in (older, newer)]
    assert texts == [f"no heatmap: {window.project.image_path(broken)}: not enough memory to load the image"] * 2
    dialog.close()
