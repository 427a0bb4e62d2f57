"""The painting surface: the image, a Grad-CAM overlay and the editable attention mask.

Scene coordinates are image pixels, pixel i spanning [i, i+1). The mask has two layers, "look here"
and "don't look here" (mask_overlay.py); the tools edit the one chosen with ``set_mask_layer``. Each
is one persistent ARGB32 QImage written through a NumPy view of its bits: an edit converts only the
rectangle the editor reports (plus one pixel, for the outline) and repaints only that rectangle. The
heatmap: heat_overlay.py. Mouse and keys: the CanvasController (interaction.py) the events are
forwarded to; the public methods it calls make up ``CanvasSurface``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QImage, QPainterPath, QPixmapCache
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QWidget,
)

from ...core.layered_mask_edit import LAYERS, LOOK, LayeredMaskEditor
from ...core.mask_edit import MaskEditor, Rect, mask_from_heatmap
from .image_view import BACKGROUND, ZOOM_RANGE, ImageView
from .click_to_mask import ClickToMask
from .click_worker import ClickWorker
from .heat_overlay import HeatOverlay
from .interaction import CanvasController
from .layers import COLORMAPS, HEAT_MAX_SIDE, MASK_COLOR, ImageLayer, PreparedMask, add_outline_items
from .mask_overlay import MaskOverlay
from .problem_banner import ProblemBanner
from .superpixel_tool import SuperpixelTool

__all__ = ["BACKGROUND", "COLORMAPS", "HEAT_MAX_SIDE", "RADIUS_RANGE", "TOOLS", "ZOOM_RANGE", "Canvas"]

TOOLS = ("brush", "eraser", "fill", "erase_fill", "wand", "wand_erase", "superpixel", "click", "lasso", "lasso_erase",
         "pan")
RADIUS_RANGE = (0.5, 500.0)
PIXMAP_CACHE_KB = 256 * 1024  # room for the two layers' screen-sized caches on a 4K display


class Canvas(ImageView):
    """See the module docstring. Call set_image first: it drops the old heatmap and editor."""

    mask_edited = Signal(int)  # editor.version after a committed edit
    cursor_moved = Signal(object)  # None or {x, y, rgb, mask, avoid, cam}
    message = Signal(str)
    brush_radius_changed = Signal(float)
    tool_changed = Signal(str)
    editor_changed = Signal()  # a new image or editor, or read-only toggled
    mask_layer_changed = Signal(str)  # the layer the tools edit: LOOK or AVOID

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # few items, one always moving
        self.setScene(scene)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)

        self.image_item = ImageLayer(smooth=True)
        scene.addItem(self.image_item)
        self.heat = HeatOverlay(scene, z=1)
        self.masks = MaskOverlay(scene, z=2)
        self.heat_item, self.mask_item, self.avoid_item = self.heat.item, self.masks.look_item, self.masks.avoid_item
        # The image and heatmap change rarely: keeping them rendered at screen resolution makes a
        # repaint a blit instead of a rescale of up to 4096x4096 pixels (full repaint ~10 -> ~4 ms).
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        self.image_item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.lasso_items = add_outline_items(scene, QGraphicsPathItem, z=5)
        self.brush_items = add_outline_items(scene, QGraphicsEllipseItem, z=6)

        self._shape: tuple[int, int] | None = None  # the image's (H, W)
        self._rgb: np.ndarray | None = None  # made from the layer on demand when a QImage was shown
        self._editor: LayeredMaskEditor | None = None
        self._layer = LOOK
        self._heat_visible = self._mask_visible = True
        self._mask_color = QColor(MASK_COLOR)
        self.set_heatmap_opacity(0.7)
        self.set_mask_opacity(0.9)
        self._tool = "brush"
        self._radius = 8.0
        self._read_only = False
        self._problem: str | None = None  # why there is nothing to see or edit; the canvas is read-only meanwhile
        self.problem_banner = ProblemBanner(self.viewport())
        self.superpixels = SuperpixelTool(self, self)  # its size and "snap to edges" are set on it
        self.click_to_mask = ClickToMask(self, ClickWorker(self), self)  # its seed and model are set on it
        self.click_to_mask.message.connect(self.message)
        self._controller = CanvasController(self, self.click_to_mask, self.superpixels)
        self.editor_changed.connect(self._prefetch)
        self.tool_changed.connect(self._prefetch)
        self._controller.update_cursor()

    # ---- content ------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | QImage | None) -> None:
        """Show an (H, W, 3) uint8 RGB image, or a QImage from ``rgb_layer_image`` or a PreviewImage (shown
        as it is, never written to), or nothing; drops the heatmap, the editor and the problem shown."""
        self._controller.finish_drag()
        self._editor = None
        self._problem = None
        self.problem_banner.show_text(None, centred=True)
        if isinstance(rgb, QImage):
            self._rgb = None
            self.image_item.adopt(rgb)
            shape = self.image_item.extent
        else:
            self._rgb = None if rgb is None else np.asarray(rgb)
            shape = None if rgb is None else self._rgb.shape[:2]
            self.image_item.reset(shape, opaque=True)
            if rgb is not None:
                cv2.cvtColor(self._rgb, cv2.COLOR_RGB2BGRA, dst=self.image_item.array)
        self._shape = shape
        self.masks.reset(shape)
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
            self._rgb = cv2.cvtColor(self.image_item.full_array(), cv2.COLOR_BGRA2RGB)
        return self._rgb

    def set_editor(self, editor: LayeredMaskEditor | MaskEditor | None, prepared: PreparedMask | None = None) -> None:
        """Render both layers of ``editor`` and send edits to its layer ``mask_layer()`` (its shape must
        match the image; a MaskEditor is taken as the "look here" layer). A ``prepared`` layer
        (canvas_layers.mask_layer_image) is adopted when it shows this editor's current mask in the
        current colour."""
        self._controller.finish_drag()
        if editor is not None and (self._shape is None or editor.shape != self._shape):
            raise ValueError(f"editor shape {editor.shape} does not match the image")
        if isinstance(editor, MaskEditor):
            editor = LayeredMaskEditor.over(editor)
        self._editor = editor
        if editor is None:
            self.masks.reset(self._shape)
        else:
            editor.set_active_layer(self._layer)
            self.masks.show(editor, prepared)
        self.editor_changed.emit()
        self._refresh_cursor_readout()

    def editor(self) -> LayeredMaskEditor | None:
        return self._editor

    def _prefetch(self, *_args: object) -> None:
        """Start on what the tool chosen will want of this image: superpixels, a learned model's embedding."""
        if not self.image_item.showing_preview():  # not while browsing: image() would wait for the full image
            self.superpixels.prefetch()
            self.click_to_mask.prefetch()

    def set_mask_layer(self, name: str) -> None:
        """Let the tools edit ``name`` (LOOK: "look here", AVOID: "don't look here"), on this sample and
        the next ones; an open stroke is committed first, to its own layer."""
        if name not in LAYERS:
            raise ValueError(f"unknown mask layer {name!r} (expected one of {', '.join(LAYERS)})")
        self._controller.finish_drag()
        if name != self._layer:
            self._layer = name
            if self._editor is not None:
                self._editor.set_active_layer(name)
            self.mask_layer_changed.emit(name)

    def mask_layer(self) -> str:
        return self._layer

    def mask_lut(self) -> np.ndarray:
        """The mask layer's colours, for canvas_layers.mask_layer_image."""
        return self.mask_item.lut.copy()

    def set_heatmap(self, cam: np.ndarray | None) -> None:
        """Overlay a CAM in [0, 1] of any size (scaled bilinearly to the image). The canvas keeps a
        reference to ``cam`` and never writes to it: do not change it afterwards."""
        self.heat.set(cam, self._shape)
        self.heat_item.setVisible(self._heat_visible)
        self._refresh_cursor_readout()

    def heatmap(self) -> np.ndarray | None:
        """The CAM at the image's size, float32 in [0, 1] (made on first use)."""
        return self.heat.full_size(self._shape)

    def _pixel_info(self, x: int, y: int) -> dict | None:
        """What the status bar shows about image pixel (x, y), or None outside the image."""
        h, w = self._shape or (0, 0)
        if not (0 <= x < w and 0 <= y < h):
            return None
        b, g, r = self.image_item.pixel(x, y)[:3]
        editor = self._editor
        return {"x": x, "y": y, "rgb": (int(r), int(g), int(b)),
                "mask": None if editor is None else bool(editor.mask[y, x]),
                "avoid": None if editor is None else bool(editor.avoid_mask[y, x] and not editor.mask[y, x]),
                "cam": self.heat.value_at(x, y, (h, w))}

    # ---- appearance ---------------------------------------------------------------------------
    def set_heatmap_visible(self, visible: bool) -> None:
        self._heat_visible = bool(visible)
        self.heat_item.setVisible(self._heat_visible)

    def set_mask_visible(self, visible: bool) -> None:
        self._mask_visible = bool(visible)
        self.masks.set_visible(self._mask_visible)

    def set_heatmap_opacity(self, opacity: float) -> None:
        self.heat_item.setOpacity(min(max(float(opacity), 0.0), 1.0))

    def set_mask_opacity(self, opacity: float) -> None:
        self.masks.set_opacity(min(max(float(opacity), 0.0), 1.0))

    def heatmap_opacity(self) -> float:
        return self.heat_item.opacity()

    def mask_opacity(self) -> float:
        return self.mask_item.opacity()

    def set_colormap(self, name: str) -> None:
        self.heat.set_colormap(name)

    def colormap(self) -> str:
        return self.heat.colormap

    def mask_color(self) -> QColor:
        return QColor(self._mask_color)

    def set_mask_color(self, color: QColor) -> None:
        self._mask_color = QColor(color)
        self.masks.set_look_color(self._mask_color, self._editor)

    # ---- tools --------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r} (expected one of {', '.join(TOOLS)})")
        self._controller.finish_drag()
        if name != self._tool:
            self._tool = name
            self._controller.update_cursor()
            self.tool_changed.emit(name)

    def tool(self) -> str:
        return self._tool

    def set_brush_radius(self, radius: float) -> None:
        radius = min(max(float(radius), RADIUS_RANGE[0]), RADIUS_RANGE[1])
        if radius != self._radius:
            self._radius = radius
            self._controller.update_cursor()
            self.brush_radius_changed.emit(radius)

    def set_wand_tolerance(self, tolerance: int) -> None:
        self._controller.wand_tolerance = int(tolerance)

    def brush_radius(self) -> float:
        return self._radius

    def set_read_only(self, read_only: bool) -> None:
        self._controller.finish_drag()
        self._read_only = bool(read_only)
        self._controller.update_cursor()
        self.editor_changed.emit()

    def is_read_only(self) -> bool:
        """Read-only for the project, or while a problem is shown."""
        return self._read_only or self._problem is not None

    def show_problem(self, text: str) -> None:
        """Say on the canvas why there is nothing to see or edit (one line); the canvas stays
        read-only until the next ``set_image``."""
        self._controller.finish_drag()
        self._problem = text
        self.problem_banner.show_text(text, centred=self._shape is None)
        self._controller.update_cursor()
        self.editor_changed.emit()

    def problem(self) -> str | None:
        return self._problem

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
        if self.heat.source is None:
            self.message.emit("No heatmap to make a mask from")
            return None
        return self._edit(lambda e: e.replace(mask_from_heatmap(self.heatmap(), threshold)))

    def _edit(self, operation) -> Rect | None:
        self._controller.finish_drag()
        if not self.can_edit():
            return None
        rect = operation(self._editor)
        if rect is not None:
            self.repaint_mask(rect)
            self.commit_edit()
        return rect

    def can_edit(self) -> bool:
        """Whether there is a mask that may be changed; when not, says why (``message``)."""
        if self._problem is not None:
            self.message.emit(f"Nothing can be edited: {self._problem}")
            return False
        if self._editor is None:
            self.message.emit("No image to edit" if self._shape is None else "No mask to edit")
            return False
        if self._read_only:
            self.message.emit("Read-only: the mask cannot be changed")
            return False
        return True

    def repaint_mask(self, rect: Rect) -> None:
        """Show the layer the editor changed last anew inside ``rect``."""
        self.masks.repaint(self._editor, rect)

    def commit_edit(self) -> None:
        """Announce the editor's current version as one finished edit (``mask_edited``); the pixel
        read-out under a still pointer follows it (undo, redo, fill)."""
        self.mask_edited.emit(self._editor.version)
        self._refresh_cursor_readout()

    # ---- what the input controller shows ------------------------------------------------------
    def set_cursor_shape(self, shape: Qt.CursorShape) -> None:
        self.viewport().setCursor(shape)

    def show_lasso(self, path: QPainterPath | None) -> None:
        for item in self.lasso_items:
            item.setPath(path if path is not None else QPainterPath())
            item.setVisible(path is not None)

    def show_brush_outline(self, rect: QRectF | None) -> None:
        for item in self.brush_items:
            if rect is not None:
                item.setRect(rect)
            item.setVisible(rect is not None)

    def report_cursor(self, image_pos: QPointF | None) -> None:
        """Emit ``cursor_moved`` with the pixel under ``image_pos`` (None: outside, or left)."""
        info = None if image_pos is None else self._pixel_info(math.floor(image_pos.x()), math.floor(image_pos.y()))
        self.cursor_moved.emit(info)

    def _refresh_cursor_readout(self) -> None:
        """New content under a still pointer (the next image, its mask, its heatmap): read the pixel anew."""
        pos = self.viewport().mapFromGlobal(QCursor.pos())
        inside = self._shape is not None and self.viewport().rect().contains(pos)
        self.report_cursor(self.view_to_image(QPointF(pos)) if inside else None)

    # ---- input, forwarded to the controller ---------------------------------------------------
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self._controller.claims_shortcut(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if not self._controller.key_press_event(event):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if not self._controller.key_release_event(event):
            super().keyReleaseEvent(event)

    def wheelEvent(self, event) -> None:
        if not self._controller.wheel_event(event):
            super().wheelEvent(event)

    def mousePressEvent(self, event) -> None:
        self._controller.mouse_press_event(event)

    def mouseMoveEvent(self, event) -> None:
        self._controller.mouse_move_event(event)

    def mouseReleaseEvent(self, event) -> None:
        self._controller.mouse_release_event(event)

    def leaveEvent(self, event) -> None:
        self._controller.leave_event(event)
        super().leaveEvent(event)
