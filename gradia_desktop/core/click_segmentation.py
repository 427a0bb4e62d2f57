"""Click-to-mask without a model file: positive and negative clicks (and a box) seed OpenCV's GrabCut.

Each click is a hard constraint - a small disc of certain object (positive) or certain background
(negative) - and the mask found so far is the starting guess for the rest, so every click refines
the last result rather than starting over; a click that contradicts the mask so far (a positive one
outside it, a negative one inside) puts its neighbourhood in doubt, the way the first click does. A
box makes everything outside it certain background (clicks outside it still count). Before the
first result, the neighbourhood of the positive clicks, and where an optional prior such as the
model's heatmap is high, is the probable object (a box alone: the prior inside it, or all of it).
The result keeps only the parts connected to a positive click (or inside the box, without one), so
a click never adds stray blobs elsewhere.

A part of the object's own colour joined to it cannot be cut off by a negative click: colour is all
GrabCut sees (a cut between the clicks by distance was tried, and cost letters more clicks than it
saved elsewhere); the eraser does that.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (inclusive-exclusive)


def box_from_corners(x0: float, y0: float, x1: float, y1: float, shape: tuple[int, int]) -> Box | None:
    """A box from any two opposite corners, clipped to an image of ``shape`` (H, W); None when it is
    under 2 px wide or high."""
    h, w = shape
    xs = sorted((int(np.clip(round(x0), 0, w)), int(np.clip(round(x1), 0, w))))
    ys = sorted((int(np.clip(round(y0), 0, h)), int(np.clip(round(y1), 0, h))))
    if xs[1] - xs[0] < 2 or ys[1] - ys[0] < 2:
        return None
    return xs[0], ys[0], xs[1], ys[1]


@dataclass(frozen=True)
class Click:
    x: int
    y: int
    positive: bool


class ClickSegmenter:
    """The mask that the clicks so far (and the box, if any) say, for one RGB image (H x W x 3, uint8)."""

    def __init__(self, rgb: np.ndarray, prior: np.ndarray | None = None, iterations: int = 4):
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"click segmentation needs an H x W x 3 uint8 image, got {rgb.shape} {rgb.dtype}")
        self.bgr = np.ascontiguousarray(rgb[..., ::-1])
        self.shape = rgb.shape[:2]
        if prior is not None and np.asarray(prior).shape != self.shape:
            raise ValueError(f"the prior's shape {np.asarray(prior).shape} does not match the image's {self.shape}")
        self.prior = None if prior is None else np.asarray(prior, np.float32)
        self.iterations = iterations
        self.clicks: list[Click] = []
        self.box: Box | None = None
        self._results: list[np.ndarray] = []  # the mask after each step (a click or a box), for undo
        self._undo_box: list[Box | None | bool] = []  # per step: the box before it, or False for a click
        h, w = self.shape
        self.seed_radius = max(1, round(min(h, w) / 100))  # a click marks a small disc, not one pixel
        self.start_radius = max(3, round(min(h, w) / 8))  # before any result: the click's neighbourhood

    def mask(self) -> np.ndarray:
        """The current mask (bool, H x W); all False before any click or box."""
        return self._results[-1].copy() if self._results else np.zeros(self.shape, bool)

    def add_click(self, x: float, y: float, positive: bool) -> np.ndarray:
        """Add a click (image coordinates) and return the refined mask. Clicks outside the image are ignored."""
        px, py = int(round(x)), int(round(y))
        h, w = self.shape
        if not (0 <= px < w and 0 <= py < h):
            return self.mask()
        self.clicks.append(Click(px, py, bool(positive)))
        self._undo_box.append(False)
        self._results.append(self._segment())
        return self.mask()

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Restrict the object to a box (any two corners) and return the refined mask; clicks are kept."""
        box = box_from_corners(x0, y0, x1, y1, self.shape)
        if box is None:
            return self.mask()
        self._undo_box.append(self.box)
        self.box = box
        self._results.append(self._segment())
        return self.mask()

    def undo(self) -> np.ndarray:
        """Take back the last click (or box) and return the mask as it was before it."""
        if self._results:
            self._results.pop()
            before = self._undo_box.pop()
            if before is False:
                self.clicks.pop()
            else:
                self.box = before
        return self.mask()

    # ---- GrabCut ------------------------------------------------------------------------------
    def _seeds(self) -> tuple[list[Click], list[Click]]:
        return [c for c in self.clicks if c.positive], [c for c in self.clicks if not c.positive]

    def _labels(self) -> np.ndarray:
        h, w = self.shape
        positives, negatives = self._seeds()
        labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
        if self._results:
            last = self._results[-1]
            labels[last] = cv2.GC_PR_FGD
            for c in positives + negatives:  # a click that contradicts the mask so far: its neighbourhood is in doubt
                if last[c.y, c.x] != c.positive:
                    cv2.circle(labels, (c.x, c.y), self.start_radius,
                               int(cv2.GC_PR_FGD if c.positive else cv2.GC_PR_BGD), -1)
        else:
            if self.prior is not None:
                labels[self.prior >= 0.5] = cv2.GC_PR_FGD
            for c in positives:
                cv2.circle(labels, (c.x, c.y), self.start_radius, int(cv2.GC_PR_FGD), -1)
            if self.box is not None and not positives:
                x0, y0, x1, y1 = self.box
                inside = labels[y0:y1, x0:x1]
                if not (inside == cv2.GC_PR_FGD).any():  # no prior there: the whole box is the first guess
                    inside[:] = cv2.GC_PR_FGD
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            outside = np.ones((h, w), bool)
            outside[y0:y1, x0:x1] = False
            labels[outside] = cv2.GC_BGD
        for c in self.clicks:  # in order: a later click on the same spot overrules an earlier one
            cv2.circle(labels, (c.x, c.y), self.seed_radius, int(cv2.GC_FGD if c.positive else cv2.GC_BGD), -1)
        return labels

    def _segment(self) -> np.ndarray:
        labels = self._labels()
        positives, _ = self._seeds()
        if not ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).any():
            return np.zeros(self.shape, bool)
        if (labels == cv2.GC_BGD).all() or not ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)).any():
            return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # GrabCut's k-means: the same clicks give the same mask
        try:
            cv2.grabCut(self.bgr, labels, None, bgd, fgd, self.iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error:  # one colour model without samples (a flat image): keep the seeds as they are
            pass
        found = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
        return _connected_to(found, [(c.x, c.y) for c in positives]) if positives else found


def _connected_to(mask: np.ndarray, points: list[tuple[int, int]]) -> np.ndarray:
    """The parts of ``mask`` (8-connected) that hold one of ``points``."""
    count, parts = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    wanted = {int(parts[y, x]) for x, y in points} - {0}
    return np.isin(parts, list(wanted)) if wanted else np.zeros_like(mask)


class ClickSession:
    """Click-to-mask on a mask that may already hold something: the clicks' object is added to it.

    Images larger than ``MAX_SIDE`` are cut out at that size and the result is scaled back, so that a
    click on a photograph of any size costs about what it does at 640 px (under a second). The
    mask held before the first click stays (the eraser takes it away); negative clicks shape only
    what the clicks added. An optional ``prior`` (H x W in [0, 1], e.g. the model's heatmap) marks
    where the object probably is before the first result (from 0.5 up)."""

    MAX_SIDE = 640

    def __init__(self, rgb: np.ndarray, base: np.ndarray, prior: np.ndarray | None = None):
        h, w = rgb.shape[:2]
        if base.shape != (h, w):
            raise ValueError(f"the mask's shape {base.shape} does not match the image's {(h, w)}")
        if prior is not None and np.asarray(prior).shape != (h, w):
            raise ValueError(f"the prior's shape {np.asarray(prior).shape} does not match the image's {(h, w)}")
        self.shape = (h, w)
        self.base = np.asarray(base, bool).copy()
        self.scale = min(1.0, self.MAX_SIDE / max(h, w))
        size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
        small = rgb if self.scale == 1.0 else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        if prior is not None and self.scale != 1.0:
            prior = cv2.resize(np.asarray(prior, np.float32), size, interpolation=cv2.INTER_AREA)
        self.segmenter = ClickSegmenter(np.ascontiguousarray(small), prior)
        self.result: np.ndarray | None = None  # the mask after the last click or box

    def click(self, x: float, y: float, positive: bool) -> np.ndarray:
        """The whole mask after one more click at (x, y) in image coordinates."""
        return self._whole(self.segmenter.add_click(x * self.scale, y * self.scale, positive))

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """The whole mask with the object kept inside the box with corners (x0, y0), (x1, y1)."""
        s = self.scale
        return self._whole(self.segmenter.set_box(x0 * s, y0 * s, x1 * s, y1 * s))

    def _whole(self, found: np.ndarray) -> np.ndarray:
        if self.scale != 1.0:
            h, w = self.shape
            found = cv2.resize(found.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        self.result = self.base | found
        return self.result.copy()
