"""Training in a QThread: the trainer's callbacks become Qt signals; cancel within one batch or image."""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ...core.records import Prediction
from ...core.store import Project
from ...core.training_metrics import BatchLosses, EpochMetrics
from ...errors import Cancelled, GradiaError
from ...training.config import TrainConfig
from ...training.epoch_loop import EpochState
from ...training.trainer import Callbacks, train


class _Relay(Callbacks):
    def __init__(self, worker: TrainingWorker):
        self.worker = worker

    def progress(self, stage: str, done: int, total: int) -> None:
        self.worker.progress.emit(stage, done, total)

    def batch_end(self, epoch: int, batch: int, batches: int, losses: BatchLosses) -> None:
        self.worker.batch_finished.emit(epoch, batch, batches, losses)

    def epoch_state(self, state: EpochState) -> None:
        self.worker.epoch_live.emit(LiveEpoch(state.epoch, state.metrics, state.val_predictions, state.val_matrix,
                                              self.worker._visible_heatmap(state)))

    def epoch_end(self, epoch: int, metrics: EpochMetrics) -> None:
        self.worker.epoch_finished.emit(epoch, metrics)

    def log(self, message: str) -> None:
        self.worker.message.emit(message)

    def cancelled(self) -> bool:
        return self.worker.cancel_requested.is_set()


@dataclass(frozen=True)
class LiveEpoch:
    """One finished epoch, for live views: validation predictions and matrix under its weights,
    and the heatmap of the sample the user is looking at ((sample id, target, CAM) or None)."""

    epoch: int
    metrics: EpochMetrics
    val_predictions: list[Prediction]
    val_matrix: dict
    heatmap: tuple[int, object, np.ndarray] | None


def target_class(sample, target: object) -> int | None:
    """The class a heatmap target names: 'true' (the sample's), 'predicted' (None) or a class index."""
    return sample.class_idx if target == "true" else (None if target == "predicted" else int(target))


class TrainingRun(QObject):
    """One training job watched from its own thread: the signals the dock listens to, cancel, wait.

    Exactly one of ``succeeded`` (version id, summaries), ``failed`` (one-line reason) or
    ``cancelled`` is emitted at the end, then ``done``. ``set_visible`` names the sample (and
    heatmap target) whose heatmap each ``epoch_live`` should carry. Subclasses implement ``_run``.
    """

    progress = Signal(str, int, int)
    batch_finished = Signal(int, int, int, object)  # epoch, batch, batches, BatchLosses
    epoch_live = Signal(object)  # LiveEpoch, before epoch_finished
    epoch_finished = Signal(int, object)  # epoch, EpochMetrics
    message = Signal(str)
    succeeded = Signal(int, dict)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, project_root: str | Path, config: TrainConfig, thread_name: str):
        super().__init__()
        self.project_root = Path(project_root)
        self.config = config
        self.cancel_requested = threading.Event()
        self._visible: tuple[int, object] | None = None  # (sample id, target); set from the GUI thread
        self.thread = QThread()
        self.thread.setObjectName(thread_name)
        self.moveToThread(self.thread)
        self.thread.started.connect(self._started)
        # Direct: QThread.quit is thread-safe, and a queued call would wait for the GUI's event loop.
        self.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.cancel_requested.set()

    def set_visible(self, sample_id: int | None, target: object = "predicted") -> None:
        """Which heatmap to compute after each epoch: 'predicted', 'true' or a class index."""
        self._visible = None if sample_id is None else (sample_id, target)  # one assignment: atomic

    def wait(self, msecs: int = -1) -> bool:
        """Block until the thread has ended (False on timeout).

        Not QThread.wait(): it holds the GIL while it blocks, and the worker needs the GIL to
        return from its last signal emission - a deadlock. Sleeping in Python releases it.
        """
        deadline = None if msecs < 0 else time.monotonic() + msecs / 1000
        while self.thread.isRunning():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    @Slot()
    def _started(self) -> None:
        # A slot the subclasses do not override: connected to an overridden slot, PySide runs it on the
        # GUI thread instead of this object's.
        self._run()

    def _run(self) -> None:
        raise NotImplementedError


class TrainingWorker(TrainingRun):
    """Runs one training job in this process, on its own thread, with its own connection to the project."""

    def __init__(self, project_root: str | Path, config: TrainConfig):
        super().__init__(project_root, config, "gradia-training")
        self._project: Project | None = None

    def _visible_heatmap(self, state: EpochState) -> tuple[int, object, np.ndarray] | None:
        visible, project = self._visible, self._project
        if visible is None or project is None:
            return None
        sample_id, target = visible
        try:
            sample = project.sample(sample_id)
            return sample_id, target, state.heatmap(project.load_image(sample), target_class(sample, target))[0]
        except GradiaError:  # a missing image: the epoch goes on without its heatmap
            return None

    def _run(self) -> None:
        try:
            with Project.open(self.project_root) as project:
                self._project = project
                result = train(project, self.config, _Relay(self))
            self.succeeded.emit(result.version, {"best_epoch": result.best_epoch, "seconds": result.seconds,
                                                 "warnings": result.warnings, **result.summaries})
        except Cancelled:
            self.cancelled.emit()
        except GradiaError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a crash in the worker must reach the user, not vanish
            traceback.print_exc()
            self.failed.emit(f"training failed: {type(exc).__name__}: {exc}")
        finally:
            self._project = None
            self.done.emit()
