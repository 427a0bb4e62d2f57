"""`gradia train --events` lines: what is written reads back as the live views' objects."""

from __future__ import annotations

import json
import math

import numpy as np

from gradia_desktop.core import run_events
from gradia_desktop.core.records import Prediction
from gradia_desktop.core.training_metrics import BatchLosses, EpochMetrics


def metrics(**overrides) -> EpochMetrics:
    values = dict(epoch=2, loss=0.5, ce=0.4, attention=0.1, train_accuracy=0.9, val_accuracy=0.8, val_iou=0.3,
                  val_energy=None, val_pointing=0.5, val_matrix={"RA": 1}, seconds=1.5)
    return EpochMetrics(**{**values, **overrides})


def roundtrip(event: dict):
    line = run_events.encode(event)
    assert "\n" not in line
    return run_events.decode(line)


def test_each_event_reads_back():
    assert roundtrip(run_events.progress_event("epoch 1/3", 4, 10)) == ("progress", ("epoch 1/3", 4, 10))
    assert roundtrip(run_events.batch_event(1, 2, 5, BatchLosses(0.5, 0.25, 0.25))) == \
        ("batch", (1, 2, 5, BatchLosses(0.5, 0.25, 0.25)))
    assert roundtrip(run_events.log_event("warning: x")) == ("log", "warning: x")
    assert roundtrip(run_events.result_event({"version": 3, "val": {"accuracy": 1.0}})) == \
        ("result", {"version": 3, "val": {"accuracy": 1.0}})


def test_an_epoch_carries_its_metrics_matrix_and_predictions_without_heatmaps():
    cam = np.ones((7, 7), np.float32)
    predictions = [Prediction(4, 1, np.float32(0.75), cam, 0.5, None, True), Prediction(9, 0, 0.6, cam)]
    kind, epoch = roundtrip(run_events.epoch_event(metrics(), {"RA": 1, "UA": 1}, predictions, "/p/epoch_002"))
    assert kind == "epoch" and epoch.metrics == metrics() and epoch.matrix == {"RA": 1, "UA": 1}
    assert epoch.checkpoint == "/p/epoch_002"
    got = [(p.sample_id, p.pred, p.confidence, p.iou, p.energy, p.pointing, p.cam.size) for p in epoch.predictions]
    assert got == [(4, 1, 0.75, 0.5, None, True, 0), (9, 0, 0.6, None, None, None, 0)]


def test_numbers_json_cannot_hold_become_null():
    line = run_events.encode(run_events.epoch_event(metrics(loss=math.nan, val_iou=math.inf), {}, [], None))
    assert json.loads(line)["metrics"]["loss"] is None and json.loads(line)["metrics"]["val_iou"] is None


def test_other_output_is_no_event():
    for line in ("epoch 1/3: 4/10 (40%)", "[1, 2]", '{"no": "event"}', '{"event": "batch", "epoch": 1}', ""):
        assert run_events.decode(line) is None
