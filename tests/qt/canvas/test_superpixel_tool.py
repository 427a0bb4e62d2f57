"""The superpixel tool (S) and "Snap to edges" on the real main window: clicks and strokes change the
mask as expected, undo restores it in one step, autosave stores it; on a large image the superpixels
come from the worker thread and a click made before them waits for them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradia_desktop.core.layered_mask_edit import AVOID, LayeredMaskEditor
from gradia_desktop.core.mask_edit import MaskEditor
from gradia_desktop.core.superpixels import region_at, superpixels, touched_regions
from gradia_desktop.qt.canvas.click_worker import BACKGROUND_PIXELS

from ..helpers_qt import open_main_window

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NONE, SHIFT, CTRL = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def window(qtbot, small_project_dir):
    return open_main_window(qtbot, small_project_dir, (1100, 750))


def _pos(canvas, x, y):
    return canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))


def _click(canvas, x, y, button=LEFT, modifiers=NONE):
    QTest.mouseClick(canvas.viewport(), button, modifiers, _pos(canvas, x, y))


def _drag(canvas, points):
    vp = canvas.viewport()
    QTest.mousePress(vp, LEFT, NONE, _pos(canvas, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, _pos(canvas, *p))
    QTest.mouseRelease(vp, LEFT, NONE, _pos(canvas, *points[-1]))


def _undo(window):
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)


def _stored(window, sample):
    """Both layers as autosave stored them (empty ones when there is no mask file)."""
    window.autosaver.flush()
    layers = window.project.read_mask_layers(sample)
    if layers is None:
        empty = np.zeros((sample.height, sample.width), bool)
        return empty, empty
    return layers.look, layers.avoid


def _object_sample(window):
    """A validation or test sample (its stored mask is the exact object), its mask cleared; the
    object's mask and its deepest point."""
    while not window.current_sample.has_mask or window.current_sample.split == "train":
        window.browser.select_next()
    sample = window.current_sample
    exact, _ = _stored(window, sample)
    window.tools.clear.trigger()
    depth = cv2.distanceTransform(np.pad(exact, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return sample, exact, (int(x), int(y))


def test_a_click_adds_the_superpixel_shift_click_and_right_click_remove_undo_restores(window):
    sample, _, (x, y) = _object_sample(window)
    canvas = window.canvas
    QTest.keyClick(canvas, Qt.Key.Key_S)
    assert canvas.tool() == "superpixel" and window.tools.tool_actions["superpixel"].isChecked()
    labels = superpixels(canvas.image(), canvas.superpixels.size)
    far = (2, 2) if labels[2, 2] != labels[y, x] else (60, 60)
    expected = LayeredMaskEditor(labels.shape)
    states, depth = [], canvas.editor().undo_depth
    for (px, py), button, modifiers, add in (((x, y), LEFT, NONE, True), (far, LEFT, NONE, True),
                                             ((x, y), LEFT, SHIFT, False), (far, RIGHT, NONE, False)):
        states.append(expected.mask.copy())
        _click(canvas, px, py, button, modifiers)
        expected.fill_region(region_at(labels, px, py), add)
        assert np.array_equal(canvas.editor().mask, expected.mask), (button, modifiers)
        assert np.array_equal(_stored(window, sample)[0], expected.mask)
        assert canvas.editor().undo_depth == depth + len(states)  # one undo step per click
    both = (labels == labels[y, x]) | (labels == labels[far[1], far[0]])
    assert np.array_equal(states[2], both) and not expected.mask.any()
    for state in reversed(states):
        _undo(window)
        assert np.array_equal(canvas.editor().mask, state)
        assert np.array_equal(_stored(window, sample)[0], state)


def test_the_superpixel_tool_paints_the_dont_look_here_layer(window):
    sample, _, (x, y) = _object_sample(window)
    canvas = window.canvas
    QTest.keyClick(canvas, Qt.Key.Key_X)
    QTest.keyClick(canvas, Qt.Key.Key_S)
    region = region_at(superpixels(canvas.image(), canvas.superpixels.size), x, y)
    _click(canvas, x, y)
    look, avoid = _stored(window, sample)
    assert canvas.editor().active_layer == AVOID and np.array_equal(avoid, region) and not look.any()
    _click(canvas, x, y, RIGHT)
    assert not _stored(window, sample)[1].any()
    _undo(window)
    assert np.array_equal(_stored(window, sample)[1], region)


def test_snap_to_edges_grows_a_short_stroke_to_the_object_in_one_undo_step(window):
    sample, exact, (x, y) = _object_sample(window)
    canvas, tools = window.canvas, window.tools
    assert not tools.snap.isChecked()  # off by default
    canvas.set_tool("brush")
    canvas.set_brush_radius(1)
    stroke = MaskEditor(exact.shape)
    stroke.begin_stroke(True, 1)
    for p in ((x - 2, y), (x + 2, y)):
        stroke.stroke_to(*p)
    stroke.end_stroke()

    _drag(canvas, [(x - 2, y), (x + 2, y)])  # snapping off: the stroke as it was painted
    assert np.array_equal(_stored(window, sample)[0], stroke.mask)
    _undo(window)
    assert not _stored(window, sample)[0].any()

    tools.snap.trigger()
    depth = canvas.editor().undo_depth
    _drag(canvas, [(x - 2, y), (x + 2, y)])
    snapped, _ = _stored(window, sample)
    labels = superpixels(canvas.image(), canvas.superpixels.size)
    assert np.array_equal(snapped, touched_regions(labels, stroke.mask))
    assert snapped.sum() > 3 * stroke.mask.sum() and (snapped & stroke.mask).sum() == stroke.mask.sum()
    assert (snapped & exact).sum() / snapped.sum() > 0.9  # it stops at the object's edge
    assert canvas.editor().undo_depth == depth + 1
    _undo(window)  # the stroke and what it grew to go in one step
    assert not canvas.editor().mask.any() and not _stored(window, sample)[0].any()

    canvas.set_tool("eraser")
    window.tools.invert.trigger()  # everything masked: the snapped eraser takes the same regions away
    _drag(canvas, [(x - 2, y), (x + 2, y)])
    assert np.array_equal(_stored(window, sample)[0], ~snapped)


def _large_image(h=1000, w=1100):
    assert h * w >= BACKGROUND_PIXELS
    rgb = np.full((h, w, 3), 60, np.uint8)
    cv2.circle(rgb, (w // 2, h // 2), 200, (230, 200, 40), -1)
    return rgb


def test_on_a_large_image_a_click_waits_for_the_superpixels_from_the_worker(shown_canvas, qtbot):
    canvas = shown_canvas
    canvas.set_image(_large_image())
    canvas.set_editor(MaskEditor(canvas.image_shape()))
    canvas.set_tool("superpixel")  # starts them on the worker
    _click(canvas, 550, 500)
    _click(canvas, 100, 100)
    assert not canvas.editor().mask.any() and canvas.superpixels.pending() == 2  # the GUI did not wait
    qtbot.waitUntil(lambda: canvas.superpixels.pending() == 0, timeout=5000)
    labels = superpixels(canvas.image(), canvas.superpixels.size)
    assert np.array_equal(canvas.editor().mask, region_at(labels, 550, 500) | region_at(labels, 100, 100))
    assert canvas.editor().undo_depth == 2


def test_a_click_waiting_for_its_superpixels_is_not_applied_inside_a_stroke(shown_canvas, qtbot):
    canvas = shown_canvas
    canvas.set_image(_large_image())
    canvas.set_editor(MaskEditor(canvas.image_shape()))
    canvas.set_tool("superpixel")
    _click(canvas, 550, 500)
    canvas.set_tool("brush")
    canvas.set_brush_radius(2)
    vp = canvas.viewport()
    QTest.mousePress(vp, LEFT, NONE, _pos(canvas, 100, 100))
    QTest.mouseMove(vp, _pos(canvas, 110, 100))
    qtbot.waitUntil(lambda: canvas.superpixels.labels() is not None, timeout=5000)
    assert canvas.superpixels.pending() == 1 and not canvas.editor().mask[500, 550]
    QTest.mouseRelease(vp, LEFT, NONE, _pos(canvas, 110, 100))
    assert canvas.superpixels.pending() == 0 and canvas.editor().mask[500, 550]
    assert canvas.editor().undo_depth == 2  # the stroke, then the click
    canvas.undo()
    assert not canvas.editor().mask[500, 550] and canvas.editor().mask[100, 105]


def test_a_snapped_stroke_on_a_large_image_ends_snapped(shown_canvas):
    canvas = shown_canvas
    canvas.set_image(_large_image())
    canvas.set_editor(MaskEditor(canvas.image_shape()))
    canvas.superpixels.set_snap_to_edges(True)
    canvas.set_brush_radius(2)
    _drag(canvas, [(540, 500), (560, 500)])  # ends before the worker could deliver: the end waits
    labels = superpixels(canvas.image(), canvas.superpixels.size)
    painted = np.zeros(canvas.image_shape(), bool)
    painted[498:503, 538:563] = True
    assert np.array_equal(canvas.editor().mask, touched_regions(labels, canvas.editor().mask))
    assert canvas.editor().mask.sum() > painted.sum() and canvas.editor().undo_depth == 1
