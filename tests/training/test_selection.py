"""Which epoch becomes the version: the accuracy expected without the shortcut (validation and
counterfactual validation accuracy weighed 1 : K-1, among epochs that have learnt the task) where a
probe exists, else attention energy, else accuracy; always on validation, and the rule is named."""

from __future__ import annotations

from gradia_desktop.core.training_metrics import EpochMetrics
from gradia_desktop.training.selection import LAST_RULE, LAST_UNPROBED_RULE, PROBE_RULE, select_best_epoch


def _epoch(epoch: int, val_accuracy: float, val_energy: float | None, counterfactual: float | None = None) -> EpochMetrics:
    return EpochMetrics(epoch=epoch, loss=1.0, ce=1.0, attention=0.0, train_accuracy=0.5, val_accuracy=val_accuracy,
                        val_iou=None, val_energy=val_energy, val_pointing=None, seconds=1.0,
                        val_masked_accuracy=None if counterfactual is None else val_accuracy,
                        val_counterfactual_accuracy=counterfactual)


def test_without_a_probe_attention_decides_among_near_best_accuracy():
    epochs = [_epoch(1, 1.0, 0.1), _epoch(2, 0.99, 0.5), _epoch(3, 0.90, 0.9), _epoch(4, 1.0, 0.3)]
    chosen = select_best_epoch(epochs, tolerance=0.02)
    assert chosen.epoch == 2  # epoch 3 is too inaccurate
    assert chosen.rule.startswith("attention energy inside the validation masks")
    assert select_best_epoch(epochs, tolerance=0.0).epoch == 4


def test_without_validation_masks_accuracy_decides_and_the_later_epoch_wins_ties():
    no_masks = [_epoch(1, 0.8, None), _epoch(2, 0.8, None), _epoch(3, 0.7, None)]
    chosen = select_best_epoch(no_masks, tolerance=0.02)
    assert (chosen.epoch, chosen.rule) == (2, "validation accuracy")


def test_with_a_probe_the_counterfactual_accuracy_decides_not_the_shortcut_laden_validation():
    # Epoch 1 reads the shortcut: perfect validation, chance on the counterfactual copies.
    epochs = [_epoch(1, 1.00, 0.9, counterfactual=0.50), _epoch(2, 0.97, 0.2, counterfactual=0.90),
              _epoch(3, 0.99, 0.3, counterfactual=0.85)]
    chosen = select_best_epoch(epochs, tolerance=0.02)
    assert chosen.epoch == 2
    assert chosen.rule == PROBE_RULE


def test_an_epoch_that_reads_the_shortcut_reversed_loses_on_the_ordinary_images():
    # Epoch 2 wins the copies by reading the background the other way round; epoch 3 reads the object.
    epochs = [_epoch(1, 1.00, 0.3, counterfactual=0.60), _epoch(2, 0.40, 0.3, counterfactual=0.95),
              _epoch(3, 0.85, 0.3, counterfactual=0.80)]
    assert select_best_epoch(epochs, tolerance=0.02).epoch == 3


def test_a_later_epoch_that_reads_the_object_beats_an_early_near_perfect_shortcut_reader():
    # The rule before: the best copies among epochs within 0.05 of the best validation accuracy, which
    # kept epoch 1 here (0.55 on the copies) because epoch 2 fell 0.13 below the best on the originals.
    epochs = [_epoch(1, 0.96, 0.3, counterfactual=0.55), _epoch(2, 0.83, 0.3, counterfactual=0.85)]
    assert select_best_epoch(epochs, tolerance=0.02).epoch == 2


def test_a_baseline_keeps_a_trained_shortcut_reader_not_an_epoch_that_learnt_nothing():
    # Epoch 1 predicts one class everywhere (chance on both); 2 and 3 read the tint (nothing right on
    # the copies). The lower of the two accuracies (the rule of 2026-12-05) kept epoch 1, so the
    # baseline's version showed no shortcut at all; epoch 1 lies below halfway from chance to 1.0.
    epochs = [_epoch(1, 0.50, 0.3, counterfactual=0.50), _epoch(2, 1.00, 0.1, counterfactual=0.00),
              _epoch(3, 1.00, 0.1, counterfactual=0.05)]
    assert select_best_epoch(epochs, tolerance=0.02).epoch == 3


def test_a_run_that_never_beats_chance_still_keeps_an_epoch():
    epochs = [_epoch(1, 0.40, 0.3, counterfactual=0.60), _epoch(2, 0.45, 0.3, counterfactual=0.40)]
    assert select_best_epoch(epochs, tolerance=0.02).epoch == 1  # 0.50 against 0.425


def test_with_more_classes_the_copies_weigh_more():
    # A random background agrees with the class one time in K: with three classes the copies carry
    # two thirds of the estimate, and the epoch that does better on them wins.
    epochs = [_epoch(1, 1.00, 0.3, counterfactual=0.55), _epoch(2, 0.75, 0.3, counterfactual=0.70)]
    assert select_best_epoch(epochs, tolerance=0.02, classes=2).epoch == 1  # 0.775 against 0.725
    assert select_best_epoch(epochs, tolerance=0.02, classes=3).epoch == 2  # 0.700 against 0.717


def test_ties_fall_back_to_validation_accuracy_then_energy():
    epochs = [_epoch(1, 1.0, 0.2, counterfactual=1.0), _epoch(2, 1.0, 0.6, counterfactual=1.0),
              _epoch(3, 1.0, 0.4, counterfactual=0.9)]
    assert select_best_epoch(epochs, tolerance=0.02).epoch == 2
    same_estimate = [_epoch(1, 0.90, 0.9, counterfactual=0.90), _epoch(2, 1.00, 0.1, counterfactual=0.80)]
    assert select_best_epoch(same_estimate, tolerance=0.02).epoch == 2


def test_an_averaged_run_keeps_its_last_epoch_while_the_probe_puts_it_near_the_best():
    # Epoch 2's estimate is (0.97 + 0.93) / 2 = 0.95, the last's (0.96 + 0.90) / 2 = 0.93: within 0.05.
    epochs = [_epoch(1, 1.00, 0.3, counterfactual=0.50), _epoch(2, 0.97, 0.3, counterfactual=0.93),
              _epoch(3, 0.96, 0.3, counterfactual=0.90)]
    assert select_best_epoch(epochs, tolerance=0.02).epoch == 2
    chosen = select_best_epoch(epochs, tolerance=0.02, averaged=True)
    assert (chosen.epoch, chosen.rule) == (3, LAST_RULE)


def test_an_averaged_run_whose_last_epoch_went_back_to_the_shortcut_keeps_the_best():
    # The last epoch reads the background again: its estimate 0.75 lies 0.2 below epoch 2's.
    epochs = [_epoch(1, 0.60, 0.3, counterfactual=0.60), _epoch(2, 0.97, 0.3, counterfactual=0.93),
              _epoch(3, 1.00, 0.3, counterfactual=0.50)]
    chosen = select_best_epoch(epochs, tolerance=0.02, averaged=True)
    assert (chosen.epoch, chosen.rule) == (2, PROBE_RULE)


def test_an_averaged_run_without_validation_masks_keeps_its_last_epoch():
    # Validation that carries the shortcut would pick the early, more accurate epoch.
    no_masks = [_epoch(1, 1.0, None), _epoch(2, 0.9, None), _epoch(3, 0.85, None)]
    chosen = select_best_epoch(no_masks, tolerance=0.02, averaged=True)
    assert (chosen.epoch, chosen.rule) == (3, LAST_UNPROBED_RULE)
    masks_no_probe = [_epoch(1, 1.0, 0.1), _epoch(2, 0.9, 0.9)]
    assert select_best_epoch(masks_no_probe, tolerance=0.02, averaged=True).epoch == 2
