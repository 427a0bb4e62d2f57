"""NumPy arrays to Qt: the photo, the Grad-CAM heatmap and the mask overlay (fill and outline)."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBitmap, QImage, QPainterPath, QRegion

MASK_RGBA = (40, 220, 80, 100)  # semi-transparent green


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    # QImage only borrows the buffer; .copy() detaches it before `rgb` can be freed.
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()


def heatmap_rgb(cam: np.ndarray, width: int, height: int) -> np.ndarray:
    """A CAM grid in [0, 1] upsampled (bilinear) to the image size and coloured with JET, as RGB."""
    grid = np.clip(np.nan_to_num(np.asarray(cam, dtype=np.float32)), 0.0, 1.0)
    full = cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
    bgr = cv2.applyColorMap(np.round(full * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def mask_rgba(mask: np.ndarray, colour: tuple[int, int, int, int] = MASK_RGBA) -> np.ndarray:
    """An (H, W) bool mask as RGBA: ``colour`` where true, fully transparent elsewhere."""
    out = np.zeros((*mask.shape, 4), np.uint8)
    out[mask.astype(bool)] = colour
    return out


def mask_outline(mask: np.ndarray) -> QPainterPath:
    """The mask's border along pixel edges, in image coordinates (needs a QGuiApplication)."""
    # QRegion takes the bitmap's color1 (black) pixels, so the mask goes in as black on white.
    grey = np.ascontiguousarray(np.where(mask, 0, 255).astype(np.uint8))
    h, w = grey.shape
    image = QImage(grey.data, w, h, w, QImage.Format.Format_Grayscale8).convertToFormat(
        QImage.Format.Format_Mono, Qt.ImageConversionFlag.ThresholdDither)  # converting copies
    path = QPainterPath()
    path.addRegion(QRegion(QBitmap.fromImage(image)))
    return path.simplified()  # merge the region's rectangles so only the outer border is stroked
