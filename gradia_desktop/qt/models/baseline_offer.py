"""The banner shown while a project has no model: train a baseline in the background, with progress."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton

from ...training.config import TrainConfig
from .training_plots import EPOCH_STAGE, format_duration
from .training_worker import TrainingWorker

BASELINE_EPOCHS = 6
OFFER_TEXT = ("<b>No model yet.</b> Heatmaps, predictions and the Reasonability Matrix need a trained "
              "model version.")


class BaselineOffer(QFrame):
    """Offers to train a baseline; shows progress while it runs; emits ``trained(version_id)``."""

    trained = Signal(int)
    failed = Signal(str)
    started = Signal()
    finished = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("baseline_offer")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#baseline_offer { background: palette(alternate-base); }")
        self.project_root: Path | None = None
        self.worker: TrainingWorker | None = None
        self._first: tuple[float, float] | None = None  # (time, run fraction) at the first epoch report
        self.label = QLabel(OFFER_TEXT)
        self.label.setWordWrap(True)  # a long line must not widen the window's middle and squeeze the docks
        self.label.setMinimumWidth(120)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.start_button = QPushButton("Train a baseline now")
        self.start_button.setToolTip(f"Plain cross-entropy, {BASELINE_EPOCHS} epochs, on the best device here; "
                                     "you can keep annotating meanwhile")
        self.cancel_button = QPushButton("Cancel")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.start_button)
        layout.addWidget(self.cancel_button)
        self._set_running(False)

    def offer(self, project_root: Path | None, read_only: bool) -> None:
        """Show the offer for a project without a model (None hides it)."""
        if self.worker is not None:
            return  # a run is going on; its end decides what to show
        self.project_root = project_root
        self.setVisible(project_root is not None)
        self.start_button.setEnabled(not read_only)
        if read_only:
            self.label.setText(OFFER_TEXT + " The project is read-only, so none can be trained here.")
        else:
            self.label.setText(OFFER_TEXT)

    def start(self) -> None:
        if self.project_root is None or self.worker is not None:
            return
        self.worker = TrainingWorker(self.project_root, TrainConfig(mode="baseline", epochs=BASELINE_EPOCHS))
        self.worker.progress.connect(self._on_progress)
        self.worker.succeeded.connect(self._on_succeeded)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.done.connect(self._on_done)
        self._set_running(True)
        self.label.setText("<b>Training a baseline\u2026</b> Keep browsing and painting meanwhile.")
        self._first = None
        self.worker.start()
        self.started.emit()

    def start_if_offered(self) -> bool:
        """Start at once when a baseline is on offer (the demo's first launch: the window opens first)."""
        if self.isHidden() or not self.start_button.isEnabled() or self.worker is not None:
            return False
        self.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText("Cancelling after the current batch\u2026")

    def shutdown(self) -> None:
        """Cancel a running job and wait for its thread (window closing)."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.start_button.setVisible(not running)

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        """The whole run's progress (not the stage's, which restarts every epoch) and the time left."""
        epoch = EPOCH_STAGE.match(stage)
        if epoch is None:  # loading and preparing, before the first epoch
            self.progress.setMaximum(max(total, 1))
            self.progress.setValue(done)
            self.progress.setFormat(f"{stage} %p%")
            return
        current, epochs = int(epoch.group(1)), int(epoch.group(2))
        fraction = (current - 1 + done / max(total, 1)) / max(epochs, 1)
        now = time.monotonic()
        if self._first is None:
            self._first = (now, fraction)
        self.progress.setMaximum(1000)
        self.progress.setValue(round(1000 * fraction))
        started, at = self._first
        left = ""
        if fraction > at + 0.02:
            left = f" \u00b7 about {format_duration((now - started) / (fraction - at) * (1 - fraction))} left"
        self.progress.setFormat(f"epoch {current}/{epochs} \u00b7 %p%{left}")

    def _on_succeeded(self, version: int, summary: dict) -> None:
        self.hide()
        self.trained.emit(version)

    def _on_failed(self, reason: str) -> None:
        self.label.setText(f"<b>Training failed:</b> {reason}")
        self.failed.emit(reason)

    def _on_cancelled(self) -> None:
        self.label.setText(OFFER_TEXT + " (The last run was cancelled.)")

    def _on_done(self) -> None:
        self.worker.wait()
        self.worker = None
        self._set_running(False)
        self.finished.emit()
