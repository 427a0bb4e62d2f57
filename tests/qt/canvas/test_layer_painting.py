"""Three-state masks on the real main window: every tool paints the "don't look here" layer, X switches
layers, undo walks back across both in order, and autosave stores both (core/layered_mask_edit.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradia_desktop.core.layered_mask_edit import AVOID, LOOK, LayeredMaskEditor
from gradia_desktop.core.store import Project
from gradia_desktop.qt.canvas.interaction import DEFAULT_WAND_TOLERANCE

from ..helpers_qt import open_main_window, qimage_array

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def _pos(window, x, y):
    return window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))


def _drag(window, points):
    vp = window.canvas.viewport()
    QTest.mousePress(vp, LEFT, NONE, _pos(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, _pos(window, *p))
    QTest.mouseRelease(vp, LEFT, NONE, _pos(window, *points[-1]))


def _click(window, x, y):
    QTest.mouseClick(window.canvas.viewport(), LEFT, NONE, _pos(window, x, y))


def _undo(window):
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)


def _redo(window):
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, CTRL | SHIFT)


def _stroke(editor, points, value=True, radius=3):
    editor.begin_stroke(value, radius)
    for p in points:
        editor.stroke_to(*p)
    editor.end_stroke()


def _assert_stored(window, sample, expected: LayeredMaskEditor):
    """What the canvas edits and what autosave stored both equal ``expected``."""
    shown = window.canvas.editor()
    assert np.array_equal(shown.mask, expected.mask) and np.array_equal(shown.avoid_mask, expected.avoid_mask)
    window.autosaver.flush()
    stored, want = window.project.read_mask_layers(sample), expected.layers()
    if want.empty:
        assert stored is None and not window.project.mask_path(sample.id).exists()
    else:
        assert np.array_equal(stored.look, want.look) and np.array_equal(stored.avoid, want.avoid)


@pytest.fixture
def window(qtbot, small_project_dir):
    return open_main_window(qtbot, small_project_dir, (1100, 750))


def _a_sample_with_a_mask(window):
    while not window.current_sample.has_mask:
        window.browser.select_next()
    sample = window.current_sample
    expected = LayeredMaskEditor.of((sample.height, sample.width), window.project.read_mask_layers(sample))
    assert expected.mask.any() and not expected.avoid_mask.any()
    return sample, expected


def test_x_switches_the_layer_the_tool_bar_and_status_line_show_it(window):
    switch = window.tools.layer_switch.action
    assert window.canvas.mask_layer() == LOOK and not switch.isChecked()
    assert "Don't look here" in switch.toolTip() and "(X " in switch.toolTip()
    QTest.keyClick(window.canvas, Qt.Key.Key_X)
    assert window.canvas.mask_layer() == AVOID and switch.isChecked() and switch.text() == "Don't look here"
    assert window.canvas.editor().active_layer == AVOID
    layer_label = window.status.status_line.layer_label
    assert layer_label.text() == "painting: don't look here" and layer_label.isVisible()
    window.browser.select_next()  # the layer stays chosen on the next sample
    assert window.canvas.editor().active_layer == AVOID
    switch.trigger()
    assert window.canvas.mask_layer() == LOOK and window.canvas.editor().active_layer == LOOK
    assert not layer_label.isVisible()
    assert switch in window.menus.edit_menu.actions()


def test_every_tool_paints_the_dont_look_layer_undo_restores_and_autosave_stores(window):
    sample, expected = _a_sample_with_a_mask(window)
    look_before = expected.mask.copy()
    QTest.keyClick(window.canvas, Qt.Key.Key_X)
    expected.set_active_layer(AVOID)
    canvas = window.canvas
    canvas.set_brush_radius(3)
    free = np.argwhere(~look_before)  # the stroke goes where "look here" does not cover it
    y0, x0 = (int(v) for v in free[0])
    image = canvas.image()

    def brush():
        canvas.set_tool("brush")
        _drag(window, [(x0, y0), (x0 + 12, y0)])
        _stroke(expected, [(x0, y0), (x0 + 12, y0)])

    def eraser():
        canvas.set_tool("eraser")
        _drag(window, [(x0 + 4, y0), (x0 + 8, y0)])
        _stroke(expected, [(x0 + 4, y0), (x0 + 8, y0)], value=False)

    def fill():
        canvas.set_tool("fill")
        _click(window, 2, 60)
        expected.flood_fill(2, 60, True)

    def erase_fill():
        canvas.set_tool("erase_fill")
        _click(window, x0, y0)
        expected.flood_fill(x0, y0, False)

    def wand():
        canvas.set_tool("wand")
        _click(window, 60, 2)
        expected.wand_fill(image, 60, 2, DEFAULT_WAND_TOLERANCE, True)

    def lasso():
        canvas.set_tool("lasso")
        corners = [(5, 5), (30, 5), (30, 25), (5, 25)]
        _drag(window, corners)
        expected.fill_polygon(corners + [corners[-1]], True)

    def invert():
        window.tools.invert.trigger()
        expected.invert()

    tools = [brush, eraser, fill, erase_fill, wand, lasso, invert]
    for tool in tools:
        before = LayeredMaskEditor(expected.shape, expected.mask, expected.avoid_mask)
        tool()
        assert not np.array_equal(expected.avoid_mask, before.avoid_mask), tool.__name__
        assert np.array_equal(expected.mask, look_before), tool.__name__
        _assert_stored(window, sample, expected)
        _undo(window)
        expected.undo()
        assert np.array_equal(expected.avoid_mask, before.avoid_mask), tool.__name__
        _assert_stored(window, sample, expected)
        _redo(window)
        expected.redo()
        _assert_stored(window, sample, expected)
    shown = qimage_array(canvas.avoid_item.image, 4)[..., 3] > 0
    assert np.array_equal(shown, expected.layers().avoid)  # drawn as stored: "look here" wins
    window.tools.clear.trigger()  # "don't look here" only: "look here" stays
    expected.clear()
    _assert_stored(window, sample, expected)
    assert window.project.read_mask(sample) is not None and expected.undo_depth == len(tools) + 1


def test_undo_walks_back_a_stroke_on_each_layer_in_order(window):
    sample, expected = _a_sample_with_a_mask(window)
    canvas = window.canvas
    canvas.set_tool("brush")
    canvas.set_brush_radius(2)
    free = np.argwhere(~expected.mask)
    (y0, x0), (y1, x1) = (int(v) for v in free[0]), (int(v) for v in free[-1])
    states = [LayeredMaskEditor(expected.shape, expected.mask, expected.avoid_mask)]
    _drag(window, [(x0, y0), (x0 + 6, y0)])  # "look here"
    _stroke(expected, [(x0, y0), (x0 + 6, y0)], radius=2)
    states.append(LayeredMaskEditor(expected.shape, expected.mask, expected.avoid_mask))
    QTest.keyClick(canvas, Qt.Key.Key_X)
    expected.set_active_layer(AVOID)
    _drag(window, [(x1, y1), (x1 - 6, y1)])  # "don't look here"
    _stroke(expected, [(x1, y1), (x1 - 6, y1)], radius=2)
    _assert_stored(window, sample, expected)
    assert window.project.read_mask_layers(sample).avoid.any()
    for state in reversed(states):
        _undo(window)
        expected.undo()
        assert np.array_equal(expected.mask, state.mask) and np.array_equal(expected.avoid_mask, state.avoid_mask)
        _assert_stored(window, sample, expected)
    assert not window.tools.undo.isEnabled() and window.project.read_mask_layers(sample).avoid.sum() == 0


def test_a_mask_of_only_dont_look_here_loads_shows_saves_and_clearing_it_removes_it(qtbot, small_project_dir):
    with Project.open(small_project_dir) as project:
        sample = project.samples(has_mask=False)[0]
        avoid = np.zeros((sample.height, sample.width), bool)
        avoid[40:56, 8:30] = True  # e.g. a ruler along the bottom
        project.write_mask(sample, np.zeros_like(avoid), avoid=avoid)
    window = open_main_window(qtbot, small_project_dir, (1100, 750))
    window.browser.select_sample(sample.id)
    assert not window.browser.current_sample().has_mask  # "has a mask" still means "look here"
    editor = window.canvas.editor()
    assert not editor.mask.any() and np.array_equal(editor.avoid_mask, avoid)
    assert np.array_equal(qimage_array(window.canvas.avoid_item.image, 4)[..., 3] > 0, avoid)
    expected = LayeredMaskEditor(editor.shape, avoid=avoid)
    window.canvas.set_tool("brush")
    window.canvas.set_brush_radius(3)
    _drag(window, [(10, 10), (20, 10)])  # "look here", beside what is to be avoided
    _stroke(expected, [(10, 10), (20, 10)])
    _assert_stored(window, sample, expected)
    window.tools.clear.trigger()
    QTest.keyClick(window.canvas, Qt.Key.Key_X)
    window.tools.clear.trigger()
    expected.clear()
    expected.set_active_layer(AVOID)
    expected.clear()
    _assert_stored(window, sample, expected)  # both layers empty: no mask at all
