"""The canvas's raster layers: image and heatmap as cached QImages, the mask as a live ARGB32 view."""



import cv2
import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import (
    QColor,
    QImage,
    QPainter,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
)

from ..core.mask_edit import Rect, _bbox

COLORMAPS = {"jet": cv2.COLORMAP_JET, "turbo": cv2.COLORMAP_TURBO, "inferno": cv2.COLORMAP_INFERNO,
             "viridis": cv2.COLORMAP_VIRIDIS}
MASK_COLOR = QColor(40, 220, 80)
FILL_ALPHA, EDGE_ALPHA = 100, 230  # mask interior vs its one-pixel border, before the layer opacity
_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)


def heatmap_bgra(cam_u8: np.ndarray, colormap: str, out: np.ndarray) -> None:
    """Write a uint8 CAM into ``out`` (H, W, 4) as premultiplied BGRA: coloured by ``colormap``,
    alpha = CAM, so cold areas stay see-through."""
    bgr = cv2.applyColorMap(cam_u8, COLORMAPS[colormap])
    pre = cv2.multiply(bgr, cv2.cvtColor(cam_u8, cv2.COLOR_GRAY2BGR), scale=1 / 255)
    cv2.cvtColor(pre, cv2.COLOR_BGR2BGRA, dst=out)
    cv2.mixChannels([cam_u8], [out], [0, 3])


class ImageLayer(QGraphicsItem):
    """Draws a QImage that it owns and exposes as ``array``, a writable (H, W, 4) NumPy view
    (B, G, R, A in memory). Paints only the exposed part; smooths only when shrinking."""

    def __init__(self, smooth: bool):
        super().__init__()
        self.smooth = smooth
        self.image = QImage()
        self.array: np.ndarray | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def reset(self, shape: tuple[int, int] | None, opaque: bool = False, fill: bool = True) -> None:
        """Allocate (or reuse) an (H, W) layer: transparent (unless not ``fill``), or ``opaque``
        RGB32 for the photo, whose pixels the caller writes."""
        fmt = QImage.Format.Format_RGB32 if opaque else QImage.Format.Format_ARGB32_Premultiplied
        if shape is None:
            self.prepareGeometryChange()
            self.image, self.array = QImage(), None
        elif (self.image.height(), self.image.width()) != tuple(shape) or self.image.format() != fmt:
            self.prepareGeometryChange()
            h, w = shape
            self.image = QImage(w, h, fmt)
            self.array = np.frombuffer(self.image.bits(), np.uint8).reshape(h, -1)[:, :4 * w].reshape(h, w, 4)
        if self.array is not None and fill and not opaque:
            self.image.fill(0)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(0, 0, self.image.width(), self.image.height())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        # Two spare pixels keep bilinear sampling seamless where exposed strips meet; the clip trims them.
        r = option.exposedRect.toAlignedRect().adjusted(-2, -2, 2, 2).intersected(self.image.rect())
        if not r.isEmpty():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                                  self.smooth and painter.worldTransform().m11() < 1)
            painter.drawImage(QRectF(r), self.image, QRectF(r))


class MaskLayer(ImageLayer):
    """The mask as colour: see-through inside, opaque on its one-pixel border."""

    def __init__(self):
        super().__init__(smooth=False)  # labels stay crisp at every zoom, as in napari
        self.pixels: np.ndarray | None = None  # (H, W) uint32 view of the same bits
        self.lut = np.zeros(3, np.uint32)  # 0 outside, 1 inside, 2 border

    def reset(self, shape: tuple[int, int] | None, opaque: bool = False, fill: bool = True) -> None:
        super().reset(shape)
        self.pixels = None if self.array is None else self.array.view(np.uint32)[..., 0]

    def set_color(self, color: QColor) -> None:
        def premultiplied(alpha):
            return (alpha << 24 | (color.red() * alpha // 255) << 16 | (color.green() * alpha // 255) << 8
                    | color.blue() * alpha // 255)
        self.lut = np.array([0, premultiplied(FILL_ALPHA), premultiplied(EDGE_ALPHA)], np.uint32)

    def render(self, mask: np.ndarray, rect: Rect | None = None) -> None:
        """Re-encode ``rect`` of ``mask`` (grown by the one pixel whose border state may change);
        without a rect, the whole layer (only the mask's bounding box needs encoding)."""
        if self.pixels is None:
            return
        h, w = mask.shape
        if rect is None:
            self.image.fill(0)
            self.update()
            rect = _bbox(mask)
            if rect is None:
                return
        x0, y0, x1, y1 = rect
        x0, y0, x1, y1 = max(x0 - 1, 0), max(y0 - 1, 0), min(x1 + 1, w), min(y1 + 1, h)
        padded = np.zeros((y1 - y0 + 2, x1 - x0 + 2), np.uint8)  # outside the image counts as empty
        sy0, sx0 = max(y0 - 1, 0), max(x0 - 1, 0)
        src = mask[sy0:min(y1 + 1, h), sx0:min(x1 + 1, w)]
        oy, ox = sy0 - (y0 - 1), sx0 - (x0 - 1)
        padded[oy:oy + src.shape[0], ox:ox + src.shape[1]] = src
        inner = cv2.erode(padded, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0)[1:-1, 1:-1]
        m = padded[1:-1, 1:-1]
        self.pixels[y0:y1, x0:x1] = self.lut[m + (m & (1 - inner))]
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))
