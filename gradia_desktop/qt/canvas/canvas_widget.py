"""The painting surface: the image, a Grad-CAM overlay and the editable attention mask.

Scene coordinates are image pixels, pixel i spanning [i, i+1). The mask layer is one persistent
ARGB32 QImage written through a NumPy view of its bits: an edit converts only the rectangle the
editor reports (plus one pixel, for the outline) and repaints only that rectangle. The heatmap is
coloured at up to HEAT_MAX_SIDE pixels and scaled smoothly when drawn; its full-size values are made
only when asked for (``heatmap()``, "mask from heatmap"). Mouse and keys: canvas_input.py.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmapCache, QTransform
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from ...core.mask_edit import MaskEditor, Rect, mask_from_heatmap
from .interaction import CanvasInput
from .layers import (
    COLORMAPS,
    HEAT_MAX_SIDE,
    MASK_COLOR,
    ImageLayer,
    MaskLayer,
    PreparedMask,
    heat_shape,
    heatmap_bgra,
)

__all__ = ["BACKGROUND", "COLORMAPS", "HEAT_MAX_SIDE", "RADIUS_RANGE", "TOOLS", "ZOOM_RANGE", "Canvas"]

TOOLS = ("brush", "eraser", "fill", "erase_fill", "lasso", "lasso_erase", "pan")
BACKGROUND = QColor(38, 40, 44)
RADIUS_RANGE = (0.5, 500.0)
ZOOM_RANGE = (0.01, 256.0)
MARGIN = 12  # screen pixels kept free around the fitted image
PIXMAP_CACHE_KB = 256 * 1024  # room for the two layers' screen-sized caches on a 4K display


class Canvas(CanvasInput, QGraphicsView):
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
        for z, item in enumerate((self.image_item, self.heat_item, self.mask_item)):
            item.setZValue(z)
            scene.addItem(item)
        # The image and heatmap change rarely: keeping them rendered at screen resolution makes a
        # repaint a blit instead of a rescale of up to 4096x4096 pixels (full repaint ~10 -> ~4 ms).
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        for item in (self.image_item, self.heat_item):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._init_input(scene)

        self._shape: tuple[int, int] | None = None  # the image's (H, W)
        self._rgb: np.ndarray | None = None  # made from the layer on demand when a QImage was shown
        self._editor: MaskEditor | None = None
        self._cam_src: np.ndarray | None = None  # the CAM as given (any size; never written to)
        self._cam: np.ndarray | None = None  # at image size in [0, 1], made on demand
        self._cam_u8: np.ndarray | None = None  # at the heat layer's size
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
        self._update_cursor()

    # ---- content ------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | QImage | None) -> None:
        """Show an (H, W, 3) uint8 RGB image, or a QImage from ``rgb_layer_image`` (shown as it is,
        never written to), or nothing; drops the heatmap and the editor."""
        self._finish_drag()
        self._editor = None
        if isinstance(rgb, QImage):
            self._rgb = None
            self.image_item.adopt(rgb)
            shape = (rgb.height(), rgb.width())
        else:
            self._rgb = None if rgb is None else np.asarray(rgb)
            shape = None if rgb is None else self._rgb.shape[:2]
            self.image_item.reset(shape, opaque=True)
            if rgb is not None:
                cv2.cvtColor(self._rgb, cv2.COLOR_RGB2BGRA, dst=self.image_item.array)
        self._shape = shape
        self.mask_item.reset(shape)
        self.set_heatmap(None)
        self.scene().setSceneRect(self.image_item.boundingRect())
        self.fit()
        self.editor_changed.emit()

    def image_shape(self) -> tuple[int, int] | None:
        """The image's (H, W), or None."""
        return self._shape

    def image(self) -> np.ndarray | None:
        """The image as (H, W, 3) uint8 RGB."""
        if self._rgb is None and self._shape is not None:
            self._rgb = cv2.cvtColor(self.image_item.array, cv2.COLOR_BGRA2RGB)
        return self._rgb

    def set_editor(self, editor: MaskEditor | None, prepared: PreparedMask | None = None) -> None:
        """Render ``editor.mask`` and send edits to it (its shape must match the image). A
        ``prepared`` layer (canvas_layers.mask_layer_image) is adopted when it shows this editor's
        current mask in the current colour."""
        self._finish_drag()
        if editor is not None and (self._shape is None or editor.shape != self._shape):
            raise ValueError(f"editor shape {editor.shape} does not match the image")
        self._editor = editor
        if editor is None:
            self.mask_item.reset(self._shape)
        elif prepared is not None and prepared.fits(editor, self.mask_item.lut):
            self.mask_item.adopt(prepared.image)
        else:
            self.mask_item.render(editor.mask)
        self.editor_changed.emit()

    def editor(self) -> MaskEditor | None:
        return self._editor

    def mask_lut(self) -> np.ndarray:
        """The mask layer's colours, for canvas_layers.mask_layer_image."""
        return self.mask_item.lut.copy()

    def set_heatmap(self, cam: np.ndarray | None) -> None:
        """Overlay a CAM in [0, 1] of any size (scaled bilinearly to the image). The canvas keeps a
        reference to ``cam`` and never writes to it: do not change it afterwards."""
        if cam is None or self._shape is None:
            self._cam_src = self._cam = self._cam_u8 = None
            self.heat_item.reset(None)
        else:
            cam = np.asarray(cam, np.float32)
            if cam.ndim != 2:
                raise ValueError(f"heatmap must be 2-D, got shape {cam.shape}")
            h, w = self._shape
            dh, dw = heat_shape(h, w)
            small = cam if cam.shape == (dh, dw) else cv2.resize(cam, (dw, dh), interpolation=cv2.INTER_LINEAR)
            small = np.clip(small, 0.0, 1.0)  # a copy: the caller's array is never touched
            small[np.isnan(small)] = 0.0
            self._cam_src, self._cam = cam, None
            self._cam_u8 = cv2.convertScaleAbs(small, alpha=255.0)  # rounds to nearest
            self.heat_item.reset((h, w), fill=False, resolution=(dh, dw))
            self._render_heatmap()
        self.heat_item.setVisible(self._heat_visible)

    def heatmap(self) -> np.ndarray | None:
        """The CAM at the image's size, float32 in [0, 1] (made on first use)."""
        if self._cam is None and self._cam_src is not None:
            h, w = self._shape
            cam = self._cam_src
            if cam.shape != (h, w):
                cam = cv2.resize(cam, (w, h), interpolation=cv2.INTER_LINEAR)
            cam = np.clip(cam, 0.0, 1.0)
            cam[np.isnan(cam)] = 0.0
            self._cam = cam
        return self._cam

    def _cam_at(self, x: int, y: int) -> float | None:
        """heatmap()[y, x] without making the full-size CAM (cv2's bilinear sampling)."""
        src = self._cam if self._cam is not None else self._cam_src
        if src is None:
            return None
        h, w = self._shape
        sh, sw = src.shape
        if (sh, sw) == (h, w):
            value = float(src[y, x])
        else:
            fx = min(max((x + 0.5) * sw / w - 0.5, 0.0), sw - 1.0)
            fy = min(max((y + 0.5) * sh / h - 0.5, 0.0), sh - 1.0)
            x0, y0 = int(fx), int(fy)
            x1, y1, ax, ay = min(x0 + 1, sw - 1), min(y0 + 1, sh - 1), fx - x0, fy - y0
            value = float((src[y0, x0] * (1 - ax) + src[y0, x1] * ax) * (1 - ay)
                          + (src[y1, x0] * (1 - ax) + src[y1, x1] * ax) * ay)
        return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)

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

    def mask_color(self) -> QColor:
        return QColor(self._mask_color)

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
        if self._cam_src is None:
            self.message.emit("No heatmap to make a mask from")
            return None
        return self._edit(lambda e: e.replace(mask_from_heatmap(self.heatmap(), threshold)))

    def _edit(self, operation) -> Rect | None:
        self._finish_drag()
        if not self._can_edit():
            return None
        rect = operation(self._editor)
        self._changed(rect, commit=True)
        return rect

    def _can_edit(self) -> bool:
        if self._editor is None:
            self.message.emit("No image to edit" if self._shape is None else "No mask to edit")
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

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()
