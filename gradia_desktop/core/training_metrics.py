"""What a training run reports per batch and per epoch: the records the trainer makes, the store
keeps (as JSON), and the command line and the GUI show."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from .records import QUADRANTS, UNASSESSED

# The validation matrix counts an epoch keeps: enough to redraw the matrix, not its by-source split.
EPOCH_MATRIX_COUNTS = (*QUADRANTS, UNASSESSED)


@dataclass(frozen=True)
class BatchLosses:
    """One training batch's mean losses: the total and its cross-entropy and attention parts."""

    loss: float
    ce: float
    attention: float


@dataclass(frozen=True, kw_only=True)
class EpochMetrics:
    """One finished epoch: training means over its batches, then the validation pass and timings.

    The ``val_`` attention means are None without validation masks. Epochs stored by early versions
    lack the matrix, the split timings and the probe: those read back as None.
    """

    epoch: int
    loss: float
    ce: float
    attention: float
    train_accuracy: float
    val_accuracy: float
    val_iou: float | None
    val_energy: float | None
    val_pointing: float | None
    val_matrix: dict[str, int] | None = None  # counts per EPOCH_MATRIX_COUNTS
    train_seconds: float | None = None
    eval_seconds: float | None = None
    seconds: float  # the whole epoch, checkpoint included
    # The shortcut probe (training/shortcut_probe.py) on the masked validation images; None without
    # two of them, and in epochs stored before the probe existed.
    val_masked_accuracy: float | None = None
    val_counterfactual_accuracy: float | None = None

    @property
    def val_shortcut_reliance(self) -> float | None:
        """Accuracy lost on the masked validation images once their backgrounds are swapped."""
        if self.val_masked_accuracy is None or self.val_counterfactual_accuracy is None:
            return None
        return self.val_masked_accuracy - self.val_counterfactual_accuracy

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, keys in field order (as stored in the project's ``epochs`` table)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpochMetrics:
        """Read ``to_dict``'s form back; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        missing = sorted(f.name for f in fields(cls) if f.name not in data and f.default is MISSING)
        if missing:
            raise ValueError(f"epoch record without {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in known})
