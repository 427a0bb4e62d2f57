"""The canvas's mouse and keyboard: tools (brush, fill, lasso), panning, zoom keys, the brush outline.

``CanvasInput`` is a mixin of ``Canvas`` (canvas.py), which owns the editor, the layers and the
zoom; this part turns events into editor calls. Points go to the editor as scene - 0.5 (MaskEditor
puts pixel centres on integers, the scene puts pixel i on [i, i+1)).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsScene

_ZOOM_KEYS = {Qt.Key.Key_Plus: 1.25, Qt.Key.Key_Equal: 1.25, Qt.Key.Key_Minus: 0.8}
_KEYS = {*_ZOOM_KEYS, Qt.Key.Key_F, Qt.Key.Key_1, Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight,
         Qt.Key.Key_Space, Qt.Key.Key_Escape}


class CanvasInput:
    """Event handling for Canvas; see the module docstring."""

    def _init_input(self, scene: QGraphicsScene) -> None:
        self.lasso_items = [QGraphicsPathItem() for _ in range(2)]
        self.brush_items = [QGraphicsEllipseItem() for _ in range(2)]
        for items, z in ((self.lasso_items, 5), (self.brush_items, 6)):
            for item, (colour, width) in zip(items, ((QColor(0, 0, 0, 160), 3.0), (QColor(255, 255, 255), 1.2))):
                pen = QPen(colour, width)
                pen.setCosmetic(True)
                item.setPen(pen)
                item.setZValue(z)
                item.setVisible(False)
                scene.addItem(item)
        self._drag: str | None = None  # 'stroke' | 'lasso' | 'pan'
        self._last_view_pos = QPointF()
        self._lasso: list[tuple[float, float]] = []
        self._lasso_path = QPainterPath()
        self._space = False

    def event(self, event) -> bool:
        # Let our single-key commands win over window shortcuts while the canvas has focus.
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in _KEYS and \
                not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self._update_cursor()
        elif key in _ZOOM_KEYS:
            self.zoom_by(_ZOOM_KEYS[key])
        elif key == Qt.Key.Key_F:
            self.fit()
        elif key == Qt.Key.Key_1:
            self.actual_size()
        elif key in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight):
            self.set_brush_radius(self._radius * (0.8 if key == Qt.Key.Key_BracketLeft else 1.25))
        elif key == Qt.Key.Key_Escape and self._drag == "lasso":
            self._drag = None
            self._show_lasso(None)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor()
        else:
            super().keyReleaseEvent(event)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.zoom_by(1.25 ** steps, event.position())
            event.accept()
        else:
            super().wheelEvent(event)

    def mousePressEvent(self, event) -> None:
        if self._drag is not None:
            return
        pos = event.position()
        self._last_view_pos = pos
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and
                                                     (self._space or self._tool == "pan")):
            self._drag = "pan"
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if button != Qt.MouseButton.LeftButton or not self._can_edit():
            return
        p = self._to_scene(pos)
        x, y = p.x() - 0.5, p.y() - 0.5
        tool = self._tool
        if tool in ("brush", "eraser"):
            self._editor.begin_stroke(tool == "brush", self._radius)
            self._drag = "stroke"
            self._changed(self._editor.stroke_to(x, y), commit=False)
        elif tool in ("fill", "erase_fill"):
            self._changed(self._editor.flood_fill(x, y, tool == "fill"), commit=True)
        elif tool in ("lasso", "lasso_erase"):
            self._drag = "lasso"
            self._lasso = [(x, y)]
            self._lasso_path = QPainterPath(p)
            self._show_lasso(self._lasso_path)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        p = self._to_scene(pos)
        if self._drag == "pan":
            d = pos - self._last_view_pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(d.y()))
        elif self._drag == "stroke":
            self._changed(self._editor.stroke_to(p.x() - 0.5, p.y() - 0.5), commit=False)
        elif self._drag == "lasso":
            last = self._lasso[-1]
            if math.hypot(p.x() - 0.5 - last[0], p.y() - 0.5 - last[1]) * self.zoom() >= 2:
                self._lasso.append((p.x() - 0.5, p.y() - 0.5))
                self._lasso_path.lineTo(p)
                self._show_lasso(self._lasso_path)
        self._last_view_pos = pos
        self._move_brush(p)
        self.cursor_moved.emit(self._pixel_info(p))

    def mouseReleaseEvent(self, event) -> None:
        if self._drag == "pan" and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._drag = None
            self._update_cursor()
        elif event.button() == Qt.MouseButton.LeftButton and self._drag in ("stroke", "lasso"):
            if self._drag == "lasso":
                p = self._to_scene(event.position())
                self._lasso.append((p.x() - 0.5, p.y() - 0.5))
            self._finish_drag()

    def leaveEvent(self, event) -> None:
        for item in self.brush_items:
            item.setVisible(False)
        self.cursor_moved.emit(None)
        super().leaveEvent(event)

    def _finish_drag(self) -> None:
        """Commit an open stroke or lasso (before any other operation, so undo never splits one)."""
        drag, self._drag = self._drag, None
        if drag == "stroke" and self._editor is not None:
            rect = self._editor.end_stroke()
            if rect is not None:
                self.mask_edited.emit(self._editor.version)
        elif drag == "lasso":
            self._show_lasso(None)
            if self._editor is not None and len(self._lasso) >= 3:
                self._changed(self._editor.fill_polygon(self._lasso, self._tool == "lasso"), commit=True)
            self._lasso = []

    def _show_lasso(self, path: QPainterPath | None) -> None:
        for item in self.lasso_items:
            item.setPath(path if path is not None else QPainterPath())
            item.setVisible(path is not None)

    def _pixel_info(self, p: QPointF) -> dict | None:
        if self._shape is None:
            return None
        x, y = math.floor(p.x()), math.floor(p.y())
        h, w = self._shape
        if not (0 <= x < w and 0 <= y < h):
            return None
        b, g, r = self.image_item.array[y, x, :3]
        return {"x": x, "y": y, "rgb": (int(r), int(g), int(b)),
                "mask": None if self._editor is None else bool(self._editor.mask[y, x]),
                "cam": self._cam_at(x, y)}

    def _move_brush(self, p: QPointF) -> None:
        show = self._tool in ("brush", "eraser") and not self._read_only and self._shape is not None \
            and not self._space and self._drag != "pan"
        if show:
            r = self._radius + 0.5  # pixels whose centres lie within the radius reach half a pixel further
            cx, cy = math.floor(p.x()) + 0.5, math.floor(p.y()) + 0.5  # the dab snaps to a pixel centre
            for item in self.brush_items:
                item.setRect(cx - r, cy - r, 2 * r, 2 * r)
        for item in self.brush_items:
            item.setVisible(show)

    def _update_cursor(self) -> None:
        if self._space or self._tool == "pan":
            shape = Qt.CursorShape.OpenHandCursor
        elif self._read_only:
            shape = Qt.CursorShape.ArrowCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.viewport().setCursor(shape)
        if self._space or self._read_only or self._tool not in ("brush", "eraser"):
            for item in self.brush_items:
                item.setVisible(False)
