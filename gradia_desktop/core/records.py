"""Plain records the store hands out; no behaviour beyond small derived properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPLITS = ("train", "val", "test")
QUADRANTS = ("RA", "UA", "RI", "UI")
UNASSESSED = "unassessed"  # a predicted sample that no quadrant can take: no judgement, no mask to suggest from


@dataclass(frozen=True)
class Sample:
    id: int
    path: str  # relative to the project's images root
    class_idx: int
    class_name: str
    split: str
    width: int
    height: int
    has_mask: bool


@dataclass(frozen=True)
class Prediction:
    sample_id: int
    pred: int
    confidence: float
    cam: np.ndarray  # (h, w) float32 in [0, 1], predicted class, ReLU then min-max
    iou: float | None = None
    energy: float | None = None
    pointing: bool | None = None


@dataclass(frozen=True)
class Version:
    id: int
    parent_id: int | None
    created: float
    status: str
    mode: str
    arch: str
    cam_layer: str
    image_size: int
    config: dict[str, Any]
    checkpoint: str | None
    best_epoch: int | None
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    @property
    def name(self) -> str:
        return f"v{self.id}"
