"""The input controller against a fake surface: CanvasSurface is all it needs from a canvas."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainterPath

from gradia_desktop.core.layered_mask_edit import LayeredMaskEditor
from gradia_desktop.core.mask_edit import MaskEditor, Rect
from gradia_desktop.qt.canvas.canvas_widget import Canvas
from gradia_desktop.qt.canvas.interaction import RESIZE_PX_PER_DOUBLING, CanvasController, CanvasSurface

LEFT, MIDDLE, NO_BUTTON = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton, Qt.MouseButton.NoButton
SCALE = 2.0  # view pixels per image pixel


class FakeSurface:
    """A CanvasSurface without a widget: it records what the controller asks of it."""

    def __init__(self, shape: tuple[int, int] = (20, 30)):
        self.mask_editor = LayeredMaskEditor(shape)
        self.rgb = np.zeros((*shape, 3), np.uint8)
        self.cam: np.ndarray | None = None
        self.current_tool = "brush"
        self.radius = 2.0
        self.read_only = False
        self.repainted: list[Rect] = []
        self.commits: list[int] = []
        self.lasso: QPainterPath | None = None
        self.brush_outline: QRectF | None = None
        self.cursor_shape: Qt.CursorShape | None = None
        self.cursor_at: list[QPointF | None] = []
        self.panned = QPointF()
        self.view_changes: list[object] = []

    def editor(self) -> LayeredMaskEditor | None:
        return self.mask_editor

    def image_shape(self) -> tuple[int, int] | None:
        return self.mask_editor.shape

    def image(self) -> np.ndarray | None:
        return self.rgb

    def heatmap(self) -> np.ndarray | None:
        return self.cam

    def tool(self) -> str:
        return self.current_tool

    def brush_radius(self) -> float:
        return self.radius

    def set_brush_radius(self, radius: float) -> None:
        self.radius = radius

    def is_read_only(self) -> bool:
        return self.read_only

    def can_edit(self) -> bool:
        return not self.read_only

    def view_to_image(self, view_pos: QPointF) -> QPointF:
        return QPointF(view_pos.x() / SCALE, view_pos.y() / SCALE)

    def zoom(self) -> float:
        return SCALE

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.view_changes.append(("zoom_by", factor))

    def fit(self) -> None:
        self.view_changes.append("fit")

    def actual_size(self) -> None:
        self.view_changes.append("actual_size")

    def pan_by(self, delta: QPointF) -> None:
        self.panned += delta

    def set_cursor_shape(self, shape: Qt.CursorShape) -> None:
        self.cursor_shape = shape

    def repaint_mask(self, rect: Rect) -> None:
        self.repainted.append(rect)

    def commit_edit(self) -> None:
        self.commits.append(self.mask_editor.version)

    def show_lasso(self, path: QPainterPath | None) -> None:
        self.lasso = None if path is None else QPainterPath(path)

    def show_brush_outline(self, rect: QRectF | None) -> None:
        self.brush_outline = rect

    def report_cursor(self, image_pos: QPointF | None) -> None:
        self.cursor_at.append(image_pos)


def mouse(kind: QEvent.Type, x: float, y: float, button=LEFT) -> QMouseEvent:
    """A mouse event at image point (x, y), in view pixels."""
    pos = QPointF(x * SCALE, y * SCALE)
    buttons = NO_BUTTON if kind == QEvent.Type.MouseButtonRelease else button
    return QMouseEvent(kind, pos, pos, button, buttons, Qt.KeyboardModifier.NoModifier)


def drag(controller: CanvasController, points, button=LEFT) -> None:
    controller.mouse_press_event(mouse(QEvent.Type.MouseButtonPress, *points[0], button))
    for point in points[1:]:
        controller.mouse_move_event(mouse(QEvent.Type.MouseMove, *point, NO_BUTTON))
    controller.mouse_release_event(mouse(QEvent.Type.MouseButtonRelease, *points[-1], button))


def key(controller: CanvasController, name: Qt.Key, modifiers=Qt.KeyboardModifier.NoModifier) -> bool:
    return controller.key_press_event(QKeyEvent(QEvent.Type.KeyPress, name, modifiers))


@pytest.fixture
def surface(qapp) -> FakeSurface:
    return FakeSurface()


def test_the_canvas_and_the_fake_both_implement_the_surface(qtbot, surface):
    canvas = Canvas()
    qtbot.addWidget(canvas)
    assert isinstance(canvas, CanvasSurface) and isinstance(surface, CanvasSurface)


def test_a_brush_stroke_paints_the_editor_and_commits_once(surface):
    controller = CanvasController(surface)
    drag(controller, [(5, 5), (15, 5), (15.5, 12)])
    reference = MaskEditor(surface.mask_editor.shape)
    reference.begin_stroke(True, 2.0)
    for x, y in [(5, 5), (15, 5), (15.5, 12)]:
        reference.stroke_to(x - 0.5, y - 0.5)  # pixel centres sit on integers in the editor
    reference.end_stroke()
    assert reference.mask.any() and np.array_equal(surface.mask_editor.mask, reference.mask)
    assert surface.repainted and surface.commits == [surface.mask_editor.version]
    assert surface.cursor_at[-1] == QPointF(15.5, 12)
    assert surface.brush_outline == QRectF(15.5 - 2.5, 12.5 - 2.5, 5, 5)  # snapped to the pixel centre


def test_a_lasso_fills_on_release_and_escape_drops_it(surface):
    surface.current_tool = "lasso"
    controller = CanvasController(surface)
    drag(controller, [(4, 4), (14, 4), (14, 14), (4, 14)])
    mask = surface.mask_editor.mask
    assert mask[9, 9] and not mask[2, 2] and not mask[16, 16]
    assert len(surface.commits) == 1 and surface.lasso is None
    filled = mask.copy()
    controller.mouse_press_event(mouse(QEvent.Type.MouseButtonPress, 20, 2))
    controller.mouse_move_event(mouse(QEvent.Type.MouseMove, 28, 2, NO_BUTTON))
    assert surface.lasso is not None and surface.lasso.elementCount() == 2
    assert key(controller, Qt.Key.Key_Escape) and surface.lasso is None
    controller.mouse_move_event(mouse(QEvent.Type.MouseMove, 28, 10, NO_BUTTON))
    controller.mouse_release_event(mouse(QEvent.Type.MouseButtonRelease, 20, 10))
    assert np.array_equal(surface.mask_editor.mask, filled) and len(surface.commits) == 1


def test_read_only_pans_but_never_edits(surface):
    surface.read_only = True
    controller = CanvasController(surface)
    controller.update_cursor()
    assert surface.cursor_shape == Qt.CursorShape.ArrowCursor and surface.brush_outline is None
    drag(controller, [(5, 5), (10, 10)])
    assert not surface.mask_editor.mask.any() and not surface.repainted and not surface.commits
    assert surface.brush_outline is None  # no brush outline over a mask that cannot change
    controller.mouse_press_event(mouse(QEvent.Type.MouseButtonPress, 10, 10, MIDDLE))
    assert surface.cursor_shape == Qt.CursorShape.ClosedHandCursor
    controller.mouse_move_event(mouse(QEvent.Type.MouseMove, 7, 6, NO_BUTTON))
    controller.mouse_release_event(mouse(QEvent.Type.MouseButtonRelease, 7, 6, MIDDLE))
    assert surface.panned == QPointF(-3 * SCALE, -4 * SCALE)
    assert surface.cursor_shape == Qt.CursorShape.ArrowCursor


def test_keys_zoom_fit_and_resize_the_brush(surface):
    controller = CanvasController(surface)
    assert key(controller, Qt.Key.Key_Plus) and key(controller, Qt.Key.Key_F) and key(controller, Qt.Key.Key_1)
    assert surface.view_changes == [("zoom_by", 1.25), "fit", "actual_size"]
    assert key(controller, Qt.Key.Key_BracketRight) and surface.radius == pytest.approx(2.5)
    assert not key(controller, Qt.Key.Key_A)  # left to the widget
    ctrl_f = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert controller.claims_shortcut(QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_F,
                                                Qt.KeyboardModifier.NoModifier))
    assert not controller.claims_shortcut(ctrl_f)


def test_ctrl_right_drag_resizes_the_brush_around_where_it_began(surface):
    controller = CanvasController(surface)
    ctrl = Qt.KeyboardModifier.ControlModifier
    right = Qt.MouseButton.RightButton
    start = QPointF(10 * SCALE, 8 * SCALE)
    controller.mouse_press_event(QMouseEvent(QEvent.Type.MouseButtonPress, start, start, right, right, ctrl))
    farther = QPointF(start.x() + RESIZE_PX_PER_DOUBLING, start.y() + 30)
    controller.mouse_move_event(QMouseEvent(QEvent.Type.MouseMove, farther, farther, NO_BUTTON, right, ctrl))
    assert surface.radius == pytest.approx(4.0)  # one doubling to the right
    assert surface.brush_outline.center() == QPointF(10.5, 8.5)  # the outline stays where the drag began
    back = QPointF(start.x() - RESIZE_PX_PER_DOUBLING, start.y())
    controller.mouse_move_event(QMouseEvent(QEvent.Type.MouseMove, back, back, NO_BUTTON, right, ctrl))
    assert surface.radius == pytest.approx(1.0)
    controller.mouse_release_event(QMouseEvent(QEvent.Type.MouseButtonRelease, back, back, right, NO_BUTTON, ctrl))
    assert not surface.mask_editor.mask.any() and surface.commits == []  # resizing paints nothing
    drag(controller, [(3, 3), (4, 3)])
    assert surface.mask_editor.mask.any()  # and the next left drag paints again


def test_bracket_keys_redraw_the_outline_at_once(surface):
    controller = CanvasController(surface)
    controller.mouse_move_event(mouse(QEvent.Type.MouseMove, 10, 8, NO_BUTTON))
    before = surface.brush_outline.width()
    assert key(controller, Qt.Key.Key_BracketRight)
    assert surface.brush_outline.width() > before and surface.brush_outline.center() == QPointF(10.5, 8.5)


def test_the_magic_wand_fills_the_object_the_plain_fill_the_mask_region(surface):
    surface.rgb[5:12, 8:20] = (220, 30, 30)  # an object on a black background
    controller = CanvasController(surface)
    surface.current_tool = "wand"
    click = [(10, 8)]
    drag(controller, click)
    assert surface.mask_editor.mask.sum() == 7 * 12 and surface.mask_editor.mask[5:12, 8:20].all()
    assert len(surface.commits) == 1  # one undo step
    surface.current_tool = "wand_erase"
    drag(controller, click)
    assert not surface.mask_editor.mask.any()
    surface.current_tool = "fill"  # follows the mask: the whole empty mask fills
    drag(controller, click)
    assert surface.mask_editor.mask.all()
    surface.mask_editor.clear()
    controller.wand_tolerance = 255  # everything is "similar"
    surface.current_tool = "wand"
    drag(controller, click)
    assert surface.mask_editor.mask.all()


def test_click_to_mask_cuts_out_the_object_refines_with_each_click_and_is_one_undo_step_per_click(surface):
    rng = np.random.default_rng(0)
    surface.rgb[:] = np.clip(np.array((200, 120, 50)) + rng.normal(0, 8, surface.rgb.shape), 0, 255).astype(np.uint8)
    surface.rgb[4:14, 5:15] = (30, 30, 40)  # the object
    surface.rgb[4:14, 20:28] = (30, 30, 40)  # another one like it, not clicked
    surface.mask_editor.replace(np.pad(np.ones((2, 2), bool), ((17, 1), (0, 28))))  # painted before: kept
    painted = surface.mask_editor.mask.copy()
    controller = CanvasController(surface)
    surface.current_tool = "click"
    drag(controller, [(9, 8)])
    mask = surface.mask_editor.mask
    assert mask[4:14, 5:15].all() and not mask[4:14, 20:28].any() and (mask & painted).sum() == painted.sum()
    assert len(surface.commits) == 1
    drag(controller, [(24, 8)])  # a second positive click adds the other object
    assert surface.mask_editor.mask[4:14, 20:28].all() and len(surface.commits) == 2
    at, shift = QPointF(24 * SCALE, 8 * SCALE), Qt.KeyboardModifier.ShiftModifier
    controller.mouse_press_event(QMouseEvent(QEvent.Type.MouseButtonPress, at, at, LEFT, LEFT, shift))
    assert surface.mask_editor.mask[4:14, 20:28].all()  # a click counts on release (a drag is a box)
    controller.mouse_release_event(QMouseEvent(QEvent.Type.MouseButtonRelease, at, at, LEFT, NO_BUTTON, shift))
    # Shift+click on the same spot: the later click wins
    assert not surface.mask_editor.mask[4:14, 20:28].any() and surface.mask_editor.mask[4:14, 5:15].all()
    surface.mask_editor.undo()
    assert surface.mask_editor.mask[4:14, 20:28].all()
    surface.mask_editor.undo()
    surface.mask_editor.undo()
    assert np.array_equal(surface.mask_editor.mask, painted)
    drag(controller, [(24, 8)])  # after undo the clicks start anew, from the mask as it now is
    assert surface.mask_editor.mask[4:14, 20:28].all() and not surface.mask_editor.mask[4:14, 5:15].any()


def test_a_drag_with_click_to_mask_draws_a_box_and_cuts_out_the_object_inside_it(surface):
    rng = np.random.default_rng(1)
    surface.rgb[:] = np.clip(np.array((200, 120, 50)) + rng.normal(0, 8, surface.rgb.shape), 0, 255).astype(np.uint8)
    surface.rgb[4:14, 5:15] = (30, 30, 40)  # the object
    surface.rgb[4:14, 20:28] = (30, 30, 40)  # another one like it, outside the box
    controller = CanvasController(surface)
    surface.current_tool = "click"
    controller.mouse_press_event(mouse(QEvent.Type.MouseButtonPress, 2, 2))
    controller.mouse_move_event(mouse(QEvent.Type.MouseMove, 17, 16, NO_BUTTON))
    assert surface.lasso is not None and surface.lasso.boundingRect() == QRectF(2, 2, 15, 14)  # the box shown
    assert surface.commits == []  # nothing until the release
    controller.mouse_release_event(mouse(QEvent.Type.MouseButtonRelease, 17, 16))
    mask = surface.mask_editor.mask
    assert surface.lasso is None and len(surface.commits) == 1
    assert mask[4:14, 5:15].all() and not mask[:, 17:].any() and mask.sum() == 100

    surface.mask_editor.undo()
    controller.mouse_press_event(mouse(QEvent.Type.MouseButtonPress, 2, 2))
    controller.mouse_move_event(mouse(QEvent.Type.MouseMove, 17, 16, NO_BUTTON))
    assert key(controller, Qt.Key.Key_Escape) and surface.lasso is None  # Escape drops the box
    controller.mouse_release_event(mouse(QEvent.Type.MouseButtonRelease, 17, 16))
    assert not surface.mask_editor.mask.any() and len(surface.commits) == 1
