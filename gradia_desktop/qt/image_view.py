"""The central image view: the photo, its Grad-CAM heatmap and its attention mask as stacked layers.

Scene coordinates are image pixel coordinates (the photo sits at 0,0 unscaled), so tools that
paint on the mask can map mouse positions with ``mapToScene`` alone.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (QFrame, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView,
                               QWidget)

from .overlays import heatmap_rgb, mask_outline, mask_rgba, rgb_to_qimage, rgba_to_qimage

BACKGROUND = QColor(38, 40, 44)
HEATMAP_OPACITY = 0.45
MARGIN = 12  # screen pixels kept free around the fitted image
# The mask border: a light line on a dark halo, readable over any photo and over the JET heatmap.
OUTLINE_PENS = ((QColor(0, 0, 0, 170), 4.0), (QColor(120, 255, 140), 2.0))


class ImageView(QGraphicsView):
    """Shows one image fitted to the widget, with optional heatmap and mask overlays."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(BACKGROUND)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # Small images must stay crisp when scaled up: no smoothing unless we scale down (see _fit).
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)

        self.image_item = QGraphicsPixmapItem()
        self.heatmap_item = QGraphicsPixmapItem()
        self.mask_item = QGraphicsPixmapItem()
        for z, item in enumerate((self.image_item, self.heatmap_item, self.mask_item)):
            item.setZValue(z)
            item.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
            item.setVisible(False)
            self.scene().addItem(item)
        self.heatmap_item.setOpacity(HEATMAP_OPACITY)
        self.outline_items = []
        for colour, width in OUTLINE_PENS:
            pen = QPen(colour, width)
            pen.setCosmetic(True)  # width in screen pixels, whatever the zoom
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            item = QGraphicsPathItem()
            item.setPen(pen)
            item.setZValue(3)
            self.scene().addItem(item)
            self.outline_items.append(item)
        self._show_heatmap = True
        self._show_mask = True

    # ---- content ----------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | None) -> None:
        """Show a new (H, W, 3) RGB image, or nothing; clears both overlays."""
        self.set_heatmap(None)
        self.set_mask(None)
        if rgb is None:
            self.image_item.setPixmap(QPixmap())
            self.image_item.setVisible(False)
            self.scene().setSceneRect(QRectF())
            return
        self.image_item.setPixmap(QPixmap.fromImage(rgb_to_qimage(rgb)))
        self.image_item.setVisible(True)
        self.scene().setSceneRect(self.image_item.boundingRect())
        self._fit()

    def set_heatmap(self, cam: np.ndarray | None) -> None:
        """Overlay a Grad-CAM grid (any size, values in [0, 1]) stretched over the current image."""
        size = self.image_size()
        if cam is None or size is None:
            self.heatmap_item.setPixmap(QPixmap())
        else:
            self.heatmap_item.setPixmap(QPixmap.fromImage(rgb_to_qimage(heatmap_rgb(cam, *size))))
        self._update_visibility()

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Overlay an (H, W) bool mask of the current image's size in semi-transparent green."""
        if mask is None or not mask.any():
            self.mask_item.setPixmap(QPixmap())
            outline = QPainterPath()
        else:
            self.mask_item.setPixmap(QPixmap.fromImage(rgba_to_qimage(mask_rgba(mask))))
            outline = mask_outline(mask)
        for item in self.outline_items:
            item.setPath(outline)
        self._update_visibility()

    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the shown image, or None."""
        pixmap = self.image_item.pixmap()
        return None if pixmap.isNull() else (pixmap.width(), pixmap.height())

    # ---- layer toggles ----------------------------------------------------------------------
    def set_heatmap_shown(self, shown: bool) -> None:
        self._show_heatmap = shown
        self._update_visibility()

    def set_mask_shown(self, shown: bool) -> None:
        self._show_mask = shown
        self._update_visibility()

    def heatmap_visible(self) -> bool:
        return self.heatmap_item.isVisible()

    def mask_visible(self) -> bool:
        return self.mask_item.isVisible()

    def _update_visibility(self) -> None:
        self.heatmap_item.setVisible(self._show_heatmap and not self.heatmap_item.pixmap().isNull())
        self.mask_item.setVisible(self._show_mask and not self.mask_item.pixmap().isNull())
        for item in self.outline_items:
            item.setVisible(self.mask_item.isVisible())

    # ---- fitting ----------------------------------------------------------------------------
    def _fit(self) -> None:
        size = self.image_size()
        viewport = self.viewport().size()
        if size is None or viewport.isEmpty():
            return
        w, h = size
        scale = min((viewport.width() - 2 * MARGIN) / w, (viewport.height() - 2 * MARGIN) / h)
        scale = max(scale, 1e-3)
        self.resetTransform()
        self.scale(scale, scale)
        self.centerOn(w / 2, h / 2)
        # Scaling down needs smoothing to avoid aliasing; scaling up must stay pixel-exact.
        mode = Qt.TransformationMode.SmoothTransformation if scale < 1 else Qt.TransformationMode.FastTransformation
        for item in (self.image_item, self.heatmap_item, self.mask_item):
            item.setTransformationMode(mode)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._fit()
