"""Which epoch of a run becomes the model version: chosen on the validation split only.

Validation usually carries the same shortcut as training, so its accuracy rewards the shortcut.
Where the validation split has masked images, the shortcut probe (``shortcut_probe``) can see it:
each epoch is scored by the lower of its ordinary validation accuracy and its accuracy on the
masked images' counterfactual copies (object kept, background from another class), and the best
score wins. An epoch that reads the shortcut fails the copies; one that reads the shortcut reversed
(it happens while a guided run unlearns it) fails the ordinary images; only an epoch that reads the
object does well on both. Without a probe, attention energy inside the validation masks decides
among the epochs within ``tolerance`` of the best accuracy; without validation masks, accuracy alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.training_metrics import EpochMetrics

PROBE_RULE = "the lower of validation and counterfactual validation accuracy"


@dataclass(frozen=True)
class Selection:
    epoch: int  # 1-based
    rule: str  # for people: which rule chose it


def select_best_epoch(epochs: list[EpochMetrics], tolerance: float) -> Selection:
    if all(e.val_counterfactual_accuracy is not None for e in epochs):
        best = max(epochs, key=lambda e: (min(e.val_accuracy, e.val_counterfactual_accuracy),
                                          e.val_counterfactual_accuracy, e.val_energy or 0.0, e.epoch))
        return Selection(best.epoch, PROBE_RULE)
    best_acc = max(e.val_accuracy for e in epochs)
    candidates = [e for e in epochs if e.val_accuracy >= best_acc - tolerance]
    if all(e.val_energy is not None for e in candidates):
        best = max(candidates, key=lambda e: (e.val_energy, e.val_accuracy, e.epoch))
        return Selection(best.epoch, "attention energy inside the validation masks, among epochs within "
                                     f"{tolerance:g} of the best validation accuracy")
    best = max(candidates, key=lambda e: (e.val_accuracy, e.epoch))
    return Selection(best.epoch, "validation accuracy")
