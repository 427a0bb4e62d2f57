"""EpochMetrics: its JSON form round-trips, and what older or newer writers left is read sensibly."""

from __future__ import annotations

import json

from gradia_desktop.core.training_metrics import EPOCH_MATRIX_COUNTS, EpochMetrics

FULL = {"epoch": 3, "loss": 0.5, "ce": 0.4, "attention": 0.1, "train_accuracy": 0.75, "val_accuracy": 0.625,
        "val_iou": 0.2, "val_energy": 0.3, "val_pointing": 0.5,
        "val_matrix": {"RA": 2, "UA": 1, "RI": 0, "UI": 1, "unassessed": 4},
        "train_seconds": 1.25, "eval_seconds": 0.5, "seconds": 1.8}


def test_to_dict_is_the_stored_json_form_and_from_dict_reads_it_back():
    metrics = EpochMetrics.from_dict(json.loads(json.dumps(FULL)))
    assert metrics.to_dict() == FULL and list(metrics.to_dict()) == list(FULL)
    assert tuple(metrics.val_matrix) == EPOCH_MATRIX_COUNTS


def test_keys_it_does_not_know_are_ignored_and_missing_optional_ones_are_none():
    older = {k: v for k, v in FULL.items() if k not in ("val_matrix", "train_seconds", "eval_seconds")}
    metrics = EpochMetrics.from_dict({**older, "learning_rate": 1e-3})
    assert (metrics.val_matrix, metrics.train_seconds, metrics.eval_seconds) == (None, None, None)
    assert metrics.seconds == 1.8 and "learning_rate" not in metrics.to_dict()
