"""Training in a QThread: the trainer's callbacks become Qt signals; cancel between batches."""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ..core.store import Project
from ..errors import Cancelled, GradiaError
from ..training.config import TrainConfig
from ..training.trainer import Callbacks, train


class _Relay(Callbacks):
    def __init__(self, worker: "TrainingWorker"):
        self.worker = worker

    def progress(self, stage: str, done: int, total: int) -> None:
        self.worker.progress.emit(stage, done, total)

    def epoch_end(self, epoch: int, metrics: dict) -> None:
        self.worker.epoch_finished.emit(epoch, metrics)

    def log(self, message: str) -> None:
        self.worker.message.emit(message)

    def cancelled(self) -> bool:
        return self.worker.cancel_requested.is_set()


class TrainingWorker(QObject):
    """Runs one training job on its own thread, with its own connection to the project.

    Exactly one of ``succeeded`` (version id, summaries), ``failed`` (one-line reason) or
    ``cancelled`` is emitted at the end, then ``done``.
    """

    progress = Signal(str, int, int)
    epoch_finished = Signal(int, dict)
    message = Signal(str)
    succeeded = Signal(int, dict)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, project_root: str | Path, config: TrainConfig):
        super().__init__()
        self.project_root = Path(project_root)
        self.config = config
        self.cancel_requested = threading.Event()
        self.thread = QThread()
        self.thread.setObjectName("gradia-training")
        self.moveToThread(self.thread)
        self.thread.started.connect(self._run)
        # Direct: QThread.quit is thread-safe, and a queued call would wait for the GUI's event loop.
        self.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.cancel_requested.set()

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
    def _run(self) -> None:
        try:
            with Project.open(self.project_root) as project:
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
            self.done.emit()
