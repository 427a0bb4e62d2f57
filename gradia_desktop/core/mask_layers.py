"""Three-state masks: "look here", "don't look here", and everything else not marked.

A mask file holds both layers in one 8-bit PNG, so a mask is still written and replaced as one file:

    255  look here        where the model should look (the paper's mask)
     64  don't look here  what the model must not use: a ruler, a watermark, a hospital tag
      0  not marked       no opinion

A pixel is in at most one layer; "look here" wins where both were painted. A mask without the
"don't look here" layer is the two-state 0/255 file every earlier version wrote, and reads as it
always did. 64 rather than 1 or 128 so that a tool reading a 0/255 mask by "above 127" sees only
"look here" in a three-state file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOOK = 255
AVOID = 64
UNMARKED = 0
THREE_STATE_VALUES = frozenset({UNMARKED, AVOID, LOOK})


@dataclass(frozen=True)
class MaskLayers:
    """A sample's mask as two (H, W) bool layers that never overlap."""

    look: np.ndarray
    avoid: np.ndarray

    @classmethod
    def of(cls, look: np.ndarray, avoid: np.ndarray | None = None) -> MaskLayers:
        look = np.asarray(look) > 0
        avoid = np.zeros_like(look) if avoid is None else (np.asarray(avoid) > 0) & ~look
        return cls(look, avoid)

    @property
    def shape(self) -> tuple[int, int]:
        return self.look.shape

    @property
    def empty(self) -> bool:
        return not self.look.any() and not self.avoid.any()

    @property
    def three_state(self) -> bool:
        """Whether the expert marked anything as "don't look here" (then unmarked pixels are unknown)."""
        return bool(self.avoid.any())

    def encode(self) -> np.ndarray:
        """The uint8 image a mask file holds (values above)."""
        out = np.zeros(self.look.shape, np.uint8)
        out[self.avoid] = AVOID
        out[self.look] = LOOK
        return out


def decode(values: np.ndarray) -> MaskLayers | None:
    """The layers of a decoded one-channel uint8 mask file, or None when its values are not the
    three-state ones (such a file is read as an ordinary two-state mask)."""
    if values.dtype != np.uint8 or values.ndim != 2:
        return None
    present = set(np.unique(values).tolist())
    if not present <= THREE_STATE_VALUES:
        return None
    return MaskLayers(values == LOOK, values == AVOID)
