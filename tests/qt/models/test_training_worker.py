"""The QThread training worker: signals per epoch, a finished version, cancel, and failures."""

from __future__ import annotations

from gradia_desktop.core.records import QUADRANTS, UNASSESSED
from gradia_desktop.core.store import Project
from gradia_desktop.qt.window.dialogs import about_html, cheat_sheet_html
from gradia_desktop.qt.models.training_worker import TrainingWorker
from gradia_desktop.training.config import TrainConfig

FAST = dict(epochs=2, batch_size=8, image_size=32, device="cpu")


def test_worker_trains_off_the_gui_thread_and_reports_each_epoch(qtbot, small_project_dir):
    worker = TrainingWorker(small_project_dir, TrainConfig(**FAST))
    epochs, stages = [], set()
    worker.epoch_finished.connect(lambda e, m: epochs.append((e, m.val_accuracy)))
    worker.progress.connect(lambda stage, done, total: stages.add(stage.split(" ")[0]))
    with qtbot.waitSignal(worker.done, timeout=120_000), qtbot.waitSignal(worker.succeeded) as ok:
        worker.start()
    worker.wait()
    version, summary = ok.args
    assert [e for e, _ in epochs] == [1, 2] and {"loading", "epoch", "evaluating"} <= stages
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
    worker.wait()
    assert [e.epoch for e in live] == [1, 2] and len(batches) == 2 * batches[0][2]
    for epoch in live:
        assert [p.sample_id for p in epoch.val_predictions] == val_ids
        assert sum(epoch.val_matrix[q] for q in (*QUADRANTS, UNASSESSED)) == len(val_ids)
        sample_id, target, cam = epoch.heatmap
        assert (sample_id, target) == (visible.id, "true") and cam.shape == (visible.height, visible.width)


def test_cancel_stops_between_batches(qtbot, small_project_dir):
    worker = TrainingWorker(small_project_dir, TrainConfig(**{**FAST, "epochs": 50}))
    worker.progress.connect(lambda stage, *_: stage.startswith("epoch") and worker.cancel())
    with qtbot.waitSignal(worker.cancelled, timeout=120_000):
        worker.start()
    worker.wait()
    with Project.open(small_project_dir, readonly=True) as project:
        assert [v.status for v in project.versions(status=None)] == ["cancelled"]


def test_bad_settings_arrive_as_one_line_failure(qtbot, small_project_dir):
    worker = TrainingWorker(small_project_dir, TrainConfig(arch="resnet19", **FAST))
    with qtbot.waitSignal(worker.failed, timeout=60_000) as failure:
        worker.start()
    worker.wait()
    assert "unknown architecture 'resnet19'" in failure.args[0] and "\n" not in failure.args[0]


def test_about_names_versions_and_devices_and_cheat_sheet_lists_keys():
    about = about_html()
    assert "PyTorch" in about and "PySide6" in about and "CPU" in about
    sheet = cheat_sheet_html()
    for key in ("Ctrl+Z", "[ / ]", "R", "U", "Space+drag"):
        assert key in sheet
