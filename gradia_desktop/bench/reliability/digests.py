"""Short fingerprints of masks and judgements, as the crash child announces them and the parent reads them back."""

from __future__ import annotations

import hashlib

import numpy as np

NO_MASK = "none"


def mask_digest(mask: np.ndarray | None) -> str:
    """A digest of a bool mask's shape and pixels; NO_MASK for None or an empty mask (an empty save clears)."""
    if mask is None or not np.any(mask):
        return NO_MASK
    mask = np.asarray(mask, bool)
    h = hashlib.sha1(f"{mask.shape[0]}x{mask.shape[1]}:".encode())
    h.update(np.packbits(mask).tobytes())
    return h.hexdigest()[:16]


def judgement_text(value: bool | None) -> str:
    return "none" if value is None else str(int(bool(value)))
