"""How a mask file's pixel values become attention, and which files are refused as masks.

By default a mask must say clearly what it means, so that a photograph or a lossy export cannot
slip in as "everything is attention":

- grey (one channel, or colour channels that are all equal: grey saved as RGB; alpha is ignored)
  with 0 as background and at most 16 other levels, the lowest at least half the highest:
  0/255, 0/1, 0/200, 0/65535, a few class ids such as 0/1/2 — any value above 0 is attention;
- or a few label colours (at most 16) on black, as CVAT, Supervisely and labelme palette exports
  write them — any colour but black is attention.

Anything else (a photograph, antialiased edges, any JPEG, whose compression noise blurs every
edge) is refused with a message naming the file. A ``threshold`` reads any mask: values above it,
on a 0–255 scale (16-bit values / 257, floats in [0, 1] x 255), are attention; ``channel`` picks the
channel read (r, g, b, a, or max: the largest colour channel, the default with a threshold).
NaN and infinite values are background.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import GradiaError

MASK_CHANNELS = ("r", "g", "b", "a", "max")
MAX_LEVELS = 16  # besides background: class ids or label colours a mask may hold
_SAMPLE = 1 << 16  # pixels looked at first, to turn a photograph away without counting all its colours
_HINT = "set a mask threshold to read values above it as attention (e.g. --mask-threshold 127)"


@dataclass(frozen=True)
class MaskRule:
    threshold: float | None = None  # None: the mask must be clear as it is (see the module docstring)
    channel: str | None = None  # r, g, b, a or max; None: grey, or label colours

    def __post_init__(self):
        if self.channel is not None and self.channel not in MASK_CHANNELS:
            raise GradiaError(f"mask channel {self.channel!r}: expected one of {', '.join(MASK_CHANNELS)}")
        if self.threshold is not None and not 0 <= self.threshold < 255:
            raise GradiaError(f"mask threshold {self.threshold}: must be at least 0 and below 255")


def _split_alpha(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(colour or grey, alpha or None) of a decoded image in OpenCV's channel order."""
    if img.ndim == 2:
        return img, None
    channels = img.shape[2]
    if channels == 1:
        return img[..., 0], None
    if channels == 2:  # grey + alpha
        return img[..., 0], img[..., 1]
    return img[..., :3], img[..., 3] if channels >= 4 else None


def _select(img: np.ndarray, rule: MaskRule, path) -> np.ndarray | None:
    """The one channel the rule reads, or None for a colour image read as label colours."""
    colour, alpha = _split_alpha(img)
    if rule.channel == "a":
        if alpha is None:
            raise GradiaError(f"{path}: mask channel a, but the image has no alpha channel")
        return alpha
    if colour.ndim == 2:  # r, g, b and max of a grey image are the grey values
        return colour
    b, g, r = colour[..., 0], colour[..., 1], colour[..., 2]
    if rule.channel in ("r", "g", "b"):
        return {"b": b, "g": g, "r": r}[rule.channel]
    if np.array_equal(b, g) and np.array_equal(g, r):
        return b
    if rule.channel == "max" or rule.threshold is not None:
        return colour.max(axis=2)
    return None


def _on_0_255(values: np.ndarray) -> np.ndarray:
    """The values on the 0–255 scale the threshold is given on (negative values count as 0)."""
    if values.dtype == np.uint8:
        return values
    if values.dtype.kind in "iu":
        return np.clip(values, 0, None) * (255.0 / np.iinfo(values.dtype).max)
    return np.clip(values, 0, 1) * 255.0


def _levels(values: np.ndarray, cap: int) -> np.ndarray | None:
    """The distinct values, sorted; None when there are more than ``cap`` of them."""
    if values.dtype == np.uint8:  # OpenCV's histogram: a few ms for a 4096 x 4096 mask
        counts = cv2.calcHist([np.ascontiguousarray(values)], [0], None, [256], [0, 256]).reshape(-1)
        found = np.flatnonzero(counts)
        return found if len(found) <= cap else None
    flat = values.reshape(-1)
    if values.dtype == np.uint16:  # counting is linear for small integer ranges
        found = np.flatnonzero(np.bincount(flat))
        return found if len(found) <= cap else None
    if flat.size > _SAMPLE and len(np.unique(flat[:: flat.size // _SAMPLE])) > cap:
        return None
    found = np.unique(flat)
    return found if len(found) <= cap else None


def _binary(values: np.ndarray, path) -> np.ndarray:
    values = np.clip(values, 0, None) if values.dtype.kind in "if" else values
    levels = _levels(values, MAX_LEVELS + 1)
    if levels is None:
        raise GradiaError(f"{path}: not a clear mask: more than {MAX_LEVELS + 1} grey levels (a photograph, or "
                          f"antialiased edges); {_HINT}")
    high = levels[levels > 0]
    if len(high) == 0:
        return np.zeros(values.shape, bool)
    if len(high) > 1 and levels[0] != 0:
        raise GradiaError(f"{path}: not a clear mask: no background (0) among its {len(levels)} grey levels; "
                          f"{_HINT}")
    if high[0] * 2 < high[-1]:
        raise GradiaError(f"{path}: not a clear mask: grey levels from {high[0]:g} to {high[-1]:g} besides 0 "
                          f"(antialiased edges?); {_HINT}")
    return values > 0


def _label_colours(colour: np.ndarray, path) -> np.ndarray:
    flat = np.ascontiguousarray(colour).reshape(-1, 3)
    packed = flat.view(np.dtype((np.void, flat.dtype.itemsize * 3))).reshape(-1)
    found = _levels(packed, MAX_LEVELS + 1)
    if found is None:
        raise GradiaError(f"{path}: a colour image, not a mask (more than {MAX_LEVELS + 1} colours; a mask is "
                          f"grey, or a few label colours on black); to read it anyway choose a channel "
                          f"(--mask-channel r, g, b, a or max) and a threshold (--mask-threshold)")
    if not (flat == 0).all(axis=1).any():
        raise GradiaError(f"{path}: {len(found)} label colours but no black background, not a mask; to read it "
                          f"anyway choose a channel (--mask-channel) and a threshold (--mask-threshold)")
    return (colour != 0).any(axis=2)


def interpret_mask(img: np.ndarray, rule: MaskRule, path: str | os.PathLike, lossy: bool = False) -> np.ndarray:
    """A decoded mask (OpenCV channel order, any depth) as an (H, W) bool array, or a GradiaError
    naming ``path`` when the rule does not accept it. ``lossy``: the file is a JPEG."""
    if img.dtype.kind == "f":
        img = np.nan_to_num(img, nan=0.0, posinf=0.0, neginf=0.0)
    if rule.threshold is not None:
        return _on_0_255(_select(img, rule, path)) > rule.threshold
    if lossy:
        raise GradiaError(f"{path}: a JPEG mask is lossy (compression noise blurs its edges); {_HINT}")
    values = _select(img, rule, path)
    if values is None:
        return _label_colours(img[..., :3], path)
    return _binary(values, path)
