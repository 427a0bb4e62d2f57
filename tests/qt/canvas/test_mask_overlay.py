"""The canvas's two mask layers (mask_overlay.py): "don't look here" hatched in its own colour under
"look here", one opacity and visibility for both; the tools and "mask from heatmap" edit the layer
the switch chose."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from gradia_desktop.core.layered_mask_edit import AVOID, LOOK, LayeredMaskEditor
from gradia_desktop.qt.canvas.mask_overlay import AVOID_COLOR

from ..helpers_qt import qimage_array, tool_window

H, W = 32, 40


@pytest.fixture
def setup(qtbot):
    window, canvas, panel = tool_window(qtbot)
    window.resize(1200, 700)
    with qtbot.waitExposed(window):
        window.show()
    canvas.set_image(np.zeros((H, W, 3), np.uint8))
    yield canvas, panel
    window.close()


def _screen_at(canvas, x: int, y: int) -> np.ndarray:
    """The viewport's RGB at the centre of image pixel (x, y)."""
    shot = qimage_array(canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888), 3)
    p = canvas.mapFromScene(x + 0.5, y + 0.5)
    return shot[p.y(), p.x()].astype(int)


def test_dont_look_here_is_hatched_in_its_colour_under_look_here(setup):
    canvas, _ = setup
    look = np.zeros((H, W), bool)
    look[:, :20] = True
    avoid = np.zeros((H, W), bool)
    avoid[:, 10:30] = True
    canvas.set_editor(LayeredMaskEditor((H, W), look, avoid))
    assert canvas.avoid_item.zValue() < canvas.mask_item.zValue()
    alpha = qimage_array(canvas.avoid_item.image, 4)[..., 3]
    assert np.array_equal(alpha > 0, avoid & ~look)  # "look here" wins where both are set
    assert len(set(alpha[2:-2, 22:28].ravel().tolist())) == 2  # inside: see-through with opaque stripes
    avoid_only = max((_screen_at(canvas, x, 16) for x in range(21, 29)), key=lambda rgb: rgb[0])
    both, look_only = _screen_at(canvas, 15, 16), _screen_at(canvas, 5, 16)
    assert avoid_only[0] > 100 and avoid_only[2] > 80 and avoid_only[1] < 60  # magenta, like AVOID_COLOR
    assert AVOID_COLOR.red() > AVOID_COLOR.green() and AVOID_COLOR.blue() > AVOID_COLOR.green()
    assert look_only[1] > look_only[0] and np.array_equal(both, look_only)
    editor = canvas.editor()
    editor.begin_stroke(False, 1.0)  # erasing "look here" shows the "don't look here" under it
    editor.stroke_to(15, 16)
    canvas.repaint_mask(editor.end_stroke())
    assert np.array_equal(qimage_array(canvas.avoid_item.image, 4)[..., 3] > 0, avoid & ~editor.mask)
    canvas.set_mask_opacity(0.3)
    assert canvas.avoid_item.opacity() == pytest.approx(0.3) == canvas.mask_item.opacity()
    canvas.set_mask_visible(False)
    assert not canvas.avoid_item.isVisible() and not canvas.mask_item.isVisible()


def test_the_canvas_layer_is_every_editors_active_layer(setup, qtbot):
    canvas, _ = setup
    canvas.set_editor(LayeredMaskEditor((H, W)))
    with qtbot.waitSignal(canvas.mask_layer_changed) as changed:
        canvas.set_mask_layer(AVOID)
    assert changed.args == [AVOID] and canvas.editor().active_layer == AVOID
    canvas.invert_mask()
    assert canvas.editor().avoid_mask.all() and not canvas.editor().mask.any()
    canvas.set_image(np.zeros((H, W, 3), np.uint8))
    canvas.set_editor(LayeredMaskEditor((H, W)))  # the next sample: still "don't look here"
    assert canvas.editor().active_layer == AVOID
    with pytest.raises(ValueError):
        canvas.set_mask_layer("elsewhere")


def test_mask_from_heatmap_fills_the_active_layer_and_asks_only_over_it(setup, monkeypatch):
    canvas, panel = setup
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args) or QMessageBox.StandardButton.No)
    look = np.zeros((H, W), bool)
    look[:4, :4] = True
    canvas.set_editor(LayeredMaskEditor((H, W), look))
    cam = np.zeros((H, W), np.float32)
    cam[:, : W // 2] = 0.9
    canvas.set_heatmap(cam)
    panel.layer_switch.action.trigger()
    assert canvas.mask_layer() == AVOID
    panel.from_heatmap.trigger()  # the "don't look here" layer is empty: nothing to ask
    editor = canvas.editor()
    assert not asked and editor.avoid_mask[:, : W // 2].all() and np.array_equal(editor.mask, look)
    panel.from_heatmap.trigger()
    assert len(asked) == 1
    panel.undo.trigger()
    assert not editor.avoid_mask.any() and canvas.mask_layer() == AVOID
    panel.layer_switch.action.trigger()
    assert canvas.mask_layer() == LOOK and editor.active_layer == LOOK
