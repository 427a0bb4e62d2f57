"""The canvas's mouse and keyboard: tools (brush, fill, lasso), panning, zoom keys, the brush outline.

``CanvasController`` turns the events ``Canvas`` (canvas_widget.py) forwards to it into editor calls
(click to mask's clicks and dragged boxes go to click_to_mask.py, the superpixel tool's clicks to
superpixel_tool.py). It holds only the state of a gesture (an open stroke, lasso, box or pan; Space
held) and reaches the canvas through ``CanvasSurface`` alone, so it can be driven against any object
that implements that.
Points go to the editor as image - 0.5 (MaskEditor puts pixel centres on integers, the image puts
pixel i on [i, i+1)).
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainterPath, QWheelEvent

from ...core.layered_mask_edit import LayeredMaskEditor
from ...core.mask_edit import Rect
from .click_to_mask import ClickToMask
from .click_worker import ClickWorker
from .superpixel_tool import SuperpixelTool

_ZOOM_KEYS = {Qt.Key.Key_Plus: 1.25, Qt.Key.Key_Equal: 1.25, Qt.Key.Key_Minus: 0.8}
_KEYS = {*_ZOOM_KEYS, Qt.Key.Key_F, Qt.Key.Key_1, Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight,
         Qt.Key.Key_Space, Qt.Key.Key_Escape}
_BRUSHES = ("brush", "eraser")
_CLICK_TOOLS = ("click", "superpixel")  # a click adds, Shift+click or right-click takes away
DEFAULT_WAND_TOLERANCE = 32  # per colour channel, 0-255
RESIZE_PX_PER_DOUBLING = 80  # Ctrl + right-drag: this many view pixels to the right double the brush
BOX_MIN_DRAG_PX = 4  # Click to mask: a press and release closer than this (view pixels) is a click, not a box


@runtime_checkable
class CanvasSurface(Protocol):
    """What CanvasController needs from the canvas it drives (Canvas is the one in the app)."""

    def editor(self) -> LayeredMaskEditor | None:
        """The mask's layers; the tools edit its active one."""

    def image_shape(self) -> tuple[int, int] | None: ...

    def image(self) -> np.ndarray | None:
        """The RGB image shown (the magic wand grows its region on it)."""

    def heatmap(self) -> np.ndarray | None:
        """The heatmap shown, at the image's size in [0, 1] (click to mask may start from it)."""

    def tool(self) -> str: ...

    def brush_radius(self) -> float: ...

    def set_brush_radius(self, radius: float) -> None: ...

    def is_read_only(self) -> bool: ...

    def can_edit(self) -> bool:
        """Whether there is a mask that may be changed; when not, the canvas tells the user why."""

    def view_to_image(self, view_pos: QPointF) -> QPointF:
        """A viewport point in image coordinates (pixel i spans [i, i+1))."""

    def zoom(self) -> float: ...

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None: ...

    def fit(self) -> None: ...

    def actual_size(self) -> None: ...

    def pan_by(self, delta: QPointF) -> None:
        """Move the image by ``delta`` viewport pixels (it follows the mouse)."""

    def set_cursor_shape(self, shape: Qt.CursorShape) -> None: ...

    def repaint_mask(self, rect: Rect) -> None:
        """Show the editor's mask anew inside ``rect`` (the editor just changed it there)."""

    def commit_edit(self) -> None:
        """Announce the editor's current version as one finished edit (an undo step)."""

    def show_lasso(self, path: QPainterPath | None) -> None:
        """Outline the lasso (or click to mask's box) drawn so far (image coordinates), or hide it."""

    def show_brush_outline(self, rect: QRectF | None) -> None:
        """Outline the brush's reach at ``rect`` (image coordinates), or hide it."""

    def report_cursor(self, image_pos: QPointF | None) -> None:
        """The mouse is at ``image_pos``, or has left the canvas."""


class CanvasController:
    """Event handling for a ``CanvasSurface``; see the module docstring. The ``*_event`` methods
    return False for events left to the widget's default handling."""

    def __init__(self, surface: CanvasSurface, click_to_mask: ClickToMask | None = None,
                 superpixels: SuperpixelTool | None = None):
        self._surface = surface
        self.click_to_mask = click_to_mask or ClickToMask(surface, ClickWorker())
        self._superpixels = superpixels  # the superpixel tool, and the labels a snapped stroke grows to
        self._drag: str | None = None  # 'stroke' | 'lasso' | 'pan' | 'resize' | 'box'
        self._last_view_pos = QPointF()
        self._last_image_pos: QPointF | None = None  # where the brush outline was last drawn
        self._resize_from: tuple[float, float, QPointF] | None = None  # view x, radius, image point
        self._lasso: list[tuple[float, float]] = []
        self._lasso_path = QPainterPath()
        self._box_from: tuple[QPointF, QPointF, bool] | None = None  # view and image point, Shift held
        self._space = False
        self.wand_tolerance = DEFAULT_WAND_TOLERANCE

    def claims_shortcut(self, event: QKeyEvent) -> bool:
        """Whether a ShortcutOverride is one of our single-key commands, which win over window
        shortcuts while the canvas has focus."""
        return event.key() in _KEYS and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier

    def key_press_event(self, event: QKeyEvent) -> bool:
        surface, key = self._surface, event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self.update_cursor()
        elif key in _ZOOM_KEYS:
            surface.zoom_by(_ZOOM_KEYS[key])
        elif key == Qt.Key.Key_F:
            surface.fit()
        elif key == Qt.Key.Key_1:
            surface.actual_size()
        elif key in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight):
            surface.set_brush_radius(surface.brush_radius() * (0.8 if key == Qt.Key.Key_BracketLeft else 1.25))
            self.update_cursor()
        elif key == Qt.Key.Key_Escape and self._drag in ("lasso", "box"):
            self._drag = None
            surface.show_lasso(None)
        else:
            return False
        return True

    def key_release_event(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.update_cursor()
            return True
        return False

    def wheel_event(self, event: QWheelEvent) -> bool:
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return False
        steps = event.angleDelta().y() / 120
        if steps:
            self._surface.zoom_by(1.25 ** steps, event.position())
        event.accept()
        return True

    def mouse_press_event(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            return
        surface = self._surface
        pos = event.position()
        self._last_view_pos = pos
        button = event.button()
        tool = surface.tool()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and
                                                     (self._space or tool == "pan")):
            self._drag = "pan"
            surface.set_cursor_shape(Qt.CursorShape.ClosedHandCursor)
            return
        if (button == Qt.MouseButton.RightButton and event.modifiers() & Qt.KeyboardModifier.ControlModifier
                and tool in _BRUSHES and not surface.is_read_only()):
            self._drag = "resize"  # the outline stays where the drag began and grows or shrinks there
            self._resize_from = (pos.x(), surface.brush_radius(), surface.view_to_image(pos))
            return
        if tool in _CLICK_TOOLS and button == Qt.MouseButton.RightButton and surface.can_edit():
            self._region_click(tool, pos, add=False)
            return
        if button != Qt.MouseButton.LeftButton or not surface.can_edit():
            return
        editor = surface.editor()
        p = surface.view_to_image(pos)
        x, y = p.x() - 0.5, p.y() - 0.5
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if tool == "click":  # a click on release; a drag draws a box
            self._drag, self._box_from = "box", (pos, p, shift)
            return
        if tool in _CLICK_TOOLS:
            self._region_click(tool, pos, add=not shift)
            return
        if tool in _BRUSHES:
            if self._superpixels is not None:
                self._superpixels.prefetch()  # a snapped stroke's end should not wait for them
            editor.begin_stroke(tool == "brush", surface.brush_radius())
            self._drag = "stroke"
            self._show_change(editor.stroke_to(x, y), commit=False)
        elif tool in ("fill", "erase_fill"):
            self._show_change(editor.flood_fill(x, y, tool == "fill"), commit=True)
        elif tool in ("wand", "wand_erase"):
            self._show_change(editor.wand_fill(surface.image(), x, y, self.wand_tolerance, tool == "wand"), commit=True)
        elif tool in ("lasso", "lasso_erase"):
            self._drag = "lasso"
            self._lasso = [(x, y)]
            self._lasso_path = QPainterPath(p)
            surface.show_lasso(self._lasso_path)

    def mouse_move_event(self, event: QMouseEvent) -> None:
        surface = self._surface
        pos = event.position()
        p = surface.view_to_image(pos)
        if self._drag == "pan":
            surface.pan_by(pos - self._last_view_pos)
        elif self._drag == "resize":
            x0, radius, anchor = self._resize_from
            surface.set_brush_radius(radius * 2 ** ((pos.x() - x0) / RESIZE_PX_PER_DOUBLING))
            self._move_brush(anchor)
            self._last_view_pos = pos
            return
        elif self._drag == "stroke":
            self._show_change(surface.editor().stroke_to(p.x() - 0.5, p.y() - 0.5), commit=False)
        elif self._drag == "box":
            path = QPainterPath()
            if self._is_box(pos):
                path.addRect(QRectF(self._box_from[1], p).normalized())
            surface.show_lasso(path)
        elif self._drag == "lasso":
            last = self._lasso[-1]
            if math.hypot(p.x() - 0.5 - last[0], p.y() - 0.5 - last[1]) * surface.zoom() >= 2:
                self._lasso.append((p.x() - 0.5, p.y() - 0.5))
                self._lasso_path.lineTo(p)
                surface.show_lasso(self._lasso_path)
        self._last_view_pos = pos
        self._move_brush(p)
        surface.report_cursor(p)

    def mouse_release_event(self, event: QMouseEvent) -> None:
        if self._drag == "pan" and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._drag = None
            self.update_cursor()
        elif self._drag == "resize" and event.button() == Qt.MouseButton.RightButton:
            self._drag, self._resize_from = None, None
        elif event.button() == Qt.MouseButton.LeftButton and self._drag == "box":
            self._drag = None
            self._surface.show_lasso(None)
            self._click_or_box(event.position())
        elif event.button() == Qt.MouseButton.LeftButton and self._drag in ("stroke", "lasso"):
            if self._drag == "lasso":
                p = self._surface.view_to_image(event.position())
                self._lasso.append((p.x() - 0.5, p.y() - 0.5))
            self.finish_drag()

    def leave_event(self, _event: QEvent) -> None:
        self._last_image_pos = None
        self._surface.show_brush_outline(None)
        self._surface.report_cursor(None)

    def finish_drag(self) -> None:
        """Commit an open stroke or lasso (before any other operation, so undo never splits one)."""
        surface = self._surface
        drag, self._drag = self._drag, None
        self._resize_from = None
        editor = surface.editor()
        if drag == "stroke" and editor is not None:
            snaps = self._superpixels is not None and editor.stroke_open
            snap = self._superpixels.snap_labels() if snaps else None
            rect = editor.end_stroke(snap)
            if rect is not None and snap is not None:
                surface.repaint_mask(rect)  # what the stroke grew to; the stroke itself is shown already
            if rect is not None:
                surface.commit_edit()
        elif drag in ("lasso", "box"):  # a box not yet released is dropped
            surface.show_lasso(None)
            if editor is not None and len(self._lasso) >= 3:
                self._show_change(editor.fill_polygon(self._lasso, surface.tool() == "lasso"), commit=True)
            self._lasso = []
        if self._superpixels is not None:
            self._superpixels.apply_clicks()  # those that arrived during the stroke

    def update_cursor(self) -> None:
        """The cursor and brush outline for the current tool, read-only state and Space key."""
        surface = self._surface
        tool, read_only = surface.tool(), surface.is_read_only()
        if self._space or tool == "pan":
            shape = Qt.CursorShape.OpenHandCursor
        elif read_only:
            shape = Qt.CursorShape.ArrowCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        surface.set_cursor_shape(shape)
        if self._space or read_only or tool not in _BRUSHES:
            surface.show_brush_outline(None)
        elif self._last_image_pos is not None:  # a new size ([ and ]) shows at once, not at the next move
            self._move_brush(self._last_image_pos)

    def _region_click(self, tool: str, pos: QPointF, add: bool) -> None:
        p = self._surface.view_to_image(pos)
        if tool == "click":
            self.click_to_mask.click(p.x() - 0.5, p.y() - 0.5, add)
        elif self._superpixels is not None:
            self._superpixels.click(p.x() - 0.5, p.y() - 0.5, add)

    def _is_box(self, view_pos: QPointF) -> bool:
        start = self._box_from[0]
        return max(abs(view_pos.x() - start.x()), abs(view_pos.y() - start.y())) >= BOX_MIN_DRAG_PX

    def _click_or_box(self, view_pos: QPointF) -> None:
        """The end of a left press with Click to mask: a click where it began, or the box dragged."""
        start_view, start, shift = self._box_from
        is_box = self._is_box(view_pos)
        self._box_from = None
        if not self._surface.can_edit():
            return
        if not is_box:
            self._region_click("click", start_view, add=not shift)
            return
        end = self._surface.view_to_image(view_pos)  # box edges lie between pixels: no half-pixel shift
        self.click_to_mask.box(start.x(), start.y(), end.x(), end.y())

    def _show_change(self, rect: Rect | None, commit: bool) -> None:
        if rect is not None:
            self._surface.repaint_mask(rect)
            if commit:
                self._surface.commit_edit()

    def _move_brush(self, p: QPointF) -> None:
        surface = self._surface
        if (surface.tool() not in _BRUSHES or surface.is_read_only() or surface.image_shape() is None
                or self._space or self._drag == "pan"):
            surface.show_brush_outline(None)
            return
        self._last_image_pos = p
        r = surface.brush_radius() + 0.5  # pixels whose centres lie within the radius reach half a pixel further
        cx, cy = math.floor(p.x()) + 0.5, math.floor(p.y()) + 0.5  # the dab snaps to a pixel centre
        surface.show_brush_outline(QRectF(cx - r, cy - r, 2 * r, 2 * r))
