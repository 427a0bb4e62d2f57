"""Issue 4's end-to-end checks on the real main window: a GRADIA run started from the Training
panel, live matrix/plots/browser/heatmap per epoch, cancel, a NaN loss, quadrant clicks, closing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget

from gradia_desktop.core.assessment import assess, filter_assessed, version_matrix
from gradia_desktop.core.store import Project
from gradia_desktop.qt.window import dialogs
from gradia_desktop.qt.browser.table_model import CONFIDENCE, SAMPLE_ROLE
from gradia_desktop.qt.window.main_window import MainWindow
from gradia_desktop.training import epoch_loop
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.demo_project import ensure_demo_with_baseline
from gradia_desktop.training.trainer import train

from ..helpers_qt import open_main_window

RUN_TIMEOUT_MS = 300_000
SMALL = {"batch_size": 8, "image_size": 32, "device": "cpu"}


def open_window(qtbot, project_dir) -> MainWindow:
    return open_main_window(qtbot, project_dir, (1500, 950))


@pytest.fixture
def demo_copy(demo_data_home, tmp_path):
    """A private copy of the demo project (its baseline included): runs here add versions."""
    shared = ensure_demo_with_baseline()
    copy = tmp_path / "demo-project"
    shutil.copytree(shared, copy)
    return copy


@pytest.fixture
def small_with_baseline(small_project_dir):
    with Project.open(small_project_dir) as project:
        train(project, TrainConfig(mode="baseline", epochs=1, **SMALL))
    return small_project_dir


def configure(window, **fields) -> None:
    panel = window.models.training.panel
    config = panel.config()
    for key, value in fields.items():
        setattr(config, key, value)
    panel.set_config(config)


def shown_ids(window) -> list[int]:
    proxy = window.browser.proxy
    return [proxy.index(r, 0).data(SAMPLE_ROLE).id for r in range(proxy.rowCount())]


def test_a_gradia_run_from_the_panel_updates_everything_each_epoch_and_selects_the_new_version(qtbot, demo_copy):
    window = open_window(qtbot, demo_copy)
    v1 = window.version
    assert v1 is not None and window.models.matrix.view.matrix() == version_matrix(window.project, v1.id, "val")
    before = window.models.matrix.view.matrix()
    dock, plots = window.models.training, window.models.training.plots
    configure(window, mode="gradia", parent=v1.id, epochs=2, counterfactual=True, lr=1e-3)
    seen = []

    def on_live(live):  # runs after the window's own slot: what the user sees now
        val_sample = window.project.samples(split="val")[0]
        live_conf = next(p.confidence for p in live.val_predictions if p.sample_id == val_sample.id)
        row = window.browser.model.row_of(val_sample.id)
        seen.append({
            "epoch": live.epoch,
            "matrix": window.models.matrix.view.matrix(),
            "title": window.models.matrix.view.title.text(),
            "accuracy_points": len(plots.series("val_accuracy")[0]),
            "ce_batches": len(plots.series("ce_batch")[0]),
            "browser_confidence": window.browser.model.index(row, CONFIDENCE).data(),
            "live_confidence": f"{live_conf:.0%}",
            "heatmap_is_live": live.heatmap is not None and window.canvas.heatmap() is not None
            and np.allclose(window.canvas.heatmap(), live.heatmap[2]),
        })

    dock.live_epoch.connect(on_live)
    with qtbot.waitSignal(dock.run_ended, timeout=RUN_TIMEOUT_MS) as ended:
        qtbot.mouseClick(dock.panel.start_button, Qt.MouseButton.LeftButton)
        assert dock.is_running() and dock.tabs.currentWidget() is plots
    status, message = ended.args
    assert status == "done", message
    assert [s["epoch"] for s in seen] == [1, 2]
    for s in seen:
        assert s["matrix"] is not None and f"epoch {s['epoch']}/2" in s["title"]
        assert s["accuracy_points"] >= s["epoch"] - 1  # the plot's epoch point lands right after this signal
        assert s["ce_batches"] > 0 and s["browser_confidence"] == s["live_confidence"] and s["heatmap_is_live"]
    assert len(plots.series("val_accuracy")[0]) == 2
    new = window.version
    assert new.id != v1.id and new.parent_id == v1.id and new.mode == "gradia"
    assert window.models.versions.selected_version() == new.id
    shown = window.models.matrix.view.matrix()
    assert shown == version_matrix(window.project, new.id, "val") and shown != before
    assert window.heatmaps.version_id() == new.id


def test_cancel_midway_makes_no_version_and_restores_the_views(qtbot, small_with_baseline):
    window = open_window(qtbot, small_with_baseline)
    v1, versions_before = window.version, [v.id for v in window.project.versions()]
    sample = window.project.samples()[0]
    stored_conf = window.browser.model.index(window.browser.model.row_of(sample.id), CONFIDENCE).data()
    configure(window, mode="gradia", parent=v1.id, epochs=50, **SMALL)
    dock = window.models.training
    dock.live_epoch.connect(lambda live: live.epoch == 1 and window.menus.cancel_training_action.trigger())
    with qtbot.waitSignal(dock.run_ended, timeout=RUN_TIMEOUT_MS) as ended:
        window.menus.train_action.trigger()
        assert dock.message.text() == "Training on CPU…"  # the device is shown
    assert ended.args[0] == "cancelled"
    assert [v.id for v in window.project.versions()] == versions_before and window.version.id == v1.id
    assert window.models.matrix.view.matrix() == version_matrix(window.project, v1.id, "val")
    assert window.browser.model.index(window.browser.model.row_of(sample.id), CONFIDENCE).data() == stored_conf
    assert not dock.is_running() and dock.panel.start_button.isEnabled()


def test_the_gui_keeps_handling_events_while_the_worker_trains(qtbot, small_with_baseline):
    window = open_window(qtbot, small_with_baseline)
    configure(window, mode="gradia-all", parent=window.version.id, epochs=3, **SMALL)
    dock, ticks, clicks = window.models.training, [], []
    timer = QTimer(interval=5)
    timer.timeout.connect(lambda: dock.is_running() and ticks.append(1))
    # A user action in the middle of training: move to another image when the first epoch ends.
    dock.live_epoch.connect(lambda live: live.epoch == 1 and clicks.append(window.browser.select_next()))
    timer.start()
    with qtbot.waitSignal(dock.run_ended, timeout=RUN_TIMEOUT_MS):
        dock.start(dock.panel.config())
    timer.stop()
    assert len(ticks) >= 10, "the GUI thread's timer barely ran while training"
    assert clicks == [True] and window.current_sample == window.browser.current_sample()


def test_a_nan_loss_is_reported_and_the_previous_version_kept(qtbot, small_with_baseline, monkeypatch):
    real, calls = epoch_loop._batch_loss, [0]

    def nan_from_the_second_batch(*args):
        logits, loss, ce, att = real(*args)
        calls[0] += 1
        return logits, loss * float("nan") if calls[0] > 1 else loss, ce, att

    monkeypatch.setattr(epoch_loop, "_batch_loss", nan_from_the_second_batch)
    window = open_window(qtbot, small_with_baseline)
    v1, versions_before = window.version, [v.id for v in window.project.versions()]
    configure(window, mode="gradia-all", parent=v1.id, epochs=3, **SMALL)  # 8 training images: 1 batch per epoch
    dock = window.models.training
    with qtbot.waitSignal(dock.run_ended, timeout=RUN_TIMEOUT_MS) as ended:
        dock.start(dock.panel.config())
    status, message = ended.args
    assert status == "failed" and "loss became nan in epoch 2, batch 1" in message
    assert "epoch 1) is kept" in message and dock.message.isVisible() and "nan" in dock.message.text()
    assert window.version.id == v1.id and [v.id for v in window.project.versions()] == versions_before
    assert window.isVisible()


def test_clicking_a_quadrant_filters_the_browser_to_it(qtbot, small_with_baseline):
    window = open_window(qtbot, small_with_baseline)
    rows = assess(window.project, window.version.id, window.project.samples(split="val"))
    matrix = window.models.matrix
    for q in ("RA", "UA", "RI", "UI", "unassessed"):
        expected = [r.sample.id for r in rows if (r.quadrant or "unassessed") == q]
        button = matrix.view.cell(q)
        if not button.isEnabled():
            assert not expected
            continue
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert sorted(shown_ids(window)) == sorted(expected), q
    matrix.set_split(None)
    qtbot.mouseClick(matrix.view.cell("RA"), Qt.MouseButton.LeftButton)
    all_rows = assess(window.project, window.version.id)
    assert sorted(shown_ids(window)) == sorted(r.sample.id for r in filter_assessed(all_rows, quadrant="RA"))


def test_a_judgement_recounts_the_matrix(qtbot, small_with_baseline):
    window = open_window(qtbot, small_with_baseline)
    window.models.matrix.set_split(None)
    window.browser.select_sample(window.project.samples()[0].id)
    window.judge(False)
    window.browser.select_next()
    window.judge(True)
    assert window.models.matrix.view.matrix() == version_matrix(window.project, window.version.id, None)
    assert window.models.matrix.view.matrix()["human"] == 2


def test_a_device_that_is_not_there_is_refused_before_a_run(qtbot, small_with_baseline):
    window = open_window(qtbot, small_with_baseline)
    dock = window.models.training
    config = dock.panel.config()
    config.device = "cuda:7"
    assert not dock.start(config) and not dock.is_running()
    assert "not available" in dock.message.text() and dock.message.isVisible()


def test_closing_while_training_asks_and_then_stops_cleanly(qtbot, small_with_baseline, monkeypatch):
    window = open_window(qtbot, small_with_baseline)
    configure(window, mode="gradia-all", parent=window.version.id, epochs=200, **SMALL)
    dock = window.models.training
    with qtbot.waitSignal(dock.live_epoch, timeout=RUN_TIMEOUT_MS):
        dock.start(dock.panel.config())
    answers = iter([False, True])
    monkeypatch.setattr(dialogs, "confirm_stop_training", lambda _parent: next(answers))
    window.close()
    assert window.isVisible() and dock.is_running()  # "no": nothing stops
    root = window.project.root
    window.close()
    assert not window.isVisible() and not dock.is_running()
    with Project.open(root, readonly=True) as project:
        assert [v.status for v in project.versions(status=None)] == ["done", "cancelled"]


def test_selecting_a_version_drives_the_window_and_two_can_be_compared(qtbot, small_with_baseline):
    with Project.open(small_with_baseline) as project:
        v2 = train(project, TrainConfig(mode="gradia-all", parent=1, epochs=1, **SMALL)).version
    window = open_window(qtbot, small_with_baseline)
    assert window.version.id == v2
    assert len(window.models.training.plots.series("val_accuracy")[0]) == 1  # v2's one epoch
    window.models.versions.version_selected.emit(1)
    assert window.version.id == 1 and window.heatmaps.version_id() == 1
    assert "v1" in window.models.training.plots.status.text()
    assert window.models.matrix.view.matrix() == version_matrix(window.project, 1, "val")
    window.models.compare(1, v2)
    shown = [w for w in window.findChildren(QWidget) if type(w).__name__ == "VersionCompareDialog"]
    assert len(shown) == 1 and shown[0].isVisible()


def test_the_training_form_is_remembered_from_the_last_run(qtbot, small_with_baseline):
    window = open_window(qtbot, small_with_baseline)
    configure(window, mode="gradia-all", parent=window.version.id, epochs=1, lam=0.25, **SMALL)
    dock = window.models.training
    with qtbot.waitSignal(dock.run_ended, timeout=RUN_TIMEOUT_MS):
        dock.start(dock.panel.config())
    window.close()
    again = open_window(qtbot, small_with_baseline)
    config = again.models.training.panel.config()
    assert (config.mode, config.epochs, config.lam, config.batch_size) == ("gradia-all", 1, 0.25, 8)
