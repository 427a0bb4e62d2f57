"""The banner shown while a project has no model: train a baseline in the background, with progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton

from ...training.config import TrainConfig
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
        self.label = QLabel(OFFER_TEXT)
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
        self.worker.start()
        self.started.emit()

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
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{stage} %p%")

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
