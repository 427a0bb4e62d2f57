"""Which epoch of a run becomes the model version: chosen on the validation split only.

Validation usually carries the same shortcut as training, so its accuracy rewards the shortcut.
Where the validation split has masked images, the shortcut probe (``shortcut_probe``) can see it:
its counterfactual copies keep the object and take what lies outside the mask from another class.
With K classes, an image whose surroundings say nothing about its class agrees with them one time
in K and disagrees K-1 times in K, so ``(val + (K-1) * counterfactual) / K`` estimates the accuracy
once the shortcut is gone, and the best estimate wins. An epoch that reads the shortcut fails the
copies; one that reads it reversed (it happens while a guided run unlearns it) fails the ordinary
images; only an epoch that reads the object does well on both.

A model that has learnt nothing scores chance on both, which is also what a pure shortcut reader
is estimated to score; so only epochs at least halfway from chance to the best validation accuracy
compete (a baseline keeps a trained epoch, and the probe still shows its shortcut). Without a probe,
attention energy inside the validation masks decides among the epochs within ``tolerance`` of the
best accuracy; without validation masks, accuracy alone.

A run that validates averaged weights (averaging.py) is smooth from epoch to epoch, and its last
epoch holds the most training: there the last epoch is kept unless the probe puts its estimate more
than ``AVERAGED_MARGIN`` below the best epoch's (then the best, as above). Without a probe such a run
keeps its last epoch: validation that carries the shortcut cannot say which epoch reads it less, and
on the efficacy suite the last averaged epoch beat every rule that picks by validation alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.training_metrics import EpochMetrics

PROBE_RULE = ("the accuracy expected once what lies outside the masks says nothing about the class (validation "
              "and counterfactual validation accuracy weighed 1 : K-1), among epochs at least halfway from "
              "chance to the best validation accuracy")


AVERAGED_MARGIN = 0.05
LAST_RULE = ("the last epoch of averaged weights, its accuracy expected without the shortcut (validation and "
             f"counterfactual validation weighed 1 : K-1) within {AVERAGED_MARGIN:g} of the best epoch's")
LAST_UNPROBED_RULE = "the last epoch of averaged weights (no validation masks to probe the shortcut with)"


@dataclass(frozen=True)
class Selection:
    epoch: int  # 1-based
    rule: str  # for people: which rule chose it


def shortcut_free_estimate(epoch: EpochMetrics, classes: int) -> float:
    """Expected accuracy when the surroundings agree with the class only by chance (1 in ``classes``)."""
    return round((epoch.val_accuracy + (classes - 1) * epoch.val_counterfactual_accuracy) / classes, 6)


def select_best_epoch(epochs: list[EpochMetrics], tolerance: float, classes: int = 2,
                      averaged: bool = False) -> Selection:
    probed = all(e.val_counterfactual_accuracy is not None for e in epochs)
    if averaged and not probed:
        return Selection(epochs[-1].epoch, LAST_UNPROBED_RULE)
    if probed:
        chance = 1.0 / max(classes, 2)
        floor = chance + (max(e.val_accuracy for e in epochs) - chance) / 2
        learnt = [e for e in epochs if e.val_accuracy >= floor - 1e-9] or epochs  # none above chance: all alike
        best = max(learnt, key=lambda e: (shortcut_free_estimate(e, max(classes, 2)), e.val_accuracy,
                                          e.val_energy or 0.0, e.epoch))
        last = epochs[-1]
        if averaged and shortcut_free_estimate(last, max(classes, 2)) >= \
                shortcut_free_estimate(best, max(classes, 2)) - AVERAGED_MARGIN - 1e-9:
            return Selection(last.epoch, LAST_RULE)
        return Selection(best.epoch, PROBE_RULE)
    best_acc = max(e.val_accuracy for e in epochs)
    candidates = [e for e in epochs if e.val_accuracy >= best_acc - tolerance]
    if all(e.val_energy is not None for e in candidates):
        best = max(candidates, key=lambda e: (e.val_energy, e.val_accuracy, e.epoch))
        return Selection(best.epoch, "attention energy inside the validation masks, among epochs within "
                                     f"{tolerance:g} of the best validation accuracy")
    best = max(candidates, key=lambda e: (e.val_accuracy, e.epoch))
    return Selection(best.epoch, "validation accuracy")
