"""The painting canvas, driven with real mouse and key events through its viewport."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QCursor, QImage, QWheelEvent
from PySide6.QtTest import QTest

from gradia_desktop.core.layered_mask_edit import LayeredMaskEditor
from gradia_desktop.core.mask_edit import MaskEditor
from gradia_desktop.qt.canvas.canvas_widget import HEAT_MAX_SIDE, Canvas
from gradia_desktop.qt.canvas.layers import mask_layer_image, rgb_layer_image

from ..helpers_qt import qimage_array

W, H = 64, 48
LEFT, MIDDLE = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton
NONE = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def canvas(shown_canvas):
    c = shown_canvas
    rng = np.random.default_rng(0)
    c.set_image(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    c.set_editor(MaskEditor((H, W)))
    return c


def view_pos(canvas: Canvas, x: float, y: float) -> QPoint:
    """The viewport point over image pixel (x, y)'s centre."""
    return canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))


def editor_point(canvas: Canvas, pos: QPoint) -> tuple[float, float]:
    """What the canvas hands the editor for a mouse event at ``pos``."""
    p = canvas.viewportTransform().inverted()[0].map(QPointF(pos))
    return p.x() - 0.5, p.y() - 0.5


def drag(canvas, points, button=LEFT, modifier=NONE):
    vp = canvas.viewport()
    positions = [view_pos(canvas, *p) for p in points]
    QTest.mousePress(vp, button, modifier, positions[0])
    for pos in positions[1:]:
        QTest.mouseMove(vp, pos)
    QTest.mouseRelease(vp, button, modifier, positions[-1])
    return positions


def click(canvas, x, y):
    QTest.mouseClick(canvas.viewport(), LEFT, NONE, view_pos(canvas, x, y))


def test_brush_stroke_paints_what_the_editor_model_paints(canvas, qtbot):
    canvas.set_brush_radius(3)
    versions = []
    canvas.mask_edited.connect(versions.append)
    positions = drag(canvas, [(5, 5), (20, 10), (30, 30), (50, 40)])
    reference = MaskEditor((H, W))
    reference.begin_stroke(True, 3)
    for pos in positions:
        reference.stroke_to(*editor_point(canvas, pos))
    reference.end_stroke()
    assert reference.mask.sum() > 100
    assert np.array_equal(canvas.editor().mask, reference.mask)
    assert versions == [canvas.editor().version]  # one signal per stroke
    drag(canvas, [(40, 5), (45, 6)])
    assert len(versions) == 2 and versions[1] > versions[0]


def test_eraser_fill_and_undo_redo(canvas):
    canvas.set_brush_radius(4)
    drag(canvas, [(10, 10), (40, 10)])
    painted = canvas.editor().mask.copy()
    canvas.set_tool("eraser")
    drag(canvas, [(25, 5), (25, 15)])
    erased = canvas.editor().mask
    assert erased.sum() < painted.sum() and not erased[10, 25] and erased[10, 12]
    canvas.undo()
    assert np.array_equal(canvas.editor().mask, painted)
    canvas.redo()
    assert not canvas.editor().mask[10, 25]
    canvas.set_tool("fill")
    click(canvas, 60, 40)  # the background around the stroke
    assert canvas.editor().mask[40, 60] and canvas.editor().mask[0, 0] and canvas.editor().mask[10, 25]
    canvas.set_tool("erase_fill")
    click(canvas, 60, 40)
    assert not canvas.editor().mask.any()


def test_lasso_fills_and_erases_the_polygon(canvas):
    canvas.set_tool("lasso")
    edits = []
    canvas.mask_edited.connect(edits.append)
    drag(canvas, [(10, 10), (30, 10), (30, 30), (10, 30)])
    mask = canvas.editor().mask
    assert mask[20, 20] and mask[11, 11] and not mask[35, 35] and not mask[5, 5]
    assert len(edits) == 1
    assert not canvas.lasso_items[0].isVisible()
    canvas.set_tool("lasso_erase")
    drag(canvas, [(15, 15), (25, 15), (25, 25), (15, 25)])
    assert not canvas.editor().mask[20, 20] and canvas.editor().mask[11, 11]


def test_mask_layer_pixels_follow_the_mask_and_only_the_dirty_rect_changes(canvas):
    canvas.set_brush_radius(2)
    layer = canvas.mask_item.image
    before = qimage_array(layer, 4)
    drag(canvas, [(20, 20), (24, 22)])
    after = qimage_array(layer, 4)
    mask = canvas.editor().mask
    alpha = after[..., 3]
    assert np.array_equal(alpha > 0, mask)
    changed = np.argwhere((after != before).any(axis=2))
    ys, xs = np.nonzero(mask)
    assert changed[:, 0].min() >= ys.min() and changed[:, 0].max() <= ys.max()
    assert changed[:, 1].min() >= xs.min() and changed[:, 1].max() <= xs.max()
    assert len(np.unique(alpha[mask])) == 2  # a more opaque border around a see-through inside


def test_pan_with_space_or_middle_button_does_not_paint(canvas, qtbot):
    canvas.zoom_by(4)
    h0, v0 = canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value()
    vp = canvas.viewport()
    QTest.mousePress(vp, MIDDLE, NONE, QPoint(300, 300))
    QTest.mouseMove(vp, QPoint(250, 260))
    QTest.mouseRelease(vp, MIDDLE, NONE, QPoint(250, 260))
    assert (canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value()) == (h0 + 50, v0 + 40)
    QTest.keyPress(canvas, Qt.Key.Key_Space)
    QTest.mousePress(vp, LEFT, NONE, QPoint(300, 300))
    QTest.mouseMove(vp, QPoint(320, 310))
    QTest.mouseRelease(vp, LEFT, NONE, QPoint(320, 310))
    QTest.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.horizontalScrollBar().value() == h0 + 30
    assert not canvas.editor().mask.any()


def test_ctrl_wheel_zooms_around_the_cursor_and_keys_zoom(canvas):
    start = canvas.zoom()
    anchor = view_pos(canvas, 10, 10)
    zooms = []
    canvas.zoom_changed.connect(zooms.append)
    # QTest has no wheel helper: build the event.
    event = QWheelEvent(QPointF(anchor), QPointF(canvas.viewport().mapToGlobal(anchor)), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    canvas.wheelEvent(event)
    assert canvas.zoom() == pytest.approx(start * 1.25)
    assert zooms == [pytest.approx(start * 1.25)]
    QTest.keyClick(canvas, Qt.Key.Key_1)
    assert canvas.zoom() == 1
    QTest.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.zoom() == pytest.approx(1.25)
    QTest.keyClick(canvas, Qt.Key.Key_F)
    assert canvas.zoom() == pytest.approx(start)


def test_brackets_change_the_brush_radius(canvas):
    canvas.set_brush_radius(10)
    radii = []
    canvas.brush_radius_changed.connect(radii.append)
    QTest.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.brush_radius() == pytest.approx(12.5)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.brush_radius() == pytest.approx(8)
    assert radii == [pytest.approx(12.5), pytest.approx(10), pytest.approx(8)]
    canvas.set_brush_radius(0.01)
    assert canvas.brush_radius() == 0.5
    canvas.set_brush_radius(1e6)
    assert canvas.brush_radius() == 500


def hover(canvas, pos: QPoint) -> None:
    """A button-less mouse move, sent directly: QTest.mouseMove sends nothing when the (shared)
    cursor already sits at ``pos``, which makes such tests depend on the ones before them."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    vp = canvas.viewport()
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(vp.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, event)


def test_brush_cursor_follows_the_mouse_with_the_brush_size(canvas):
    canvas.set_brush_radius(5)
    hover(canvas, view_pos(canvas, 20, 30))
    circle = canvas.brush_items[1]
    assert circle.isVisible()
    assert circle.rect().center() == QPointF(20.5, 30.5) and circle.rect().width() == 11
    canvas.set_tool("fill")
    assert not circle.isVisible()


def test_read_only_ignores_edits(canvas):
    messages, edits = [], []
    canvas.message.connect(messages.append)
    canvas.mask_edited.connect(edits.append)
    canvas.set_read_only(True)
    drag(canvas, [(10, 10), (30, 30)])
    canvas.clear_mask()
    canvas.invert_mask()
    assert not canvas.editor().mask.any() and not edits and messages
    canvas.set_read_only(False)
    canvas.invert_mask()
    assert canvas.editor().mask.all() and len(edits) == 1


def test_mask_from_heatmap_and_clear(canvas):
    messages = []
    canvas.message.connect(messages.append)
    assert canvas.mask_from_heatmap() is None and messages
    cam = np.zeros((H, W), np.float32)
    cam[10:20, 30:40] = 0.9
    canvas.set_heatmap(cam)
    canvas.mask_from_heatmap(0.5)
    assert np.array_equal(canvas.editor().mask, cam >= 0.5)
    canvas.clear_mask()
    assert not canvas.editor().mask.any()
    canvas.undo()
    assert canvas.editor().mask.sum() == 100


def test_cursor_info_reports_pixel_mask_and_cam(canvas):
    infos = []
    canvas.cursor_moved.connect(infos.append)
    cam = np.full((H, W), 0.25, np.float32)
    canvas.set_heatmap(cam)
    canvas.invert_mask()
    hover(canvas, view_pos(canvas, 7, 9))
    info = infos[-1]
    assert (info["x"], info["y"], info["mask"]) == (7, 9, True)
    assert info["cam"] == pytest.approx(0.25, abs=1e-6)
    assert info["rgb"] == tuple(int(v) for v in canvas._rgb[9, 7])
    hover(canvas, QPoint(2, 2))  # the margin outside the image
    assert infos[-1] is None



def test_cursor_info_follows_new_content_under_a_still_pointer(canvas):
    """The next image, its mask and its heatmap arrive while the mouse does not move: the readout follows."""
    infos = []
    canvas.cursor_moved.connect(infos.append)
    canvas.invert_mask()
    QCursor.setPos(canvas.viewport().mapToGlobal(view_pos(canvas, 7, 9)))
    if canvas.viewport().mapFromGlobal(QCursor.pos()) != view_pos(canvas, 7, 9):
        pytest.skip("this platform does not move the pointer")
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[9, 7] = (10, 20, 30)
    canvas.set_image(rgb)
    canvas.set_editor(MaskEditor((H, W)))
    assert (infos[-1]["x"], infos[-1]["y"], infos[-1]["rgb"], infos[-1]["mask"]) == (7, 9, (10, 20, 30), False)
    canvas.set_heatmap(np.full((H, W), 0.75, np.float32))
    assert infos[-1]["cam"] == pytest.approx(0.75, abs=1e-6)
    QCursor.setPos(canvas.viewport().mapToGlobal(QPoint(-50, -50)))
    canvas.set_heatmap(None)
    assert infos[-1] is None


def test_cursor_info_follows_undo_and_redo_under_a_still_pointer(canvas):
    """Ctrl+Z under a still pointer: the read-out says "mask 0" at once, not after the next move."""
    infos = []
    canvas.cursor_moved.connect(infos.append)
    QCursor.setPos(canvas.viewport().mapToGlobal(view_pos(canvas, 7, 9)))
    if canvas.viewport().mapFromGlobal(QCursor.pos()) != view_pos(canvas, 7, 9):
        pytest.skip("this platform does not move the pointer")
    canvas.invert_mask()
    assert infos[-1]["mask"]
    canvas.undo()
    assert (infos[-1]["x"], infos[-1]["y"], infos[-1]["mask"]) == (7, 9, False)
    canvas.redo()
    assert infos[-1]["mask"]
    QCursor.setPos(canvas.viewport().mapToGlobal(QPoint(-50, -50)))

def test_heatmap_layer_colormaps_and_transparency(canvas):
    cam = np.zeros((H, W), np.float32)
    cam[:, W // 2:] = 1.0
    canvas.set_heatmap(cam)
    for name in ("jet", "inferno", "viridis", "turbo"):
        canvas.set_colormap(name)
        image = canvas.heat_item.image.convertToFormat(QImage.Format.Format_ARGB32)
        rgba = qimage_array(image, 4)
        assert (rgba[:, : W // 2, 3] == 0).all() and (rgba[:, W // 2:, 3] == 255).all()
    with pytest.raises(ValueError):
        canvas.set_colormap("rainbow-unicorn")
    canvas.set_heatmap_visible(False)
    assert not canvas.heat_item.isVisible()
    canvas.set_mask_color(QColor(255, 0, 0))
    canvas.set_mask_opacity(0.3)
    assert canvas.mask_opacity() == pytest.approx(0.3)


def test_switching_images_drops_the_editor_and_an_undo_mid_stroke_commits(canvas):
    canvas.set_brush_radius(2)
    vp = canvas.viewport()
    edits = []
    canvas.mask_edited.connect(edits.append)
    QTest.mousePress(vp, LEFT, NONE, view_pos(canvas, 10, 10))
    QTest.mouseMove(vp, view_pos(canvas, 20, 10))
    canvas.undo()  # commits the open stroke, then undoes it
    assert not canvas.editor().mask.any() and len(edits) == 2
    QTest.mouseMove(vp, view_pos(canvas, 30, 10))
    QTest.mouseRelease(vp, LEFT, NONE, view_pos(canvas, 30, 10))
    assert not canvas.editor().mask.any()
    canvas.set_image(np.zeros((10, 12, 3), np.uint8))
    assert canvas.editor() is None and canvas.heatmap() is None
    with pytest.raises(ValueError):
        canvas.set_editor(MaskEditor((H, W)))
    canvas.set_editor(MaskEditor((10, 12)))
    canvas.set_image(None)
    click(canvas, 1, 1)  # nothing to edit: no crash


def test_a_small_cam_is_scaled_to_the_image_and_read_at_image_pixels(canvas):
    grid = np.array([[0.0, 1.0], [0.5, 0.25]], np.float32)
    canvas.set_heatmap(grid)
    full = canvas.heatmap()
    assert full.shape == (H, W) and full.dtype == np.float32
    assert np.allclose(full, cv2.resize(grid, (W, H), interpolation=cv2.INTER_LINEAR))
    infos = []
    canvas.cursor_moved.connect(infos.append)
    canvas._cam = None  # the value under the cursor without the full-size CAM
    hover(canvas, view_pos(canvas, 13, 30))
    assert infos[-1]["cam"] == pytest.approx(float(full[30, 13]), abs=1e-5)
    canvas.mask_from_heatmap(0.6)
    assert np.array_equal(canvas.editor().mask, full >= 0.6)


def test_cam_resized_clips_drops_nan_and_never_returns_the_callers_array():
    from gradia_desktop.qt.canvas.layers import cam_resized

    cam = np.array([[np.nan, 2.0], [-1.0, 0.5]], np.float32)
    same = cam_resized(cam, (2, 2))
    assert same is not cam and np.isnan(cam[0, 0])
    assert same.tolist() == [[0.0, 1.0], [0.0, 0.5]]
    bigger = cam_resized(np.array([[0.0, 1.0]], np.float32), (3, 4))
    assert bigger.shape == (3, 4) and bigger.min() == 0.0 and bigger.max() == 1.0


def test_a_large_heatmap_is_coloured_at_a_modest_size_and_drawn_over_the_whole_image(qtbot):
    c = Canvas()
    qtbot.addWidget(c)
    c.resize(400, 300)
    with qtbot.waitExposed(c):
        c.show()
    c.set_image(np.zeros((1500, 2000, 3), np.uint8))
    cam = np.zeros((1500, 2000), np.float32)
    cam[:, 1000:] = 1.0
    c.set_heatmap(cam)
    assert (c.heat_item.image.width(), c.heat_item.image.height()) == (HEAT_MAX_SIDE, 384)
    assert c.heat_item.boundingRect() == c.image_item.boundingRect()
    c.set_heatmap_opacity(1.0)
    shot = qimage_array(c.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888), 3)
    left, right = c.mapFromScene(QPointF(500, 750)), c.mapFromScene(QPointF(1500, 750))
    assert shot[left.y(), left.x()].max() == 0  # cold: the black image shows through
    assert shot[right.y(), right.x()].max() > 100  # hot: coloured
    c.set_image(np.zeros((10, 12, 3), np.uint8))
    assert c.heatmap() is None


def test_a_prepared_image_and_mask_layer_are_adopted_without_a_copy(canvas):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    qimage = rgb_layer_image(rgb)
    canvas.set_image(qimage)
    assert canvas.image_item.image is qimage and canvas.image_shape() == (H, W)
    assert np.array_equal(canvas.image(), rgb)
    editor = LayeredMaskEditor((H, W))
    editor.replace(np.eye(H, W, dtype=bool))
    prepared = mask_layer_image(editor, canvas.mask_lut())
    canvas.set_editor(editor, prepared)
    assert canvas.mask_item.image is prepared.image
    assert np.array_equal(qimage_array(canvas.mask_item.image, 4)[..., 3] > 0, editor.mask)
    # A layer of an older edit version (or another colour) is not used: the mask is rendered.
    stale = mask_layer_image(editor, canvas.mask_lut())
    editor.invert()
    canvas.set_image(rgb)
    canvas.set_editor(editor, stale)
    assert canvas.mask_item.image is not stale.image
    assert np.array_equal(qimage_array(canvas.mask_item.image, 4)[..., 3] > 0, editor.mask)
    # Showing a plain array later never writes into the adopted image.
    before = qimage_array(qimage, 4).copy()
    canvas.set_image(qimage)
    canvas.set_image(np.zeros((H, W, 3), np.uint8))
    assert np.array_equal(qimage_array(qimage, 4), before)


def test_switching_images_keeps_the_mask_layer_in_step(canvas):
    def green(c) -> int:
        shot = qimage_array(c.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888), 3)
        return int(((shot[..., 1] > 60) & (shot[..., 0] < 30)).sum())

    mask = np.zeros((H, W), bool)
    mask[5:20, 10:30] = True
    black = np.zeros((H, W, 3), np.uint8)
    canvas.set_image(black)
    canvas.set_editor(MaskEditor((H, W), mask))
    assert green(canvas) > 0
    canvas.set_image(black)  # the old mask is never shown over the new image
    assert green(canvas) == 0
    canvas.set_editor(MaskEditor((H, W)))
    assert green(canvas) == 0 and not qimage_array(canvas.mask_item.image, 4).any()
    canvas.set_editor(MaskEditor((H, W), mask))
    assert np.array_equal(qimage_array(canvas.mask_item.image, 4)[..., 3] > 0, mask)
    canvas.set_editor(None)
    assert green(canvas) == 0
