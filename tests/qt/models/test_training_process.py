"""A distributed run started from the app (all GPUs; here two CPU processes under torchrun): the live
views get the same signals as from the in-process worker, the project stays writable for the expert,
and cancel stops every process."""

from __future__ import annotations

import subprocess

from gradia_desktop.core.records import QUADRANTS, UNASSESSED
from gradia_desktop.core.store import Project
from gradia_desktop.qt.models.training_process import TrainingProcess, failure_line
from gradia_desktop.training.config import TrainConfig

FAST = dict(arch="tiny-gn", epochs=2, batch_size=16, image_size=32, device="cpu", loader_workers=0)


def gradia_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "gradia_desktop" in line and "--settings" in line]


def test_a_two_process_run_reports_like_the_worker_while_the_window_keeps_the_project(qtbot, small_project_dir):
    with Project.open(small_project_dir) as window_project:  # the window holds the project for writing
        val_ids = [s.id for s in window_project.samples(split="val")]
        visible = window_project.samples(split="train")[0]
        run = TrainingProcess(small_project_dir, TrainConfig(**FAST), processes=2)
        run.set_visible(visible.id, "true")
        live, epochs, batches, stages = [], [], [], set()
        run.epoch_live.connect(live.append)
        run.epoch_finished.connect(lambda e, m: epochs.append(e))
        run.batch_finished.connect(lambda e, b, n, losses: batches.append(e))
        run.progress.connect(lambda stage, done, total: stages.add(stage.split(" ")[0]))
        with qtbot.waitSignal(run.done, timeout=180_000), qtbot.waitSignal(run.succeeded, timeout=180_000) as ok:
            run.start()
        assert run.wait(120_000), "the run's thread did not end"
        window_project.set_judgement(window_project.versions()[-1].id, val_ids[0], True)  # still writable
        version, summary = ok.args
        assert window_project.version(version).status == "done"
    assert epochs == [1, 2] and batches.count(1) == batches.count(2) > 0 and {"loading", "epoch"} <= stages
    assert summary["best_epoch"] in (1, 2) and set(summary) >= {"train", "val", "test"}
    for epoch in live:
        assert [p.sample_id for p in epoch.val_predictions] == val_ids
        assert sum(epoch.val_matrix[q] for q in (*QUADRANTS, UNASSESSED)) == len(val_ids)
        # from the epoch's checkpoint: one the run tidied away before it was read has none; the kept one stays
        if epoch.heatmap is not None or epoch.epoch == summary["best_epoch"]:
            sample_id, target, cam = epoch.heatmap
            assert (sample_id, target) == (visible.id, "true") and cam.shape == (visible.height, visible.width)


def test_cancel_stops_every_process_and_leaves_the_version_cancelled(qtbot, small_project_dir):
    run = TrainingProcess(small_project_dir, TrainConfig(**{**FAST, "epochs": 200}), processes=2)
    run.epoch_finished.connect(lambda e, m: e == 1 and run.cancel())
    with Project.open(small_project_dir):
        with qtbot.waitSignal(run.done, timeout=180_000), qtbot.waitSignal(run.cancelled, timeout=180_000):
            run.start()
        assert run.wait(120_000), "the run's thread did not end"
    assert gradia_processes() == []
    with Project.open(small_project_dir, readonly=True) as project:
        assert [v.status for v in project.versions(status=None)] == ["cancelled"]
        assert not any((small_project_dir / "models").glob("v*/epoch_*"))


def test_the_failure_line_is_the_runs_own_error():
    """(The run's errors arrive said once: tests/cli/test_distributed_launch.py.)"""
    assert failure_line(["starting 2 process(es)\n", "gradia train: error: no such version 7\n"], 2) == \
        "no such version 7"
    assert failure_line(["Segmentation fault\n"], 139) == "training stopped (exit status 139): Segmentation fault"
    assert failure_line([], 1) == "training stopped (exit status 1)"
