"""The canvas's Grad-CAM layer: a CAM of any size, coloured at up to HEAT_MAX_SIDE pixels and scaled
smoothly when drawn; its full-size values are made only when asked for (``full_size``)."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from .layers import COLORMAPS, ImageLayer, cam_resized, cam_value_at, heat_shape, heatmap_bgra


class HeatOverlay:
    """The heatmap ``item`` of a scene and the CAM it shows."""

    def __init__(self, scene: QGraphicsScene, z: float):
        self.item = ImageLayer(smooth=True)
        self.item.setZValue(z)
        # It changes rarely: kept rendered at screen resolution, a repaint is a blit, not a rescale.
        self.item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        scene.addItem(self.item)
        self.source: np.ndarray | None = None  # the CAM as given (any size; never written to)
        self._full: np.ndarray | None = None  # at image size in [0, 1], made on demand
        self._u8: np.ndarray | None = None  # at the layer's size
        self.colormap = "jet"

    def set(self, cam: np.ndarray | None, shape: tuple[int, int] | None) -> None:
        """Show ``cam`` in [0, 1] over an image of ``shape`` (H, W), or nothing. ``cam`` is kept, never
        written to."""
        if cam is None or shape is None:
            self.source = self._full = self._u8 = None
            self.item.reset(None)
            return
        cam = np.asarray(cam, np.float32)
        if cam.ndim != 2:
            raise ValueError(f"heatmap must be 2-D, got shape {cam.shape}")
        small = cam_resized(cam, heat_shape(*shape))  # a copy: the caller's array is never touched
        self.source, self._full = cam, None
        self._u8 = cv2.convertScaleAbs(small, alpha=255.0)  # rounds to nearest
        self.item.reset(shape, fill=False, resolution=small.shape)
        self._render()

    def full_size(self, shape: tuple[int, int]) -> np.ndarray | None:
        """The CAM at the image's ``shape``, float32 in [0, 1] (made on first use)."""
        if self._full is None and self.source is not None:
            self._full = cam_resized(self.source, shape)
        return self._full

    def value_at(self, x: int, y: int, shape: tuple[int, int]) -> float | None:
        """The CAM at image pixel (x, y), without making the full-size CAM for one pixel."""
        cam = self._full if self._full is not None else self.source
        return None if cam is None else cam_value_at(cam, shape, x, y)

    def set_colormap(self, name: str) -> None:
        if name not in COLORMAPS:
            raise ValueError(f"unknown colormap {name!r} (expected one of {', '.join(COLORMAPS)})")
        if name != self.colormap:
            self.colormap = name
            self._render()

    def _render(self) -> None:
        if self._u8 is not None:
            heatmap_bgra(self._u8, self.colormap, self.item.array)
            self.item.update()
