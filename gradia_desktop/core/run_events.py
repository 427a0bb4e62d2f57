"""A training run's progress as JSON lines, for programs that watch a run in another process.

`gradia train --events` writes one object per line on stdout (in a distributed run, the first
process only): the app reads them to drive its live plots and matrix when the run is a torchrun
launch it started, and scripts can read them too. Each object has an ``event`` key:

- ``progress``: ``stage``, ``done``, ``total`` (loading, counterfactuals, batches of an epoch);
- ``batch``: ``epoch``, ``batch``, ``batches`` and the batch's ``loss``, ``ce``, ``attention``;
- ``epoch``: ``metrics`` (the stored epoch record), ``matrix`` (the validation matrix),
  ``predictions`` (``[sample id, class, confidence, iou, energy, pointing]`` per validation image,
  without heatmaps) and ``checkpoint`` (the epoch's weights file, until the run keeps its best);
- ``log``: ``message``, a note or warning line;
- ``result``: the object ``gradia train --json`` prints, once the version is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .records import Prediction
from .training_metrics import BatchLosses, EpochMetrics

NO_HEATMAP = np.zeros((0, 0), dtype=np.float32)  # predictions travel without their CAMs


def progress_event(stage: str, done: int, total: int) -> dict:
    return {"event": "progress", "stage": stage, "done": done, "total": total}


def batch_event(epoch: int, batch: int, batches: int, losses: BatchLosses) -> dict:
    return {"event": "batch", "epoch": epoch, "batch": batch, "batches": batches, "loss": losses.loss,
            "ce": losses.ce, "attention": losses.attention}


def epoch_event(metrics: EpochMetrics, matrix: dict, predictions: list[Prediction], checkpoint: str | None) -> dict:
    rows = [[p.sample_id, p.pred, p.confidence, p.iou, p.energy, p.pointing] for p in predictions]
    return {"event": "epoch", "metrics": metrics.to_dict(), "matrix": matrix, "predictions": rows,
            "checkpoint": checkpoint}


def log_event(message: str) -> dict:
    return {"event": "log", "message": message}


def result_event(result: dict) -> dict:
    return {"event": "result", **result}


def encode(event: dict) -> str:
    """One line (no newline inside); numbers JSON cannot hold (NaN, inf) become null."""
    return json.dumps(_finite(event), default=str, allow_nan=False)


@dataclass(frozen=True)
class EpochEvent:
    metrics: EpochMetrics
    matrix: dict
    predictions: list[Prediction]
    checkpoint: str | None


def decode(line: str) -> tuple[str, Any] | None:
    """(kind, payload) for one line, or None for a line that is not an event (other output).

    Payloads: progress (stage, done, total); batch (epoch, batch, batches, BatchLosses);
    epoch EpochEvent; log str; result dict.
    """
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    kind = data["event"]
    try:
        if kind == "progress":
            return kind, (str(data["stage"]), int(data["done"]), int(data["total"]))
        if kind == "batch":
            losses = BatchLosses(float(data["loss"]), float(data["ce"]), float(data["attention"]))
            return kind, (int(data["epoch"]), int(data["batch"]), int(data["batches"]), losses)
        if kind == "epoch":
            predictions = [Prediction(int(i), int(c), float(conf), NO_HEATMAP, iou, energy,
                                      None if pointing is None else bool(pointing))
                           for i, c, conf, iou, energy, pointing in data["predictions"]]
            return kind, EpochEvent(EpochMetrics.from_dict(data["metrics"]), dict(data["matrix"]), predictions,
                                    data.get("checkpoint"))
        if kind == "log":
            return kind, str(data["message"])
        if kind == "result":
            return kind, {k: v for k, v in data.items() if k != "event"}
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _finite(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value

