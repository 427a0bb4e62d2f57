"""A heatmap laid over its image, as the canvas, the Compare dialog and `gradia explain` show it."""

from __future__ import annotations

import cv2
import numpy as np

COLORMAPS = {"jet": cv2.COLORMAP_JET, "turbo": cv2.COLORMAP_TURBO, "inferno": cv2.COLORMAP_INFERNO,
             "viridis": cv2.COLORMAP_VIRIDIS}


def heatmap_colours(cam: np.ndarray, colormap: str) -> np.ndarray:
    """(H, W) CAM in [0, 1] -> (H, W, 3) uint8 RGB in ``colormap``."""
    cam_u8 = np.clip(np.nan_to_num(cam) * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(cam_u8, COLORMAPS[colormap]), cv2.COLOR_BGR2RGB)


def blend(rgb: np.ndarray, cam: np.ndarray, colormap: str = "jet", opacity: float = 0.5) -> np.ndarray:
    """The RGB image with the CAM (any size; resized bilinearly to the image's) laid over it."""
    if cam.shape != rgb.shape[:2]:
        cam = cv2.resize(cam.astype(np.float32), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.addWeighted(rgb, 1 - opacity, heatmap_colours(cam, colormap), opacity, 0)
