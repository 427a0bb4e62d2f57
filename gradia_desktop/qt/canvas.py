"""The painting surface: the image, a Grad-CAM overlay and the editable attention mask.

Scene coordinates are image pixels, pixel i spanning [i, i+1); MaskEditor puts pixel centres on
integers, so points go to the editor as scene - 0.5. The mask layer is one persistent ARGB32
QImage written through a NumPy view of its bits: an edit converts only the rectangle the editor
reports (plus one pixel, for the outline) and repaints only that rectangle.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QPainterPath,
    QPen,
    QPixmapCache,
    QTransform,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from ..core.mask_edit import MaskEditor, Rect, mask_from_heatmap
from .canvas_layers import COLORMAPS, MASK_COLOR, ImageLayer, MaskLayer, heatmap_bgra

TOOLS = ("brush", "eraser", "fill", "erase_fill", "lasso", "lasso_erase", "pan")
BACKGROUND = QColor(38, 40, 44)
RADIUS_RANGE = (0.5, 500.0)
ZOOM_RANGE = (0.01, 256.0)
MARGIN = 12  # screen pixels kept free around the fitted image
PIXMAP_CACHE_KB = 256 * 1024  # room for the two layers' screen-sized caches on a 4K display
_ZOOM_KEYS = {Qt.Key.Key_Plus: 1.25, Qt.Key.Key_Equal: 1.25, Qt.Key.Key_Minus: 0.8}
_KEYS = {*_ZOOM_KEYS, Qt.Key.Key_F, Qt.Key.Key_1, Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight,
         Qt.Key.Key_Space, Qt.Key.Key_Escape}


class Canvas(QGraphicsView):
    """See the module docstring. Call set_image first: it drops the old heatmap and editor."""

    mask_edited = Signal(int)  # editor.version after a committed edit
    cursor_moved = Signal(object)  # None or {x, y, rgb, mask, cam}
    zoom_changed = Signal(float)
    message = Signal(str)
    brush_radius_changed = Signal(float)
    tool_changed = Signal(str)
    editor_changed = Signal()  # a new image or editor, or read-only toggled

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # few items, one always moving
        self.setScene(scene)
        self.setBackgroundBrush(BACKGROUND)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)

        self.image_item = ImageLayer(smooth=True)
        self.heat_item = ImageLayer(smooth=True)
        self.mask_item = MaskLayer()
        self.lasso_items = [QGraphicsPathItem() for _ in range(2)]
        self.brush_items = [QGraphicsEllipseItem() for _ in range(2)]
        for z, item in enumerate((self.image_item, self.heat_item, self.mask_item)):
            item.setZValue(z)
            scene.addItem(item)
        # The image and heatmap change rarely: keeping them rendered at screen resolution makes a
        # repaint a blit instead of a rescale of up to 4096x4096 pixels (full repaint ~10 -> ~4 ms).
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        for item in (self.image_item, self.heat_item):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        for items, z in ((self.lasso_items, 5), (self.brush_items, 6)):
            for item, (colour, width) in zip(items, ((QColor(0, 0, 0, 160), 3.0), (QColor(255, 255, 255), 1.2))):
                pen = QPen(colour, width)
                pen.setCosmetic(True)
                item.setPen(pen)
                item.setZValue(z)
                item.setVisible(False)
                scene.addItem(item)

        self._rgb: np.ndarray | None = None
        self._editor: MaskEditor | None = None
        self._cam: np.ndarray | None = None
        self._cam_u8: np.ndarray | None = None
        self._colormap = "jet"
        self._heat_visible = self._mask_visible = True
        self._mask_color = QColor(MASK_COLOR)
        self.mask_item.set_color(self._mask_color)
        self.set_heatmap_opacity(0.7)
        self.set_mask_opacity(0.9)
        self._tool = "brush"
        self._radius = 8.0
        self._read_only = False
        self._fit_mode = True
        self._drag: str | None = None  # 'stroke' | 'lasso' | 'pan'
        self._last_view_pos = QPointF()
        self._lasso: list[tuple[float, float]] = []
        self._lasso_path = QPainterPath()
        self._space = False
        self._update_cursor()

    # ---- content ------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | None) -> None:
        """Show an (H, W, 3) uint8 RGB image (or nothing); drops the heatmap and the editor."""
        self._finish_drag()
        self._rgb = None if rgb is None else np.asarray(rgb)
        self._editor = None
        shape = None if rgb is None else self._rgb.shape[:2]
        self.mask_item.reset(shape)
        self.set_heatmap(None)
        self.image_item.reset(shape, opaque=True)
        if rgb is not None:
            cv2.cvtColor(self._rgb, cv2.COLOR_RGB2BGRA, dst=self.image_item.array)
        self.scene().setSceneRect(self.image_item.boundingRect())
        self.fit()
        self.editor_changed.emit()

    def image(self) -> np.ndarray | None:
        return self._rgb

    def set_editor(self, editor: MaskEditor | None) -> None:
        """Render ``editor.mask`` and send edits to it (its shape must match the image)."""
        self._finish_drag()
        if editor is not None and (self._rgb is None or editor.shape != self._rgb.shape[:2]):
            raise ValueError(f"editor shape {editor.shape} does not match the image")
        self._editor = editor
        if editor is None:
            self.mask_item.reset(None if self._rgb is None else self._rgb.shape[:2])
        else:
            self.mask_item.render(editor.mask)
        self.editor_changed.emit()

    def editor(self) -> MaskEditor | None:
        return self._editor

    def set_heatmap(self, cam: np.ndarray | None) -> None:
        """Overlay a CAM in [0, 1] (image size; other sizes are resized bilinearly)."""
        if cam is None or self._rgb is None:
            self._cam = self._cam_u8 = None
            self.heat_item.reset(None)
        else:
            cam = np.asarray(cam, np.float32)
            if cam.ndim != 2:
                raise ValueError(f"heatmap must be 2-D, got shape {cam.shape}")
            h, w = self._rgb.shape[:2]
            if cam.shape != (h, w):
                cam = cv2.resize(cam, (w, h), interpolation=cv2.INTER_LINEAR)
            cam = np.clip(cam, 0.0, 1.0)  # a copy: the caller's array is never touched
            cam[np.isnan(cam)] = 0.0
            self._cam = cam
            self._cam_u8 = cv2.convertScaleAbs(cam, alpha=255.0)  # rounds to nearest
            self.heat_item.reset((h, w), fill=False)
            self._render_heatmap()
        self.heat_item.setVisible(self._heat_visible)

    def heatmap(self) -> np.ndarray | None:
        return self._cam

    def _render_heatmap(self) -> None:
        if self._cam_u8 is not None:
            heatmap_bgra(self._cam_u8, self._colormap, self.heat_item.array)
            self.heat_item.update()

    # ---- appearance ---------------------------------------------------------------------------
    def set_heatmap_visible(self, visible: bool) -> None:
        self._heat_visible = bool(visible)
        self.heat_item.setVisible(self._heat_visible)

    def set_mask_visible(self, visible: bool) -> None:
        self._mask_visible = bool(visible)
        self.mask_item.setVisible(self._mask_visible)

    def set_heatmap_opacity(self, opacity: float) -> None:
        self.heat_item.setOpacity(min(max(float(opacity), 0.0), 1.0))

    def set_mask_opacity(self, opacity: float) -> None:
        self.mask_item.setOpacity(min(max(float(opacity), 0.0), 1.0))

    def heatmap_opacity(self) -> float:
        return self.heat_item.opacity()

    def mask_opacity(self) -> float:
        return self.mask_item.opacity()

    def set_colormap(self, name: str) -> None:
        if name not in COLORMAPS:
            raise ValueError(f"unknown colormap {name!r} (expected one of {', '.join(COLORMAPS)})")
        if name != self._colormap:
            self._colormap = name
            self._render_heatmap()

    def colormap(self) -> str:
        return self._colormap

    def set_mask_color(self, color: QColor) -> None:
        self._mask_color = QColor(color)
        self.mask_item.set_color(self._mask_color)
        if self._editor is not None:
            self.mask_item.render(self._editor.mask)

    # ---- tools --------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r} (expected one of {', '.join(TOOLS)})")
        self._finish_drag()
        if name != self._tool:
            self._tool = name
            self._update_cursor()
            self.tool_changed.emit(name)

    def tool(self) -> str:
        return self._tool

    def set_brush_radius(self, radius: float) -> None:
        radius = min(max(float(radius), RADIUS_RANGE[0]), RADIUS_RANGE[1])
        if radius != self._radius:
            self._radius = radius
            self._update_cursor()
            self.brush_radius_changed.emit(radius)

    def brush_radius(self) -> float:
        return self._radius

    def set_read_only(self, read_only: bool) -> None:
        self._finish_drag()
        self._read_only = bool(read_only)
        self._update_cursor()
        self.editor_changed.emit()

    def is_read_only(self) -> bool:
        return self._read_only

    # ---- edits (each emits mask_edited when it changed something) ----------------------------
    def undo(self) -> Rect | None:
        return self._edit(lambda e: e.undo())

    def redo(self) -> Rect | None:
        return self._edit(lambda e: e.redo())

    def clear_mask(self) -> Rect | None:
        return self._edit(lambda e: e.clear())

    def invert_mask(self) -> Rect | None:
        return self._edit(lambda e: e.invert())

    def mask_from_heatmap(self, threshold: float = 0.5) -> Rect | None:
        if self._cam is None:
            self.message.emit("No heatmap to make a mask from")
            return None
        return self._edit(lambda e: e.replace(mask_from_heatmap(self._cam, threshold)))

    def _edit(self, operation) -> Rect | None:
        self._finish_drag()
        if not self._can_edit():
            return None
        rect = operation(self._editor)
        self._changed(rect, commit=True)
        return rect

    def _can_edit(self) -> bool:
        if self._editor is None:
            self.message.emit("No image to edit" if self._rgb is None else "No mask to edit")
            return False
        if self._read_only:
            self.message.emit("Read-only: the mask cannot be changed")
            return False
        return True

    def _changed(self, rect: Rect | None, commit: bool) -> None:
        if rect is not None:
            self.mask_item.render(self._editor.mask, rect)
            if commit:
                self.mask_edited.emit(self._editor.version)

    # ---- zoom ---------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        """Fit the whole image in the view (kept fitted on resize until the user zooms)."""
        self._fit_mode = True
        rect = self.sceneRect()
        view = self.viewport().size()
        if rect.isEmpty() or view.isEmpty():
            return
        scale = min((view.width() - 2 * MARGIN) / rect.width(), (view.height() - 2 * MARGIN) / rect.height())
        self._set_zoom(max(scale, ZOOM_RANGE[0]), None)
        self.centerOn(rect.center())
        self._fit_mode = True

    def actual_size(self) -> None:
        self.zoom_by(1.0 / self.zoom())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the scene point under ``anchor`` (view pixels; default: centre)."""
        self._set_zoom(min(max(self.zoom() * factor, ZOOM_RANGE[0]), ZOOM_RANGE[1]), anchor)

    def _set_zoom(self, zoom: float, anchor: QPointF | None) -> None:
        self._fit_mode = False
        anchor = QPointF(self.viewport().rect().center()) if anchor is None else QPointF(anchor)
        before = self._to_scene(anchor)
        self.setTransform(QTransform.fromScale(zoom, zoom))
        delta = self.viewportTransform().map(before) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(delta.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(delta.y()))
        self.zoom_changed.emit(zoom)

    def _to_scene(self, view_pos: QPointF) -> QPointF:
        return self.viewportTransform().inverted()[0].map(QPointF(view_pos))

    # ---- input --------------------------------------------------------------------------------
    def event(self, event) -> bool:
        # Let our single-key commands win over window shortcuts while the canvas has focus.
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in _KEYS and \
                not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
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

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor()
        else:
            super().keyReleaseEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.zoom_by(1.25 ** steps, event.position())
            event.accept()
        else:
            super().wheelEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
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

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
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

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag == "pan" and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._drag = None
            self._update_cursor()
        elif event.button() == Qt.MouseButton.LeftButton and self._drag in ("stroke", "lasso"):
            if self._drag == "lasso":
                p = self._to_scene(event.position())
                self._lasso.append((p.x() - 0.5, p.y() - 0.5))
            self._finish_drag()

    def leaveEvent(self, event) -> None:  # noqa: N802
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
        if self._rgb is None:
            return None
        x, y = math.floor(p.x()), math.floor(p.y())
        h, w = self._rgb.shape[:2]
        if not (0 <= x < w and 0 <= y < h):
            return None
        return {"x": x, "y": y, "rgb": tuple(int(v) for v in self._rgb[y, x]),
                "mask": None if self._editor is None else bool(self._editor.mask[y, x]),
                "cam": None if self._cam is None else float(self._cam[y, x])}

    def _move_brush(self, p: QPointF) -> None:
        show = self._tool in ("brush", "eraser") and not self._read_only and self._rgb is not None \
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

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()
