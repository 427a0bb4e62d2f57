"""The Training dock: the settings form, then live plots while a run goes on; one run at a time.

It owns the TrainingWorker of a run started here (or, on "all N GPUs", the TrainingProcess that
starts and watches a torchrun launch) and turns its end into one ``run_ended(status, message)``;
a failure is reported in the dock itself (no modal box: training runs while the expert keeps
annotating).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from ...core.records import Version
from ...errors import GradiaError
from ...training.config import TrainConfig
from ...training.device import ALL_GPUS, device_label, gpu_count
from .training_form import TrainingPanel
from .training_plots import TrainingPlots
from .training_process import TrainingProcess
from .training_worker import TrainingWorker

SETTINGS_TAB, PROGRESS_TAB = 0, 1
MESSAGE_STYLES = {  # success, warning and failure must read differently at a glance
    "info": "padding: 4px",
    "success": "padding: 4px; color: #1b5e20; background: #e8f5e9; border-radius: 3px",
    "warning": "padding: 4px; color: #5d4200; background: #fff4ce; border-radius: 3px",
    "error": "padding: 4px; color: #b71c1c; background: #fdecea; border-radius: 3px; font-weight: bold",
}


def form_key(project_root: Path) -> str:
    """Where a project's training form is remembered: each project keeps its own."""
    digest = hashlib.sha1(str(Path(project_root).resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"training/projects/{digest}"


class TrainingDock(QWidget):
    trained = Signal(int)  # a new version exists
    live_epoch = Signal(object)  # LiveEpoch
    run_ended = Signal(str, str)  # 'done' | 'cancelled' | 'failed', one-line message
    running_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.project_root: Path | None = None
        self.worker: TrainingWorker | TrainingProcess | None = None
        self.config: TrainConfig | None = None
        self.blocked_reason: str | None = None  # e.g. a baseline is being trained elsewhere
        self._visible: tuple[int | None, object] = (None, "predicted")
        self._outcome: tuple[str, str] = ("failed", "")
        self._new_version: int | None = None  # set when a run succeeds
        self._fresh_form = False  # the form is the untouched baseline form of a project without a model
        self.panel = TrainingPanel()
        self.panel.start_requested.connect(self.start)
        self.panel.cancel_requested.connect(self.cancel)
        self.plots = TrainingPlots()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("training_message")
        self.message.hide()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.panel, "Settings")
        self.tabs.addTab(self.plots, "Progress")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)

    # ---- project --------------------------------------------------------------------------------
    def set_project(self, project_root: Path | None, versions: list[Version], selected: int | None,
                    read_only: bool) -> None:
        self.project_root = None if read_only else project_root
        self.panel.set_versions(versions, selected)
        self._fresh_form = False
        if project_root is not None:  # the form this project's last run used, or a fresh one that can start
            parent = self.panel.parent_combo.currentData()
            if not self.panel.restore_settings(QSettings(), form_key(project_root)):
                self.panel.start_fresh(parent)
                self._fresh_form = parent is None  # a baseline form until the project's first model
        self.panel.setEnabled(project_root is not None and not read_only)
        if read_only:
            self._say("The project is read-only: no model can be trained here.", "info")

    def set_versions(self, versions: list[Version], selected: int | None) -> None:
        if not self.is_running():
            self.panel.set_versions(versions, selected)
            if self._fresh_form and self.panel.parent_combo.currentData() is not None:
                self._fresh_form = False  # the first model exists (the banner's baseline): now guided from it
                self.panel.start_fresh(self.panel.parent_combo.currentData())

    def set_visible_sample(self, sample_id: int | None, target: object) -> None:
        self._visible = (sample_id, target)
        if self.worker is not None:
            self.worker.set_visible(sample_id, target)

    def is_running(self) -> bool:
        return self.worker is not None

    # ---- a run ----------------------------------------------------------------------------------
    def start(self, config: TrainConfig) -> bool:
        if self.worker is not None or self.project_root is None:
            return False
        if self.blocked_reason:
            self._say(self.blocked_reason, "error")
            return False
        gpus = gpu_count()
        try:
            where = f"all {gpus} GPUs" if config.device == ALL_GPUS else device_label(config.device)
        except GradiaError as exc:  # e.g. CUDA chosen on a machine without it
            self._say(str(exc), "error")
            return False
        self.config = config
        self._fresh_form = False
        self.panel.save_settings(QSettings(), form_key(self.project_root))
        self._outcome = ("failed", "training ended without a result")
        if config.device == ALL_GPUS:  # a torchrun launch in child processes, reporting like the worker
            worker = self.worker = TrainingProcess(self.project_root, replace(config, device="cuda"), gpus)
        else:
            worker = self.worker = TrainingWorker(self.project_root, config)
        worker.set_visible(*self._visible)
        worker.progress.connect(self.plots.set_progress)
        worker.batch_finished.connect(self.plots.add_batch)
        worker.epoch_finished.connect(self.plots.add_epoch)
        # Signals still queued when a run was ended by shutdown() must not reach a closed project.
        worker.epoch_live.connect(lambda live: self.worker is worker and self.live_epoch.emit(live))
        worker.message.connect(lambda text: self._say(text, "warning" if text.startswith("warning") else "info"))
        worker.succeeded.connect(self._on_succeeded)
        worker.failed.connect(lambda reason: self._set_outcome("failed", reason))
        worker.cancelled.connect(lambda: self._set_outcome("cancelled", "training cancelled: no version was made"))
        worker.done.connect(self._on_done)
        self._say(f"Training on {where}…", "info")
        self.plots.begin(config.epochs)
        self.panel.set_running(True)
        self.tabs.setCurrentIndex(PROGRESS_TAB)
        worker.start()
        self.running_changed.emit(True)
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self._say("Cancelling after the current batch\u2026", "info")

    def shutdown(self) -> None:
        """Stop a run and wait for its thread (the window is closing); ends the run here and now,
        since the worker's queued signals may never be delivered."""
        if self.worker is None:
            return
        self.worker.cancel()
        self.worker.wait()
        self._outcome = ("cancelled", "training stopped: no version was made")
        self._on_done()

    def _on_succeeded(self, version_id: int, summary: dict) -> None:
        val = summary.get("val") or {}
        acc = val.get("accuracy")
        text = f"v{version_id} trained (best epoch {summary.get('best_epoch')}"
        text += f", validation accuracy {acc:.3f})" if acc is not None else ")"
        warnings = summary.get("warnings") or []
        self._set_outcome("done", " ".join([text, *[w for w in warnings if w.startswith("warning")]]))
        self._new_version = version_id

    def _set_outcome(self, status: str, message: str) -> None:
        self._outcome = (status, message)

    def _on_done(self) -> None:
        if self.worker is None:  # already ended by shutdown()
            return
        self.worker.wait()
        self.worker = None
        status, message = self._outcome
        self.panel.set_running(False)
        self.plots.finish(status if status != "failed" else f"failed: {message}")
        kind = {"failed": "error", "cancelled": "info"}.get(status) or ("warning" if "warning" in message else "success")
        self._say(message, kind)
        self.running_changed.emit(False)
        if status == "done":
            self.trained.emit(self._new_version)
        self.run_ended.emit(status, message)

    def _say(self, text: str, kind: str) -> None:
        """One line above the tabs, styled by ``kind`` (MESSAGE_STYLES); it wraps, never clips."""
        self.message.setText(text)
        self.message.setProperty("kind", kind)
        self.message.setStyleSheet(MESSAGE_STYLES[kind])
        self.message.setVisible(bool(text))
