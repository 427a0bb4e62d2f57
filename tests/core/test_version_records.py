"""core/version_records.py: model versions, their epochs and their predictions in the project store."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from gradia_desktop.core.records import Prediction
from gradia_desktop.core.schema import DB_NAME
from gradia_desktop.core.training_metrics import EpochMetrics
from gradia_desktop.errors import GradiaError

from .test_store import _done_version, _epoch, one_line


# ---- versions ---------------------------------------------------------------------------------

def test_create_and_finish_version(project):
    assert project.versions() == [] and project.latest_version() is None
    v1 = project.create_version(None, "baseline", "resnet18", "layer4", 64, {"lr": 0.01, "epochs": [1, 2]})
    assert v1 == 1
    running = project.version(v1)
    assert running.status == "running" and running.name == "v1" and running.parent_id is None
    assert running.config == {"lr": 0.01, "epochs": [1, 2]}
    assert running.checkpoint is None and running.best_epoch is None and running.metrics == {}
    assert project.versions() == []  # only finished ones by default
    assert [v.id for v in project.versions(status=None)] == [1]
    assert [v.id for v in project.versions(status="running")] == [1]

    project.finish_version(v1, "done", "models/v1/best.safetensors", 3, {"test": {"accuracy": 0.75}}, "ok")
    done = project.version(v1)
    assert (done.status, done.checkpoint, done.best_epoch, done.note) == ("done", "models/v1/best.safetensors", 3, "ok")
    assert done.metrics == {"test": {"accuracy": 0.75}}
    assert (done.mode, done.arch, done.cam_layer, done.image_size) == ("baseline", "resnet18", "layer4", 64)
    assert done.created > 0

    v2 = project.create_version(v1, "gradia", "resnet18", "layer4", 64, {})
    assert v2 == 2 and project.version(v2).parent_id == v1
    assert project.latest_version().id == v1  # v2 still running
    project.finish_version(v2, "failed", note="out of memory")
    assert project.latest_version().id == v1
    assert [v.id for v in project.versions("failed")] == [2]
    assert project.version(v2).metrics == {}


def test_latest_version_is_highest_done(project):
    a, b = _done_version(project), _done_version(project)
    project.create_version(b, "gradia", "resnet18", "layer4", 64, {})
    assert project.latest_version().id == b > a


def test_create_version_with_unknown_parent(project):
    with pytest.raises(GradiaError, match="v7"):
        project.create_version(7, "gradia", "resnet18", "layer4", 64, {})
    assert project.versions(status=None) == []


def test_unknown_version(project):
    with pytest.raises(GradiaError) as exc:
        project.version(3)
    assert "no model version v3" in one_line(exc)


@pytest.mark.parametrize("spec", ["v2", "V2", "2", 2, " v2 ", "v02"])
def test_resolve_version_spellings(project, spec):
    _done_version(project), _done_version(project), _done_version(project)
    assert project.resolve_version(spec).id == 2


def test_resolve_version_none_is_latest_done(project):
    with pytest.raises(GradiaError) as exc:
        project.resolve_version(None)
    assert "no trained model version" in one_line(exc)
    _done_version(project)
    last = _done_version(project)
    project.create_version(None, "baseline", "resnet18", "layer4", 64, {})  # running, newer
    assert project.resolve_version(None).id == last


@pytest.mark.parametrize("status", ["running", "failed", "cancelled"])
def test_resolve_unfinished_version(project, status):
    vid = project.create_version(None, "baseline", "resnet18", "layer4", 64, {})
    if status != "running":
        project.finish_version(vid, status)
    with pytest.raises(GradiaError) as exc:
        project.resolve_version(f"v{vid}")
    msg = one_line(exc)
    assert f"v{vid}" in msg and status in msg


@pytest.mark.parametrize("spec", ["latest", "v", "", "v-1", "1.5", "vv2"])
def test_resolve_version_garbage(project, spec):
    _done_version(project)
    with pytest.raises(GradiaError) as exc:
        project.resolve_version(spec)
    one_line(exc)


def test_resolve_version_missing(project):
    _done_version(project)
    with pytest.raises(GradiaError, match="v9"):
        project.resolve_version("v9")


def test_resolve_version_superscript_digit(project):
    _done_version(project)
    with pytest.raises(GradiaError):
        project.resolve_version("v²")


# ---- epochs -----------------------------------------------------------------------------------



def test_epochs_in_order_and_replaced(project):
    v1, v2 = _done_version(project), _done_version(project)
    project.add_epoch(v1, _epoch(2, 0.5))
    project.add_epoch(v1, _epoch(1, 0.9))
    project.add_epoch(v2, _epoch(1, 7.0))
    project.add_epoch(v1, _epoch(2, 0.4))  # the same epoch again replaces it
    assert project.epochs(v1) == [_epoch(1, 0.9), _epoch(2, 0.4)]
    assert project.epochs(v2) == [_epoch(1, 7.0)]
    assert project.epochs(99) == []


def test_epochs_are_stored_as_json_with_the_historic_keys(project):
    v = _done_version(project)
    metrics = EpochMetrics(epoch=1, loss=0.5, ce=0.4, attention=0.1, train_accuracy=0.75, val_accuracy=0.5,
                           val_iou=0.2, val_energy=0.3, val_pointing=1.0,
                           val_matrix={"RA": 1, "UA": 0, "RI": 2, "UI": 0, "unassessed": 1},
                           train_seconds=1.5, eval_seconds=0.25, seconds=1.8)
    project.add_epoch(v, metrics)
    with sqlite3.connect(project.root / DB_NAME) as conn:
        (stored,) = conn.execute("SELECT metrics FROM epochs WHERE version_id = ?", (v,)).fetchone()
    assert list(json.loads(stored)) == ["epoch", "loss", "ce", "attention", "train_accuracy", "val_accuracy",
                                        "val_iou", "val_energy", "val_pointing", "val_matrix", "train_seconds",
                                        "eval_seconds", "seconds", "val_masked_accuracy",
                                        "val_counterfactual_accuracy"]
    assert project.epochs(v) == [metrics]


def test_epochs_of_the_first_format_stay_readable(project):
    v = _done_version(project)
    first_format = {"epoch": 1, "loss": 0.5, "ce": 0.5, "attention": 0.0, "train_accuracy": 0.6,
                    "val_accuracy": 0.7, "val_iou": None, "val_energy": None, "val_pointing": None, "seconds": 2.0}
    with sqlite3.connect(project.root / DB_NAME) as conn:
        conn.execute("INSERT INTO epochs VALUES (?, 1, ?)", (v, json.dumps(first_format)))
    (read,) = project.epochs(v)
    assert (read.val_accuracy, read.seconds) == (0.7, 2.0)
    assert read.val_matrix is None and read.train_seconds is None and read.eval_seconds is None



@pytest.mark.parametrize("stored", ['{"epoch": 1, "loss": 0.5}', "not json", "[1, 2]"])
def test_a_damaged_epoch_row_is_a_one_line_error_naming_the_database(project, stored):
    v = _done_version(project)
    with sqlite3.connect(project.root / DB_NAME) as conn:
        conn.execute("INSERT INTO epochs VALUES (?, 3, ?)", (v, stored))
    with pytest.raises(GradiaError, match=rf"{DB_NAME}: version {v}, epoch 3: damaged metrics") as err:
        project.epochs(v)
    assert "\n" not in str(err.value)

# ---- predictions ------------------------------------------------------------------------------

def test_predictions_round_trip(project):
    v = _done_version(project)
    rng = np.random.default_rng(0)
    cam_a = rng.random((4, 6)).astype(np.float32)
    cam_b = np.linspace(0, 1, 9, dtype=np.float64).reshape(3, 3)
    preds = [
        Prediction(1, 0, 0.875, cam_a, iou=0.25, energy=0.5, pointing=True),
        Prediction(8, 0, 0.6, cam_b),  # no mask: no attention metrics
        Prediction(10, 1, np.float32(0.99), cam_b, iou=0.0, energy=0.125, pointing=False),
    ]
    project.save_predictions(v, preds)
    got = project.predictions(v)
    assert sorted(got) == [1, 8, 10]
    a, b, c = got[1], got[8], got[10]
    assert (a.sample_id, a.pred, a.confidence, a.iou, a.energy, a.pointing) == (1, 0, 0.875, 0.25, 0.5, True)
    assert a.cam.dtype == np.float32 and a.cam.shape == (4, 6)
    np.testing.assert_array_equal(a.cam, cam_a.astype(np.float16).astype(np.float32))
    np.testing.assert_allclose(a.cam, cam_a, atol=1e-3)
    assert (b.iou, b.energy, b.pointing) == (None, None, None)
    assert b.cam.shape == (3, 3)
    assert c.pointing is False and c.pred == 1 and c.confidence == pytest.approx(0.99, abs=1e-6)
    assert type(c.pointing) is bool and type(a.pointing) is bool


def test_predictions_split_filter_and_versions(project):
    v1, v2 = _done_version(project), _done_version(project)
    cam = np.zeros((2, 2), np.float32)
    project.save_predictions(v1, [Prediction(i, 0, 0.5, cam) for i in (1, 7, 8, 9)])
    project.save_predictions(v2, [Prediction(2, 1, 0.5, cam)])
    assert sorted(project.predictions(v1, split="val")) == [7, 8]
    assert sorted(project.predictions(v1, split="train")) == [1]
    assert sorted(project.predictions(v1, split="test")) == [9]
    assert sorted(project.predictions(v2)) == [2]
    assert project.predictions(99) == {}


def test_save_predictions_replaces(project):
    v = _done_version(project)
    project.save_predictions(v, [Prediction(3, 0, 0.1, np.zeros((2, 2)))])
    project.save_predictions(v, [Prediction(3, 1, 0.9, np.ones((3, 2)), iou=1.0, energy=1.0, pointing=True)])
    p = project.predictions(v)[3]
    assert (p.pred, p.confidence, p.cam.shape, p.pointing) == (1, 0.9, (3, 2), True)
    assert p.cam.min() == 1.0


# ---- settings ---------------------------------------------------------------------------------
