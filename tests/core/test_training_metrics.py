"""EpochMetrics: its JSON form round-trips, and what older or newer writers left is read sensibly."""

from __future__ import annotations

import json

from gradia_desktop.core.training_metrics import EPOCH_MATRIX_COUNTS, EpochMetrics

FULL = {"epoch": 3, "loss": 0.5, "ce": 0.4, "attention": 0.1, "train_accuracy": 0.75, "val_accuracy": 0.625,
        "val_iou": 0.2, "val_energy": 0.3, "val_pointing": 0.5,
        "val_matrix": {"RA": 2, "UA": 1, "RI": 0, "UI": 1, "unassessed": 4},
        "train_seconds": 1.25, "eval_seconds": 0.5, "seconds": 1.8,
        "val_masked_accuracy": 1.0, "val_counterfactual_accuracy": 0.75}


def test_to_dict_is_the_stored_json_form_and_from_dict_reads_it_back():
    metrics = EpochMetrics.from_dict(json.loads(json.dumps(FULL)))
    assert metrics.to_dict() == FULL and list(metrics.to_dict()) == list(FULL)
    assert tuple(metrics.val_matrix) == EPOCH_MATRIX_COUNTS


def test_keys_it_does_not_know_are_ignored_and_missing_optional_ones_are_none():
    optional = ("val_matrix", "train_seconds", "eval_seconds", "val_masked_accuracy", "val_counterfactual_accuracy")
    older = {k: v for k, v in FULL.items() if k not in optional}
    metrics = EpochMetrics.from_dict({**older, "learning_rate": 1e-3})
    assert all(getattr(metrics, k) is None for k in optional) and metrics.val_shortcut_reliance is None
    assert metrics.seconds == 1.8 and "learning_rate" not in metrics.to_dict()


def test_shortcut_reliance_is_the_accuracy_lost_on_the_counterfactual_copies():
    assert EpochMetrics.from_dict(FULL).val_shortcut_reliance == 0.25
