"""Headless editing model behind the GUI's mask tools (brush, eraser, fills, lasso) with undo/redo.

Coordinates: pixel (column i, row j) is centred on (x=i, y=j); input points snap to the nearest
centre, floor(v + 0.5), and may lie outside the image. (A Qt view where pixel i spans [i, i+1)
subtracts 0.5 first.) One brush dab of radius r covers the pixels whose centres lie within r of
the snapped point: r < 1 one pixel, r = 1 a plus of 5, r = 1.5 a 3x3 square, r = 2 13 pixels.
A segment covers the pixels within r of the segment between two snapped points.

Undo steps hold only the changed bounding box and its OLD values, 8 pixels a byte; undo swaps
them with the current values, which become the redo step (as napari's Labels layer does). A
stroke saves pre-stroke tiles copy-on-write and assembles its one step at end_stroke. Every
operation except stroke_to first commits an open stroke, so undo() mid-stroke undoes it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .superpixels import touched_regions

Rect = tuple[int, int, int, int]  # (x0, y0, x1, y1), x1/y1 exclusive, clipped to the mask

TILE = 128
_EPS = 1e-6  # distance tolerance, so pixels exactly r away count as inside despite float error
_POLY_LIMIT = 1 << 16  # lasso vertices are clamped to +-this: cv2.fillPoly time grows with the span


def mask_from_heatmap(cam: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """bool mask: cam >= threshold (cam is (H, W) float in [0, 1]; NaN counts as below)."""
    cam = np.asarray(cam)
    if cam.ndim != 2:
        raise ValueError(f"heatmap must be 2-D (H, W), got shape {cam.shape}")
    return cam >= threshold


def _snap(v: float) -> int:
    if not math.isfinite(v):
        raise ValueError(f"coordinate must be finite, got {v}")
    return math.floor(v + 0.5)


def _bbox(changed: np.ndarray, x0: int = 0, y0: int = 0) -> Rect | None:
    """Tight bounding box of the True pixels of ``changed`` (placed at x0, y0), or None."""
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed.any(axis=0))
    return (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)


def _union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _clip_segment(ax, ay, bx, by, xmin, ymin, xmax, ymax):
    """Liang-Barsky: the part of segment AB inside the box, or None."""
    t0, t1 = 0.0, 1.0
    dx, dy = bx - ax, by - ay
    for p, q in ((-dx, ax - xmin), (dx, xmax - ax), (-dy, ay - ymin), (dy, ymax - ay)):
        if p == 0:
            if q < 0:
                return None
        elif p < 0:
            t0 = max(t0, q / p)
        else:
            t1 = min(t1, q / p)
    if t0 > t1:
        return None
    return ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy


@dataclass
class _Stroke:
    value: bool
    radius: float
    last: tuple[int, int] | None = None
    tiles: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (ty, tx) -> pre-stroke tile
    rect: Rect | None = None  # union of what the stroke changed so far


class MaskEditor:
    """Edits ``mask`` ((H, W) bool, the editor's own copy, changed in place) with undo/redo."""

    def __init__(self, shape: tuple[int, int], mask: np.ndarray | None = None, max_undo: int = 200):
        if len(shape) != 2 or min(shape) <= 0:
            raise ValueError(f"shape must be (H, W) with H, W > 0, got {shape}")
        if max_undo < 0:
            raise ValueError(f"max_undo must be >= 0, got {max_undo}")
        self.shape = (int(shape[0]), int(shape[1]))
        if mask is None:
            self.mask = np.zeros(self.shape, bool)  # calloc: no pass over a large mask's pixels
        else:
            mask = np.asarray(mask)
            if mask.shape != self.shape:
                raise ValueError(f"mask shape {mask.shape} does not match {self.shape}")
            self.mask = np.ascontiguousarray(mask != 0)  # always a fresh array of our own
        self.max_undo = max_undo
        self.version = 0
        self._undo: deque[tuple[Rect, np.ndarray]] = deque(maxlen=max_undo)
        self._redo: list[tuple[Rect, np.ndarray]] = []
        self._stroke: _Stroke | None = None

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) or (self._stroke is not None and self._stroke.rect is not None)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_depth(self) -> int:
        """Committed undo steps (an open stroke counts once it is ended)."""
        return len(self._undo)

    @property
    def redo_depth(self) -> int:
        return len(self._redo)

    def forget_redo(self) -> None:
        """Drop the redo steps (a layered editor's new step on another layer ends them too)."""
        self._redo.clear()

    @property
    def coverage(self) -> float:
        return np.count_nonzero(self.mask) / self.mask.size

    @property
    def undo_bytes(self) -> int:
        """Bytes held by the undo and redo stacks plus the tiles saved by an open stroke."""
        total = sum(bits.nbytes for _, bits in self._undo) + sum(bits.nbytes for _, bits in self._redo)
        if self._stroke is not None:
            total += sum(tile.nbytes for tile in self._stroke.tiles.values())
        return total

    # -- brush and eraser ------------------------------------------------------------------

    def begin_stroke(self, value: bool, radius: float) -> None:
        """Start a stroke: value True paints (brush), False erases. Raises if one is open."""
        if self._stroke is not None:
            raise ValueError("begin_stroke called while a stroke is already open")
        if not (math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius must be a finite number > 0, got {radius}")
        self._stroke = _Stroke(bool(value), float(radius))

    def stroke_to(self, x: float, y: float) -> Rect | None:
        """Paint from the previous point to (x, y) (the first call paints one dab).

        Returns the tight bounding box of the pixels this call changed, or None."""
        s = self._stroke
        if s is None:
            raise ValueError("stroke_to called without begin_stroke")
        p = (_snap(x), _snap(y))
        if p == s.last:
            return None  # the same dab again: nothing can change within one stroke
        a = s.last if s.last is not None else p
        s.last = p
        r = s.radius
        h, w = self.shape
        # Only the part of the segment within r of the image can paint anything in it.
        seg = _clip_segment(a[0], a[1], p[0], p[1], -r - 1, -r - 1, w + r, h + r)
        if seg is None:
            return None
        ax, ay, bx, by = seg
        # Long segments are painted in pieces so each bounding box stays close to the capsule.
        pieces = max(1, math.ceil(math.hypot(bx - ax, by - ay) / max(64.0, 2 * r)))
        rect = None
        for i in range(pieces):
            t0, t1 = i / pieces, (i + 1) / pieces
            rect = _union(rect, self._paint_capsule(ax + t0 * (bx - ax), ay + t0 * (by - ay),
                                                    ax + t1 * (bx - ax), ay + t1 * (by - ay), r, s))
        if rect is not None:
            s.rect = _union(s.rect, rect)
            self._redo.clear()
            self.version += 1
        return rect

    def end_stroke(self, snap_to: np.ndarray | None = None) -> Rect | None:
        """Close the stroke; if it changed anything, commit it as ONE undo step and return its bbox.

        ``snap_to``: (H, W) region labels (core/superpixels.py); the stroke's changes then grow to the
        whole regions they touch, in the same step - a rough stroke that stops at the image's edges."""
        if snap_to is not None and np.shape(snap_to) != self.shape:
            raise ValueError(f"labels shape {np.shape(snap_to)} does not match {self.shape}")
        s = self._stroke
        self._stroke = None
        if s is None or s.rect is None:
            return None
        old = self._before_stroke(s)
        if snap_to is not None:
            return self._snap_stroke(s, old, snap_to)
        self._undo.append((s.rect, np.packbits(old)))
        return s.rect

    def _before_stroke(self, s: _Stroke) -> np.ndarray:
        """The mask inside the stroke's bounding box as it was before the stroke."""
        x0, y0, x1, y1 = s.rect
        old = self.mask[y0:y1, x0:x1].copy()
        for (ty, tx), tile in s.tiles.items():
            # Every changed pixel lies in a saved tile, and s.rect bounds them all.
            tx0, ty0 = tx * TILE, ty * TILE
            ix0, iy0 = max(x0, tx0), max(y0, ty0)
            ix1, iy1 = min(x1, tx0 + tile.shape[1]), min(y1, ty0 + tile.shape[0])
            if ix0 < ix1 and iy0 < iy1:
                old[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = tile[iy0 - ty0:iy1 - ty0, ix0 - tx0:ix1 - tx0]
        return old

    def _snap_stroke(self, s: _Stroke, old: np.ndarray, labels: np.ndarray) -> Rect:
        x0, y0, x1, y1 = s.rect
        changed = np.zeros(self.shape, bool)
        changed[y0:y1, x0:x1] = old != self.mask[y0:y1, x0:x1]
        regions = touched_regions(np.asarray(labels), changed)
        grown = _bbox(regions & (self.mask != s.value))
        if grown is not None:
            self.version += 1
        rx0, ry0, rx1, ry1 = rect = _union(s.rect, grown)
        before = self.mask[ry0:ry1, rx0:rx1].copy()  # outside the stroke's box the stroke changed nothing
        before[y0 - ry0:y1 - ry0, x0 - rx0:x1 - rx0] = old
        self.mask[ry0:ry1, rx0:rx1][regions[ry0:ry1, rx0:rx1]] = s.value
        self._undo.append((rect, np.packbits(before)))
        return rect

    def _paint_capsule(self, ax, ay, bx, by, r, s: _Stroke) -> Rect | None:
        h, w = self.shape
        x0, y0 = max(math.floor(min(ax, bx) - r), 0), max(math.floor(min(ay, by) - r), 0)
        x1, y1 = min(math.floor(max(ax, bx) + r) + 1, w), min(math.floor(max(ay, by) + r) + 1, h)
        if x0 >= x1 or y0 >= y1:
            return None
        px = np.arange(x0, x1, dtype=np.float64)[None, :] - ax
        py = np.arange(y0, y1, dtype=np.float64)[:, None] - ay
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        if length2 == 0:
            dist2 = px * px + py * py
        else:
            t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0)
            ex, ey = px - t * dx, py - t * dy
            dist2 = ex * ex + ey * ey
        hit = dist2 <= r * r + _EPS
        region = self.mask[y0:y1, x0:x1]
        changed = hit & (region != s.value)
        rect = _bbox(changed, x0, y0)
        if rect is None:
            return None
        self._save_tiles(s, rect)
        region[changed] = s.value
        return rect

    def _save_tiles(self, s: _Stroke, rect: Rect) -> None:
        x0, y0, x1, y1 = rect
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                if (ty, tx) not in s.tiles:
                    s.tiles[ty, tx] = self.mask[ty * TILE:(ty + 1) * TILE, tx * TILE:(tx + 1) * TILE].copy()

    # -- whole-region edits (each commits an open stroke first) ----------------------------

    def flood_fill(self, x: float, y: float, value: bool) -> Rect | None:
        """Set the 4-connected region of equal value containing (x, y) to ``value``."""
        self.end_stroke()
        px, py = _snap(x), _snap(y)
        h, w = self.shape
        if not (0 <= px < w and 0 <= py < h) or self.mask[py, px] == bool(value):
            return None
        ff = np.zeros((h + 2, w + 2), np.uint8)
        flags = 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
        _, _, _, (rx, ry, rw, rh) = cv2.floodFill(self.mask.view(np.uint8), ff, (px, py), 1, 0, 0, flags)
        # ff has a 1-pixel frame (which OpenCV also sets to 1); the fill itself starts at (1, 1).
        return self._apply(rx, ry, ff[ry + 1:ry + 1 + rh, rx + 1:rx + 1 + rw].view(bool), bool(value))

    def wand_fill(self, image: np.ndarray, x: float, y: float, tolerance: int, value: bool) -> Rect | None:
        """Magic wand: set the 4-connected region of the *image* whose colour lies within ``tolerance``
        (per channel, 0-255) of the clicked pixel's to ``value`` - the object under the click, where
        ``flood_fill`` follows the mask."""
        self.end_stroke()
        px, py = _snap(x), _snap(y)
        h, w = self.shape
        image = np.ascontiguousarray(image)
        if image.shape[:2] != (h, w):
            raise ValueError(f"image shape {image.shape[:2]} does not match the mask's {self.shape}")
        if not (0 <= px < w and 0 <= py < h):
            return None
        ff = np.zeros((h + 2, w + 2), np.uint8)
        t = int(min(max(tolerance, 0), 255))
        diff = (t,) * (image.shape[2] if image.ndim == 3 else 1)
        flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
        _, _, _, (rx, ry, rw, rh) = cv2.floodFill(image, ff, (px, py), 0, diff, diff, flags)
        return self._apply(rx, ry, ff[ry + 1:ry + 1 + rh, rx + 1:rx + 1 + rw].view(bool), bool(value))

    def fill_polygon(self, points: Sequence[tuple[float, float]], value: bool) -> Rect | None:
        """Lasso: set the polygon's inside to ``value`` (True fills, False erases).

        Vertices are snapped to pixel centres; the inside is what cv2.fillPoly (LINE_8) paints,
        outline pixels included: the square (2, 2)-(6, 6) covers x, y in 2..6."""
        self.end_stroke()
        if len(points) < 3:
            raise ValueError(f"a polygon needs at least 3 points, got {len(points)}")
        pts = np.array([[min(max(_snap(v), -_POLY_LIMIT), _POLY_LIMIT) for v in pt] for pt in points], np.int64)
        h, w = self.shape
        x0, y0 = max(int(pts[:, 0].min()), 0), max(int(pts[:, 1].min()), 0)
        x1, y1 = min(int(pts[:, 0].max()) + 1, w), min(int(pts[:, 1].max()) + 1, h)
        if x0 >= x1 or y0 >= y1:
            return None
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [(pts - (x0, y0)).astype(np.int32)], 1, cv2.LINE_8)
        return self._apply(x0, y0, inside.view(bool), bool(value))

    def clear(self) -> Rect | None:
        self.end_stroke()
        rect = _bbox(self.mask)
        if rect is not None:
            self._commit(rect)
            self.mask[rect[1]:rect[3], rect[0]:rect[2]] = False
        return rect

    def invert(self) -> Rect | None:
        self.end_stroke()
        h, w = self.shape
        self._commit((0, 0, w, h))
        np.logical_not(self.mask, out=self.mask)
        return (0, 0, w, h)

    def replace(self, new_mask: np.ndarray) -> Rect | None:
        """Make the mask equal to ``new_mask`` (same shape; e.g. from mask_from_heatmap)."""
        self.end_stroke()
        new_mask = np.asarray(new_mask)
        if new_mask.shape != self.shape:
            raise ValueError(f"new mask shape {new_mask.shape} does not match {self.shape}")
        new_mask = new_mask.astype(bool, copy=False)
        rect = _bbox(new_mask != self.mask)
        if rect is None:
            return None
        self._commit(rect)
        x0, y0, x1, y1 = rect
        self.mask[y0:y1, x0:x1] = new_mask[y0:y1, x0:x1]
        return rect

    def fill_region(self, region: np.ndarray, value: bool) -> Rect | None:
        """Set the pixels of ``region`` ((H, W) bool, e.g. one superpixel) to ``value``."""
        self.end_stroke()
        region = np.asarray(region, bool)
        if region.shape != self.shape:
            raise ValueError(f"region shape {region.shape} does not match {self.shape}")
        rect = _bbox(region)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        return self._apply(x0, y0, region[y0:y1, x0:x1], bool(value))

    def _apply(self, x0: int, y0: int, hit: np.ndarray, value: bool) -> Rect | None:
        """Set the ``hit`` pixels (a patch placed at x0, y0) to ``value`` as one undo step."""
        region = self.mask[y0:y0 + hit.shape[0], x0:x0 + hit.shape[1]]
        rect = _bbox(hit & (region != value), x0, y0)
        if rect is None:
            return None
        self._commit(rect)
        region[hit] = value
        return rect

    def _commit(self, rect: Rect) -> None:
        """Record rect's current (about to be overwritten) values as one undo step."""
        x0, y0, x1, y1 = rect
        self._undo.append((rect, np.packbits(self.mask[y0:y1, x0:x1])))  # maxlen drops the oldest
        self._redo.clear()
        self.version += 1

    # -- history ---------------------------------------------------------------------------

    def undo(self) -> Rect | None:
        self.end_stroke()
        if not self._undo:
            return None
        rect, bits = self._undo.pop()
        self._redo.append((rect, self._swap(rect, bits)))
        return rect

    def redo(self) -> Rect | None:
        self.end_stroke()
        if not self._redo:
            return None
        rect, bits = self._redo.pop()
        self._undo.append((rect, self._swap(rect, bits)))
        return rect

    def _swap(self, rect: Rect, bits: np.ndarray) -> np.ndarray:
        """Write the packed values into rect; return the values it held, packed."""
        x0, y0, x1, y1 = rect
        region = self.mask[y0:y1, x0:x1]
        current = np.packbits(region)
        region[...] = np.unpackbits(bits, count=region.size).reshape(region.shape).view(bool)
        self.version += 1
        return current
