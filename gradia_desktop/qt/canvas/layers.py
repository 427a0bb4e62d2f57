"""The canvas's raster layers: image and heatmap as cached QImages, the mask as a live ARGB32 view.

The functions that build a layer's pixels (``rgb_layer_image``, ``mask_layer_image``) use no
widgets, so a worker thread can prepare the next image's layers (see prefetch.py) and the canvas
adopts them without a copy. The heatmap is coloured at a modest resolution (``heat_shape``) and
scaled smoothly when drawn: a CAM is a smooth upsample of a coarse grid, so colouring 4096x4096
pixels would cost ~200 ms for no visible gain. The image layer may likewise show a PreviewImage
(progressive_image.py) stretched over the full image until the full image replaces it. Over them,
``add_outline_items`` draws the lasso and the brush's reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QAbstractGraphicsShapeItem, QGraphicsItem, QGraphicsScene

from ...core.heatmap_image import COLORMAPS
from ...core.layered_mask_edit import LayeredMaskEditor
from ...core.mask_edit import Rect, _bbox
from .progressive_image import PreviewImage, full_shape_of

MASK_COLOR = QColor(40, 220, 80)
FILL_ALPHA, EDGE_ALPHA = 100, 230  # mask interior vs its one-pixel border, before the layer opacity
HATCH_PERIOD, HATCH_WIDTH = 6, 2  # a hatched layer's diagonal stripes: one every 6 pixels, 2 wide
HEAT_MAX_SIDE = 512  # the heatmap layer's longest side in pixels (never more than the image's)
FULL_IMAGE_WAIT_S = 5.0  # how long a tool that needs the image's pixels waits for a preview's full image
_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)
_RGB32 = QImage.Format.Format_RGB32
_ARGB32_PRE = QImage.Format.Format_ARGB32_Premultiplied


def heat_shape(height: int, width: int) -> tuple[int, int]:
    """The (H, W) at which a heatmap over a height x width image is coloured."""
    scale = min(1.0, HEAT_MAX_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def cam_resized(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``cam`` scaled bilinearly to ``shape`` (H, W), clipped to [0, 1], NaN as 0; always a new array."""
    h, w = shape
    out = cam if cam.shape == (h, w) else cv2.resize(cam, (w, h), interpolation=cv2.INTER_LINEAR)
    out = np.clip(out, 0.0, 1.0)
    out[np.isnan(out)] = 0.0
    return out


def cam_value_at(cam: np.ndarray, shape: tuple[int, int], x: int, y: int) -> float:
    """Pixel (x, y) of ``cam`` scaled to ``shape`` (H, W) and clipped to [0, 1], without scaling the
    whole CAM (the same bilinear sampling as cv2.resize)."""
    h, w = shape
    sh, sw = cam.shape
    if (sh, sw) == (h, w):
        value = float(cam[y, x])
    else:
        fx = min(max((x + 0.5) * sw / w - 0.5, 0.0), sw - 1.0)
        fy = min(max((y + 0.5) * sh / h - 0.5, 0.0), sh - 1.0)
        x0, y0 = int(fx), int(fy)
        x1, y1, ax, ay = min(x0 + 1, sw - 1), min(y0 + 1, sh - 1), fx - x0, fy - y0
        value = float((cam[y0, x0] * (1 - ax) + cam[y0, x1] * ax) * (1 - ay)
                      + (cam[y1, x0] * (1 - ax) + cam[y1, x1] * ax) * ay)
    return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)


def heatmap_bgra(cam_u8: np.ndarray, colormap: str, out: np.ndarray) -> None:
    """Write a uint8 CAM into ``out`` (H, W, 4) as premultiplied BGRA: coloured by ``colormap``,
    alpha = CAM, so cold areas stay see-through."""
    bgr = cv2.applyColorMap(cam_u8, COLORMAPS[colormap])
    pre = cv2.multiply(bgr, cv2.cvtColor(cam_u8, cv2.COLOR_GRAY2BGR), scale=1 / 255)
    cv2.cvtColor(pre, cv2.COLOR_BGR2BGRA, dst=out)
    cv2.mixChannels([cam_u8], [out], [0, 3])


def image_array(image: QImage) -> np.ndarray:
    """A writable (H, W, 4) NumPy view of a 32-bit QImage's pixels (B, G, R, A in memory)."""
    h, w = image.height(), image.width()
    return np.frombuffer(image.bits(), np.uint8).reshape(h, -1)[:, :4 * w].reshape(h, w, 4)


def wrap(array: np.ndarray, fmt: QImage.Format) -> QImage:
    """A QImage over a C-contiguous (H, W, 4) uint8 array's memory (it keeps the array alive).
    NumPy allocates and fills without holding the GIL, and calloc'ed zeros cost nothing: a worker
    thread building a 4096x4096 layer this way never stalls the GUI thread (QImage's own
    allocation and fill() hold it for tens of milliseconds)."""
    h, w = array.shape[:2]
    return QImage(array.data, w, h, 4 * w, fmt)


def rgb_layer_array(rgb: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array as the (H, W, 4) B, G, R, A pixels of an RGB32 layer."""
    h, w = rgb.shape[:2]
    array = np.empty((h, w, 4), np.uint8)
    cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGRA, dst=array)
    return array


def rgb_layer_image(rgb: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 RGB array as an opaque RGB32 QImage (safe off the GUI thread)."""
    return wrap(rgb_layer_array(rgb), _RGB32)


def mask_lut(color: QColor, hatched: bool = False) -> np.ndarray:
    """Premultiplied ARGB32 values for mask states 0 (outside), 1 (inside) and 2 (border), and for a
    ``hatched`` layer 3 (inside, on a stripe: drawn like the border)."""
    def premultiplied(alpha):
        return (alpha << 24 | (color.red() * alpha // 255) << 16 | (color.green() * alpha // 255) << 8
                | color.blue() * alpha // 255)
    return np.array([0, premultiplied(FILL_ALPHA), premultiplied(EDGE_ALPHA)] + [premultiplied(EDGE_ALPHA)] * hatched,
                    np.uint32)


def _lut4(lut: np.ndarray) -> np.ndarray:
    """``lut`` as cv2.LUT's 256-entry, 4-channel table (the bytes of each uint32, in memory order)."""
    table = np.zeros((256, 1, 4), np.uint8)
    table[: len(lut), 0, :] = lut.astype(np.uint32).view(np.uint8).reshape(len(lut), 4)
    return table


def encode_mask(mask: np.ndarray, lut: np.ndarray, out: np.ndarray, rect: Rect | None = None,
                hidden: np.ndarray | None = None) -> Rect | None:
    """Write ``rect`` of ``mask`` (grown by the one pixel whose border state may change) into ``out``
    ((H, W, 4) uint8) through ``lut``; returns the rectangle written. Without a rect: the mask's
    bounding box, assuming ``out`` is clear elsewhere. A lut of four entries hatches the inside.
    ``hidden`` (a mask of the same shape): pixels drawn as outside, since a layer above covers them."""
    h, w = mask.shape
    if rect is None:
        rect = _bbox(mask)
        if rect is None:
            return None
    x0, y0, x1, y1 = rect
    x0, y0, x1, y1 = max(x0 - 1, 0), max(y0 - 1, 0), min(x1 + 1, w), min(y1 + 1, h)
    padded = np.zeros((y1 - y0 + 2, x1 - x0 + 2), np.uint8)  # outside the image counts as empty
    sy0, sx0 = max(y0 - 1, 0), max(x0 - 1, 0)
    src = mask[sy0:min(y1 + 1, h), sx0:min(x1 + 1, w)]
    if hidden is not None:
        src = src & ~hidden[sy0:min(y1 + 1, h), sx0:min(x1 + 1, w)]
    oy, ox = sy0 - (y0 - 1), sx0 - (x0 - 1)
    padded[oy:oy + src.shape[0], ox:ox + src.shape[1]] = src
    inner = cv2.erode(padded, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0)[1:-1, 1:-1]
    m = padded[1:-1, 1:-1]
    state = cv2.subtract(cv2.add(m, m), inner)  # inner is inside m: 0 outside, 1 inside, 2 on the border
    if len(lut) > 3:
        state[(state == 1) & _stripes(x0, y0, x1, y1)] = 3
    cv2.LUT(cv2.merge((state, state, state, state)), _lut4(lut), dst=out[y0:y1, x0:x1])
    return x0, y0, x1, y1


def _stripes(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """The hatch's diagonal stripes over the rectangle, in image coordinates (so pieces line up)."""
    ys = (np.arange(y0, y1) % HATCH_PERIOD).astype(np.uint8)[:, None]
    xs = (np.arange(x0, x1) % HATCH_PERIOD).astype(np.uint8)[None, :]
    return (ys + xs) % HATCH_PERIOD < HATCH_WIDTH


@dataclass(eq=False)
class PreparedMask:
    """A mask layer rendered ahead of time from ``editor`` at ``version`` with ``lut``."""

    image: QImage
    editor: LayeredMaskEditor
    version: int
    lut: np.ndarray

    def fits(self, editor: LayeredMaskEditor, lut: np.ndarray) -> bool:
        return editor is self.editor and editor.version == self.version and np.array_equal(lut, self.lut)


def mask_layer_image(editor: LayeredMaskEditor, lut: np.ndarray) -> PreparedMask:
    """``editor.mask`` ("look here") rendered as the canvas's mask layer (safe off the GUI thread while
    nobody edits it)."""
    version = editor.version
    array = np.zeros((*editor.shape, 4), np.uint8)
    encode_mask(editor.mask, lut, array)
    return PreparedMask(wrap(array, _ARGB32_PRE), editor, version, lut.copy())


class ImageLayer(QGraphicsItem):
    """Draws a QImage exposed as ``array``, a writable (H, W, 4) NumPy view (B, G, R, A in memory).
    The image may have fewer pixels than the layer covers (``reset``'s ``resolution``): it is then
    scaled smoothly. Paints only the exposed part; otherwise smooths only when shrinking."""

    def __init__(self, smooth: bool):
        super().__init__()
        self.smooth = smooth
        self.image = QImage()
        self.array: np.ndarray | None = None
        self.extent: tuple[int, int] = (0, 0)  # the (H, W) in scene pixels that the layer covers
        self._borrowed = False  # an adopted image may be shared with its preparer: never written to
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def reset(self, shape: tuple[int, int] | None, opaque: bool = False, fill: bool = True,
              resolution: tuple[int, int] | None = None) -> None:
        """Allocate (or reuse) a layer covering (H, W): transparent (unless not ``fill``), or
        ``opaque`` RGB32 for the photo, whose pixels the caller writes. ``resolution``: the image's
        own (H, W) when smaller than the layer."""
        fmt = _RGB32 if opaque else _ARGB32_PRE
        if shape is None:
            self._set(QImage(), None, (0, 0))
            self.update()
            return
        size = tuple(resolution or shape)
        if self._borrowed or self.array is None or self.array.shape[:2] != size or self.image.format() != fmt:
            array = np.zeros((*size, 4), np.uint8)  # calloc: already clear
            self._set(wrap(array, fmt), array, tuple(shape))
        else:
            if tuple(shape) != self.extent:
                self.prepareGeometryChange()
                self.extent = tuple(shape)
            if fill and not opaque:
                self.array.fill(0)
        self.update()

    def adopt(self, image: QImage, writable: bool = False) -> None:
        """Show a prepared image at its own size; unless ``writable``, it is never written to. A
        PreviewImage covers its full size, and gives way to the full image when that arrives."""
        if isinstance(image, PreviewImage) and image.full() is not None:
            image = image.full()
        self._set(image, None, full_shape_of(image))
        self._borrowed = not writable
        if isinstance(image, PreviewImage):
            image.refinement.listen(lambda full, preview=image: self._refine(preview, full))
        self.update()

    def _refine(self, preview: PreviewImage, full: QImage) -> None:
        """Swap in the full image of the preview shown: same extent, so the view does not move."""
        if self.image is preview and (full.height(), full.width()) == self.extent:
            self._set(full, None, self.extent)
            self._borrowed = True
            self.update()

    def showing_preview(self) -> bool:
        return isinstance(self.image, PreviewImage)

    def pixel(self, x: int, y: int) -> np.ndarray:
        """The (B, G, R, A) shown at scene pixel (x, y) (a preview's pixel there)."""
        h, w = self.array.shape[:2]
        return self.array[y * h // self.extent[0], x * w // self.extent[1]]

    def full_array(self, timeout_s: float = FULL_IMAGE_WAIT_S) -> np.ndarray:
        """The pixels at full size: a preview waits (bounded) for its full image, else is scaled up."""
        if isinstance(self.image, PreviewImage):
            preview, full = self.image, self.image.refinement.image(timeout_s)
            if full is not None:
                self._refine(preview, full)
            if self.image is preview:
                return cv2.resize(self.array, (self.extent[1], self.extent[0]), interpolation=cv2.INTER_LINEAR)
        return self.array

    def _set(self, image: QImage, array: np.ndarray | None, shape: tuple[int, int]) -> None:
        self.prepareGeometryChange()
        self.image, self.extent, self._borrowed = image, shape, False
        self.array = array if array is not None or image.isNull() else image_array(image)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.extent[1], self.extent[0])

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.image.isNull():
            return
        sx, sy = self.image.width() / self.extent[1], self.image.height() / self.extent[0]
        e = option.exposedRect
        # Two spare pixels keep bilinear sampling seamless where exposed strips meet; the clip trims them.
        r = QRectF(e.x() * sx, e.y() * sy, e.width() * sx, e.height() * sy).toAlignedRect() \
            .adjusted(-2, -2, 2, 2).intersected(self.image.rect())
        if not r.isEmpty():
            scaled = sx != 1 or sy != 1
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                                  self.smooth and (scaled or painter.worldTransform().m11() < 1))
            target = QRectF(r.x() / sx, r.y() / sy, r.width() / sx, r.height() / sy) if scaled else QRectF(r)
            painter.drawImage(target, self.image, QRectF(r))


class MaskLayer(ImageLayer):
    """A mask as colour: see-through inside (``hatched``: with opaque stripes), opaque on its
    one-pixel border. After ``reset`` the layer shows nothing and its pixels are cleared only when a
    mask is rendered into it (switching images often adopts a prepared layer instead: clearing 64 MB
    first would be wasted)."""

    def __init__(self, color: QColor = MASK_COLOR, hatched: bool = False):
        super().__init__(smooth=False)  # labels stay crisp at every zoom, as in napari
        self.hatched = hatched
        self.lut = mask_lut(color, hatched)
        self._state = "stale"  # 'clear' (all zero), 'drawn', or 'stale' (shows nothing, pixels unknown)

    def reset(self, shape: tuple[int, int] | None, opaque: bool = False, fill: bool = True,
              resolution: tuple[int, int] | None = None) -> None:
        reused = self.array is not None and shape is not None and self.array.shape[:2] == tuple(shape)
        super().reset(shape, fill=False)
        self._state = "stale" if reused and self._state != "clear" else "clear"

    def adopt(self, image: QImage, writable: bool = True) -> None:
        super().adopt(image, writable=True)  # the painter edits it in place from now on
        self._state = "drawn"

    def set_color(self, color: QColor) -> None:
        self.lut = mask_lut(color, self.hatched)

    def clear(self) -> None:
        """Show nothing (the pixels are cleared only when something was drawn)."""
        if self.array is not None and self._state != "clear":
            self.array.fill(0)
            self.update()
            self._state = "clear"

    def render(self, mask: np.ndarray, rect: Rect | None = None, hidden: np.ndarray | None = None) -> None:
        """Re-encode ``rect`` of ``mask`` (grown by the one pixel whose border state may change);
        without a rect (or after a reset), the whole layer (only the mask's bounding box needs encoding).
        ``hidden``: pixels a layer above covers, drawn as outside."""
        if self.array is None:
            return
        if rect is None or self._state == "stale":
            rect = None
            self.clear()
        written = encode_mask(mask, self.lut, self.array, rect, hidden)
        if written is not None:
            self._state = "drawn"
            x0, y0, x1, y1 = written
            self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._state == "drawn":  # a clear layer is all see-through: drawing it would cost a scaled blit
            super().paint(painter, option, widget)


def add_outline_items(scene: QGraphicsScene, item_type: type[QAbstractGraphicsShapeItem],
                      z: float) -> list[QAbstractGraphicsShapeItem]:
    """Two hidden items drawn as one outline that shows on any image: a dark wide line under a thin
    white one (cosmetic pens: the same on screen at every zoom)."""
    items = []
    for colour, width in ((QColor(0, 0, 0, 160), 3.0), (QColor(255, 255, 255), 1.2)):
        item = item_type()
        pen = QPen(colour, width)
        pen.setCosmetic(True)
        item.setPen(pen)
        item.setZValue(z)
        item.setVisible(False)
        scene.addItem(item)
        items.append(item)
    return items
