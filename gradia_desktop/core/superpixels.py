"""Superpixels: an image cut into small regions that follow its edges, for snapping brush strokes and
for adding or removing a region of similar colour or texture with one click.

Seeds on a regular grid grow over the smoothed image by OpenCV's watershed, which stops each region
at the image's edges; every region holds one seed, so regions are about ``size`` pixels across
where the image is flat and bend along its edges where it is not. (OpenCV's own SLIC lives in the
contrib package, which this app does not ship; the watershed is in every OpenCV build and takes a
few milliseconds at 640 px.) Images larger than ``MAX_SIDE`` are cut at that size and the labels
scaled back, so the cost does not grow with the photograph.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_SIDE = 640


def superpixels(rgb: np.ndarray, size: int = 16) -> np.ndarray:
    """(H, W) int32 labels 0..K-1 of an RGB uint8 image; regions about ``size`` px across (at most 640 px scale)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"superpixels need an H x W x 3 uint8 image, got {rgb.shape} {rgb.dtype}")
    h, w = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    small = rgb if scale == 1.0 else cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                interpolation=cv2.INTER_AREA)
    labels = _watershed(small, max(2, round(size * scale)))
    if scale != 1.0:
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    return labels


def _watershed(rgb: np.ndarray, step: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    markers = np.zeros((h, w), np.int32)
    ys = np.arange(step // 2, h, step)
    xs = np.arange(step // 2, w, step)
    if len(ys) == 0:
        ys = np.array([h // 2])
    if len(xs) == 0:
        xs = np.array([w // 2])
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")
    markers[grid_y, grid_x] = np.arange(1, grid_y.size + 1).reshape(grid_y.shape)
    smooth = cv2.GaussianBlur(np.ascontiguousarray(rgb[..., ::-1]), (5, 5), 0)
    cv2.watershed(smooth, markers)
    # the watershed marks the lines between regions -1: give each line pixel its neighbour's region
    lines = markers < 1
    if lines.any():
        grown = cv2.dilate(np.where(lines, 0, markers).astype(np.float32), np.ones((3, 3), np.uint8))
        markers = np.where(lines, grown.astype(np.int32), markers)
        markers[markers < 1] = 1
    _, dense = np.unique(markers, return_inverse=True)
    return dense.reshape(h, w).astype(np.int32)


def touched_regions(labels: np.ndarray, painted: np.ndarray) -> np.ndarray:
    """The whole superpixels that ``painted`` (bool, same shape) touches: a brush stroke snapped to
    the image's edges."""
    painted = np.asarray(painted, bool)
    if painted.shape != labels.shape:
        raise ValueError(f"the stroke's shape {painted.shape} does not match the labels' {labels.shape}")
    hit = np.unique(labels[painted])
    return np.isin(labels, hit) if len(hit) else np.zeros(labels.shape, bool)


def region_at(labels: np.ndarray, x: float, y: float) -> np.ndarray:
    """The superpixel under image point (x, y) as a bool mask (all False outside the image)."""
    h, w = labels.shape
    col, row = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
    if not (0 <= col < w and 0 <= row < h):
        return np.zeros((h, w), bool)
    return labels == labels[row, col]
