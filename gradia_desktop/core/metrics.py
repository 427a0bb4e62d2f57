"""Attention and accuracy metrics, the Reasonability Matrix quadrants, and the automatic suggestion.

All functions take numpy arrays; CAMs are ReLU'd, min-max normalised maps in [0, 1] at the same
size as the masks they are compared with.
"""

from __future__ import annotations

import cv2
import numpy as np

IOU_THRESHOLD = 0.75  # the reference's binarisation of the CAM

# The automatic suggestion (shown as a suggestion, never stored as a judgement): the attention is
# called reasonable when the CAM's peak lies inside the expert's mask (pointing game) AND at least
# this share of the positive CAM energy falls inside the mask. Both are threshold-free on the CAM,
# so a blurry but well-placed map passes and a map on the background fails.
SUGGEST_MIN_ENERGY = 1 / 3


def attention_scores(cams: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iou, energy, pointing) per sample for (B, H, W) CAMs against (B, H, W) masks.

    iou: CAM > 0.75 against mask > 0. energy: sum of CAM inside the mask / sum of CAM.
    pointing: whether the CAM's argmax lies inside the mask.
    """
    cams = np.asarray(cams, dtype=np.float32)
    masks = np.asarray(masks) > 0
    if cams.shape != masks.shape or cams.ndim != 3:
        raise ValueError(f"CAMs {cams.shape} and masks {masks.shape} must both be (B, H, W)")
    hot = cams > IOU_THRESHOLD
    inter = (hot & masks).sum(axis=(1, 2))
    union = (hot | masks).sum(axis=(1, 2))
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    positive = np.clip(cams, 0, None)
    total = positive.sum(axis=(1, 2))
    energy = np.where(total > 0, (positive * masks).sum(axis=(1, 2)) / np.maximum(total, 1e-12), 0.0)
    flat = cams.reshape(len(cams), -1).argmax(axis=1)
    pointing = masks.reshape(len(masks), -1)[np.arange(len(masks)), flat]
    return iou.astype(np.float64), energy.astype(np.float64), pointing.astype(bool)


def resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """A mask at the model's square input size (nearest neighbour), as training and evaluation see it."""
    return cv2.resize(np.asarray(mask).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0


def attention_against(cam_grid: np.ndarray, mask: np.ndarray, size: int) -> tuple[float, float, bool]:
    """(iou, energy, pointing) of a stored CAM grid against a mask, computed as evaluation computes them:
    the grid upsampled bilinearly to the model's input size and min-max normalised again, the mask
    resized by nearest neighbour. Lets a freshly painted mask get its figures without the model."""
    up = cv2.resize(np.asarray(cam_grid, np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    low, high = float(up.min()), float(up.max())
    up = (up - low) / (high - low) if high > low else np.zeros_like(up)
    iou, energy, pointing = attention_scores(up[None], resize_mask(mask, size)[None])
    return float(iou[0]), float(energy[0]), bool(pointing[0])


def suggest_reasonable(energy: float | None, pointing: bool | None) -> bool | None:
    """The automatic reasonable/unreasonable suggestion; None where there is no mask to judge by."""
    if energy is None or pointing is None:
        return None
    return bool(pointing) and energy >= SUGGEST_MIN_ENERGY


def quadrant(correct: bool, reasonable: bool | None) -> str | None:
    """RA / UA / RI / UI, or None when the attention has not been assessed."""
    if reasonable is None:
        return None
    return ("R" if reasonable else "U") + ("A" if correct else "I")


def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    pred, target = np.asarray(pred), np.asarray(target)
    return float((pred == target).mean()) if len(pred) else float("nan")


def mean_or_none(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None
