"""Deletion and insertion AUC of a version, measured from the Versions dock: off the GUI thread, with
a progress dialog that can cancel, recorded with the version (training/faithfulness.py, as `gradia
eval --faithfulness` measures it)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from ...core.records import Version
from ...core.store import Project
from ...errors import Cancelled

SPLIT = "val"  # what the versions table shows


class _Relay(QObject):
    progress = Signal(str, int, int)
    finished = Signal(object)  # the means, or an error line (str), or None when cancelled


class _Measure(QRunnable):
    def __init__(self, project: Project, version: Version, relay: _Relay, stop: threading.Event):
        super().__init__()
        self.project, self.version, self.relay, self.stop = project, version, relay, stop

    def run(self) -> None:
        try:
            from ...training.device import pick_device
            from ...training.faithfulness import STEPS, split_faithfulness

            figures, _ = split_faithfulness(self.project, self.version, SPLIT, pick_device("auto"),
                                            progress=lambda stage, done, total: self.relay.progress.emit(stage, done,
                                                                                                         total),
                                            cancelled=self.stop.is_set)
            self.relay.finished.emit({**figures.means(), "faithfulness_steps": STEPS})
        except Cancelled:
            self.relay.finished.emit(None)
        except Exception as exc:  # noqa: BLE001 - a model or image that fails: said, never raised in the GUI
            self.relay.finished.emit(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")


class FaithfulnessJob(QObject):
    """One measurement; ``recorded`` (version id) once its figures are stored with the version."""

    recorded = Signal(int)

    def __init__(self, project: Project, version: Version, parent: QWidget):
        super().__init__(parent)
        self.project, self.version, self._parent = project, version, parent
        self._stop = threading.Event()
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.finished.connect(self._on_finished)
        self.dialog = QProgressDialog(f"Measuring how faithful {version.name}'s heatmaps are on the {SPLIT} split…",
                                      "Cancel", 0, 0, parent)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.canceled.connect(self._stop.set)
        self._pool = QThreadPool(self)
        self.error: str | None = None

    def start(self) -> None:
        self.dialog.show()
        self._pool.start(_Measure(self.project, self.version, self._relay, self._stop))

    def wait(self) -> None:
        self._pool.waitForDone()

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.dialog.setLabelText(f"{self.version.name}: {stage}")
        self.dialog.setMaximum(total)
        self.dialog.setValue(done)

    def _on_finished(self, outcome) -> None:
        self.dialog.reset()
        self.dialog.hide()
        if isinstance(outcome, dict):
            self.project.add_split_metrics(self.version.id, SPLIT, outcome)
            self.recorded.emit(self.version.id)
        elif isinstance(outcome, str):
            self.error = outcome
            QMessageBox.warning(self._parent, "Faithfulness", f"{self.version.name}: {outcome}")
        self.deleteLater()
