"""ToolPanel: tool actions, brush size sync, history and heatmap controls drive the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from gradia_desktop.core.mask_edit import MaskEditor

from ..helpers_qt import tool_window


@pytest.fixture
def setup(qtbot):
    window, canvas, panel = tool_window(qtbot)
    window.resize(1200, 700)
    with qtbot.waitExposed(window):
        window.show()
    canvas.set_image(np.zeros((32, 40, 3), np.uint8))
    canvas.set_editor(MaskEditor((32, 40)))
    return window, canvas, panel


def test_tool_actions_are_exclusive_and_follow_the_canvas(setup):
    _, canvas, panel = setup
    assert panel.tool_actions["brush"].isChecked()
    panel.tool_actions["lasso_erase"].trigger()
    assert canvas.tool() == "lasso_erase" and not panel.tool_actions["brush"].isChecked()
    canvas.set_tool("fill")
    assert panel.tool_actions["fill"].isChecked()
    shortcuts = {name: a.shortcut().toString() for name, a in panel.tool_actions.items()}
    assert shortcuts["brush"] == "B" and shortcuts["erase_fill"] == "Shift+G" and shortcuts["lasso_erase"] == "Shift+L"


def test_shortcut_keys_pick_tools(setup, qtbot):
    window, canvas, _ = setup
    canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_E)
    assert canvas.tool() == "eraser"
    QTest.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier)
    assert canvas.tool() == "erase_fill"


def test_brush_size_slider_spin_and_canvas_stay_in_sync(setup):
    _, canvas, panel = setup
    panel.size_spin.setValue(20)
    assert canvas.brush_radius() == 20 and panel.size_slider.value() > 0
    panel.size_slider.setValue(panel.size_slider.maximum())
    assert canvas.brush_radius() == 500 and panel.size_spin.value() == 500
    canvas.set_brush_radius(4)
    assert panel.size_spin.value() == 4
    panel.larger.trigger()
    assert canvas.brush_radius() == pytest.approx(5) and panel.size_spin.value() == pytest.approx(5)


def test_history_and_mask_commands(setup):
    _, canvas, panel = setup
    assert not panel.undo.isEnabled() and not panel.redo.isEnabled()
    panel.invert.trigger()
    assert canvas.editor().mask.all() and panel.undo.isEnabled()
    panel.undo.trigger()
    assert not canvas.editor().mask.any() and panel.redo.isEnabled()
    assert [s.toString() for s in panel.redo.shortcuts()] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    panel.redo.trigger()
    assert canvas.editor().mask.all()
    panel.clear.trigger()
    assert not canvas.editor().mask.any()
    cam = np.zeros((32, 40), np.float32)
    cam[:10] = 1
    canvas.set_heatmap(cam)
    panel.from_heatmap.trigger()
    assert canvas.editor().mask[:10].all() and not canvas.editor().mask[10:].any()
    canvas.set_read_only(True)
    assert not panel.clear.isEnabled() and not panel.tool_actions["brush"].isEnabled()
    assert panel.tool_actions["pan"].isEnabled()


def test_heatmap_controls(setup, qtbot):
    _, canvas, panel = setup
    assert [panel.target_combo.itemText(i) for i in range(panel.target_combo.count())] == \
        ["Predicted class", "True class", "disc", "cross"]
    with qtbot.waitSignal(panel.target_changed) as blocker:
        panel.target_combo.setCurrentIndex(3)
    assert blocker.args == [1]
    with qtbot.waitSignal(panel.target_changed) as blocker:
        panel.target_combo.setCurrentIndex(1)
    assert blocker.args == ["true"] and panel.target() == "true"
    panel.colormap_combo.setCurrentText("viridis")
    assert canvas.colormap() == "viridis"
    panel.heatmap_opacity.setValue(30)
    panel.mask_opacity.setValue(70)
    assert canvas.heatmap_opacity() == pytest.approx(0.3) and canvas.mask_opacity() == pytest.approx(0.7)
    panel.show_heatmap.trigger()
    assert not canvas.heat_item.isVisible()
    panel.show_mask.trigger()
    assert not canvas.mask_item.isVisible()


def test_actions_for_menus(setup):
    _, _, panel = setup
    names = [a.text() for a in panel.actions()]
    assert {"Brush", "Eraser", "Fill", "Lasso", "Undo", "Redo", "Clear mask", "Invert mask",
            "Mask from heatmap"} <= set(names)
    assert all(not a.shortcut().isEmpty() for a in panel.actions()[:7])
    assert panel.undo.shortcut() == QKeySequence("Ctrl+Z")


def test_the_magic_wand_has_its_keys_and_a_tolerance_that_reaches_the_canvas(setup):
    _, canvas, panel = setup
    shortcuts = {name: a.shortcut().toString() for name, a in panel.tool_actions.items()}
    assert shortcuts["wand"] == "W" and shortcuts["wand_erase"] == "Shift+W"
    assert "follows the image" in panel.tool_actions["wand"].toolTip()
    assert "follows the mask" in panel.tool_actions["fill"].toolTip()  # which fill is which, said on each
    panel.wand_spin.setValue(10)
    assert canvas._controller.wand_tolerance == 10
    rgb = np.zeros((32, 40, 3), np.uint8)
    rgb[4:12, 5:15] = (200, 200, 0)
    canvas.set_image(rgb)
    canvas.set_editor(MaskEditor((32, 40)))
    panel.tool_actions["wand"].trigger()
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     canvas.mapFromScene(8.5, 6.5))
    assert canvas.editor().mask.sum() == 8 * 10


def test_the_superpixel_tool_has_its_key_and_snap_to_edges_starts_off(setup):
    window, canvas, panel = setup
    canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_S)
    assert canvas.tool() == "superpixel" and panel.tool_actions["superpixel"].toolTip().startswith("Superpixel (S)")
    assert not panel.snap.isChecked() and not canvas.superpixels.snap_to_edges
    panel.snap.trigger()
    assert canvas.superpixels.snap_to_edges and "no key" in panel.snap.toolTip()
    panel.superpixel_size.setValue(30)
    assert canvas.superpixels.size == 30
    assert panel.snap in panel.actions()  # in the Edit menu too
