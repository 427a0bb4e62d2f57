"""`gradia bench --training`: how the GUI fares while a GRADIA run trains on the demo.

A 5 ms timer probes the GUI thread's event loop for the whole run (its lateness is the latency a
click or a repaint would see); each epoch's validation pass and the GUI's live refresh (matrix,
browser rows, heatmap) are timed against the epoch's training time.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ...core.demo import generate_demo
from ...core.progress import Progress, report
from ...core.project_init import create_project
from ...core.store import Project
from ...training.config import TrainConfig
from ...training.trainer import train

PROBE_MS = 5


def _demo_with_baseline(folder: Path, progress: Progress) -> Path:
    data = generate_demo(folder / "dataset", seed=0)
    project_dir = folder / "project"
    create_project(project_dir, data / "images", data / "masks").close()
    with Project.open(project_dir) as project:
        report(progress, "training the baseline", 0, 1)
        train(project, TrainConfig(mode="baseline", epochs=2, device="cpu"))
        report(progress, "training the baseline", 1, 1)
    return project_dir


def run_training_gui_bench(epochs: int = 3, device: str = "auto", progress: Progress = None) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from ...qt.window.app import _drop_offscreen_noise
    from ...qt.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    if app.platformName() == "offscreen":
        qInstallMessageHandler(_drop_offscreen_noise)
    with tempfile.TemporaryDirectory(prefix="gradia-training-bench-") as tmp:
        window = MainWindow(Project.open(_demo_with_baseline(Path(tmp), progress)))
        window.resize(1500, 950)
        window.show()
        app.processEvents()
        dock = window.models.training
        gaps, refresh_s, epochs_seen = [], [], []
        last = [time.perf_counter()]

        def probe() -> None:
            now = time.perf_counter()
            if dock.is_running():
                gaps.append((now - last[0]) * 1000 - PROBE_MS)
            last[0] = now

        refresh = window.models._on_live_epoch

        def timed_refresh(live) -> None:  # the window's live refresh (matrix, browser rows, heatmap), timed
            t0 = time.perf_counter()
            refresh(live)
            refresh_s.append(time.perf_counter() - t0)
            epochs_seen.append(live.metrics)
            report(progress, "GRADIA run with the GUI open", live.epoch, epochs)

        dock.live_epoch.disconnect(refresh)
        dock.live_epoch.connect(timed_refresh)
        timer = QTimer(interval=PROBE_MS)
        timer.timeout.connect(probe)
        loop = QEventLoop()
        dock.run_ended.connect(lambda *_: loop.quit())
        config = TrainConfig(mode="gradia-all", counterfactual=True, parent=window.version.id, epochs=epochs,
                             device=device)
        started = time.perf_counter()
        timer.start()
        dock.start(config)
        window.browser.select_next()  # a visible image whose heatmap each epoch recomputes
        loop.exec()
        timer.stop()
        wall = time.perf_counter() - started
        window.close()
    lateness = np.maximum(np.array(gaps or [0.0]), 0)
    train_s = np.array([m.train_seconds for m in epochs_seen])
    eval_s = np.array([m.eval_seconds for m in epochs_seen])
    gui_s = np.array(refresh_s[:len(epochs_seen)])
    r3 = lambda v: round(float(v), 3)  # noqa: E731
    return {
        "epochs": len(epochs_seen), "device": config.device, "run_s": r3(wall),
        "gui_latency_ms_p50": r3(np.percentile(lateness, 50)), "gui_latency_ms_p99": r3(np.percentile(lateness, 99)),
        "gui_latency_ms_max": r3(lateness.max()), "probes": len(gaps),
        "epoch_train_s_mean": r3(train_s.mean()) if len(train_s) else None,
        "epoch_eval_s_mean": r3(eval_s.mean()) if len(eval_s) else None,
        "epoch_gui_refresh_s_mean": r3(gui_s.mean()) if len(gui_s) else None,
        "eval_and_refresh_share": r3(((eval_s + gui_s) / train_s).mean()) if len(train_s) else None,
    }
