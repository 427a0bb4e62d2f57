"""Which epoch of a run becomes the model version: chosen on the validation split only.

Validation usually carries the same shortcut as training, so its accuracy rewards the shortcut.
Where the validation split has masked images, the shortcut probe (``shortcut_probe``) can see it:
the epoch that classifies their counterfactual copies best wins, among the epochs whose ordinary
validation accuracy stays within ``guard`` of the best (so a collapsed model cannot win on the
copies). Without a probe, attention energy inside the validation masks decides among the epochs
within ``tolerance`` of the best accuracy; without validation masks, accuracy alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.training_metrics import EpochMetrics

GUARD = 0.05  # how far below the best validation accuracy a counterfactual-chosen epoch may lie


@dataclass(frozen=True)
class Selection:
    epoch: int  # 1-based
    rule: str  # for people: which rule chose it


def select_best_epoch(epochs: list[EpochMetrics], tolerance: float, guard: float = GUARD) -> Selection:
    best_acc = max(e.val_accuracy for e in epochs)
    if all(e.val_counterfactual_accuracy is not None for e in epochs):
        candidates = [e for e in epochs if e.val_accuracy >= best_acc - guard]
        best = max(candidates, key=lambda e: (e.val_counterfactual_accuracy, e.val_energy or 0.0, e.val_accuracy,
                                              e.epoch))
        return Selection(best.epoch, "counterfactual validation accuracy, among epochs within "
                                     f"{guard:g} of the best validation accuracy")
    candidates = [e for e in epochs if e.val_accuracy >= best_acc - tolerance]
    if all(e.val_energy is not None for e in candidates):
        best = max(candidates, key=lambda e: (e.val_energy, e.val_accuracy, e.epoch))
        return Selection(best.epoch, "attention energy inside the validation masks, among epochs within "
                                     f"{tolerance:g} of the best validation accuracy")
    best = max(candidates, key=lambda e: (e.val_accuracy, e.epoch))
    return Selection(best.epoch, "validation accuracy")
