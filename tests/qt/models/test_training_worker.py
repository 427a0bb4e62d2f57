"""The QThread training worker: signals per epoch, a finished version, cancel, and failures."""

from __future__ import annotations

import threading

from PySide6.QtCore import QCoreApplication, Qt, QThread

from gradia_desktop.core.records import QUADRANTS, UNASSESSED
from gradia_desktop.core.store import Project
from gradia_desktop.qt.window.dialogs import about_html, cheat_sheet_html
from gradia_desktop.qt.models.training_worker import TrainingWorker
from gradia_desktop.training.config import TrainConfig

FAST = dict(epochs=2, batch_size=8, image_size=32, device="cpu")


def test_worker_trains_off_the_gui_thread_and_reports_each_epoch(qtbot, small_project_dir):
    worker = TrainingWorker(small_project_dir, TrainConfig(**FAST))
    epochs, stages, emitted_on = [], set(), set()
    worker.epoch_finished.connect(lambda e, m: epochs.append((e, m.val_accuracy)))
    worker.progress.connect(lambda stage, done, total: stages.add(stage.split(" ")[0]))

    def note_the_emitting_thread(*_args) -> None:  # a direct connection runs where the trainer emits
        emitted_on.add((QThread.currentThread(), threading.get_ident()))

    for signal in (worker.progress, worker.batch_finished, worker.epoch_finished):
        signal.connect(note_the_emitting_thread, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(worker.done, timeout=120_000), qtbot.waitSignal(worker.succeeded, timeout=120_000) as ok:
        worker.start()
    assert worker.wait(120_000), "the training thread did not end"
    version, summary = ok.args
    assert [e for e, _ in epochs] == [1, 2] and {"loading", "epoch", "evaluating"} <= stages
    threads, idents = {thread for thread, _ in emitted_on}, {ident for _, ident in emitted_on}
    assert threads == {worker.thread} and worker.thread is not QCoreApplication.instance().thread()
    assert len(idents) == 1 and threading.get_ident() not in idents  # this test runs on the GUI thread
    assert summary["best_epoch"] in (1, 2) and set(summary) >= {"train", "val", "test"}
    with Project.open(small_project_dir, readonly=True) as project:
        assert project.version(version).status == "done"


def test_each_epoch_carries_live_predictions_matrix_and_the_visible_heatmap(qtbot, small_project_dir):
    worker = TrainingWorker(small_project_dir, TrainConfig(**FAST))
    with Project.open(small_project_dir, readonly=True) as project:
        val_ids = [s.id for s in project.samples(split="val")]
        visible = project.samples(split="train")[0]
    worker.set_visible(visible.id, "true")
    live, batches = [], []
    worker.epoch_live.connect(live.append)
    worker.batch_finished.connect(lambda e, b, n, losses: batches.append((e, b, n, losses.ce)))
    with qtbot.waitSignal(worker.done, timeout=120_000):
        worker.start()
    assert worker.wait(120_000), "the training thread did not end"
    assert [e.epoch for e in live] == [1, 2] and len(batches) == 2 * batches[0][2]
    for epoch in live:
        assert [p.sample_id for p in epoch.val_predictions] == val_ids
        assert sum(epoch.val_matrix[q] for q in (*QUADRANTS, UNASSESSED)) == len(val_ids)
        sample_id, target, cam = epoch.heatmap
        assert (sample_id, target) == (visible.id, "true") and cam.shape == (visible.height, visible.width)


def test_cancel_stops_between_batches(qtbot, small_project_dir):
    worker = TrainingWorker(small_project_dir, TrainConfig(**{**FAST, "epochs": 50, "batch_size": 2}))
    batches, epochs = [], []
    worker.batch_finished.connect(lambda e, b, n, _losses: batches.append((e, b, n)),
                                  Qt.ConnectionType.DirectConnection)
    worker.epoch_finished.connect(lambda e, _m: epochs.append(e), Qt.ConnectionType.DirectConnection)
    # Direct: cancel is requested on the training thread right after the first batch, not whenever
    # the GUI's event loop gets round to it.
    worker.progress.connect(lambda stage, *_: stage.startswith("epoch") and worker.cancel(),
                            Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(worker.cancelled, timeout=120_000):
        worker.start()
    assert worker.wait(120_000), "the training thread did not end"
    assert batches[0][2] > 1  # the epoch has more batches: the run stopped between two of them
    assert batches == [(1, 1, batches[0][2])] and epochs == []
    with Project.open(small_project_dir, readonly=True) as project:
        (row,) = project.versions(status=None)
        assert row.status == "cancelled" and project.epochs(row.id) == []
        assert not project.models_dir(row.id).exists()


def test_bad_settings_arrive_as_one_line_failure(qtbot, small_project_dir):
    worker = TrainingWorker(small_project_dir, TrainConfig(arch="resnet19", **FAST))
    with qtbot.waitSignal(worker.failed, timeout=60_000) as failure:
        worker.start()
    assert worker.wait(120_000), "the training thread did not end"
    assert "unknown architecture 'resnet19'" in failure.args[0] and "\n" not in failure.args[0]


def test_about_names_versions_and_devices_and_cheat_sheet_lists_keys():
    about = about_html()
    assert "PyTorch" in about and "PySide6" in about and "CPU" in about
    sheet = cheat_sheet_html()
    for key in ("Ctrl+Z", "[ / ]", "R", "U", "Space+drag"):
        assert key in sheet
