"""A distributed training run (all of a machine's GPUs) as a child process group, seen like a TrainingWorker.

The app starts `gradia train PROJECT --settings FILE --nproc-per-node N --events`: the same command a
user types, which starts torchrun and its N processes. The run's first process reports over its
stdout as JSON lines (core/run_events.py); a thread here turns them into the signals TrainingWorker
emits, so the dock's live plots, matrix and heatmap work the same. The child writes the new version
as this process's invited guest (core/project_lock.py), so the expert can go on annotating meanwhile.
Cancel sends SIGINT to the whole process group, as Ctrl-C would in a terminal: every process stops,
the first marks its version cancelled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from ...core import project_lock, run_events
from ...core.store import Project
from ...errors import GradiaError
from ...training.config import TrainConfig
from ...training.explain import Explainer
from .training_worker import LiveEpoch, TrainingRun, target_class

INTERRUPTED = 130  # the exit status of a run stopped by SIGINT (cancel)


def training_command(project_root: Path, settings: Path, processes: int) -> list[str]:
    return [sys.executable, "-m", "gradia_desktop", "train", str(project_root), "--settings", str(settings),
            "--nproc-per-node", str(processes), "--events"]


def failure_line(stderr_lines: list[str], status: int) -> str:
    """The run's own one-line error (its last 'gradia train: error: ...'), or its exit status."""
    for line in reversed(stderr_lines):
        if ": error: " in line:
            return line.split(": error: ", 1)[1].strip()
    return f"training stopped (exit status {status}): {stderr_lines[-1].strip()}" if stderr_lines else \
        f"training stopped (exit status {status})"


class TrainingProcess(TrainingRun):
    """A TrainingRun whose training happens in ``processes`` child processes (one per GPU)."""

    def __init__(self, project_root: str | Path, config: TrainConfig, processes: int):
        super().__init__(Path(project_root).expanduser().resolve(), config, "gradia-training-process")
        self.processes = processes
        self._child: subprocess.Popen | None = None
        self._child_lock = threading.Lock()

    def cancel(self) -> None:
        super().cancel()
        with self._child_lock:
            child = self._child
            if child is not None and child.poll() is None:
                try:
                    if hasattr(os, "killpg"):
                        os.killpg(child.pid, signal.SIGINT)
                    else:  # pragma: no cover - Windows: no process groups to signal; torchrun stops its own
                        child.terminate()
                except ProcessLookupError:
                    pass

    def _run(self) -> None:
        settings = token = None
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="gradia-settings-", delete=False) as f:
                json.dump(self.config.to_dict(), f)
                settings = Path(f.name)
            token = project_lock.invite(self.project_root)
            env = {**os.environ, project_lock.INVITATION_ENV: token}
            status, result, errors = self._watch(training_command(self.project_root, settings, self.processes), env)
            if result is not None and status == 0:
                self.succeeded.emit(int(result["version"]), result)
            elif status == INTERRUPTED or self.cancel_requested.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(failure_line(errors, status))
        except (GradiaError, OSError) as exc:
            self.failed.emit(f"cannot start the distributed run: {exc}")
        finally:
            if token is not None:
                project_lock.revoke(self.project_root, token)
            if settings is not None:
                settings.unlink(missing_ok=True)
            self.done.emit()

    def _watch(self, command: list[str], env: dict) -> tuple[int, dict | None, list[str]]:
        """Run ``command`` to its end, relaying its events; (exit status, result event, stderr lines)."""
        with Project.open(self.project_root, readonly=True) as project:  # the images of the live heatmaps
            with self._child_lock:
                if self.cancel_requested.is_set():
                    return INTERRUPTED, None, []
                child = self._child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                       text=True, bufsize=1, env=env, start_new_session=True)
            errors: list[str] = []
            reader = threading.Thread(target=lambda: errors.extend(child.stderr), name="gradia-run-stderr",
                                      daemon=True)
            reader.start()
            result = None
            try:
                for line in child.stdout:
                    result = self._relay(project, line) or result
            except BaseException:  # never leave the run going unwatched
                self.cancel()
                raise
            finally:
                status = child.wait()
                reader.join(timeout=10)
        return status, result, errors

    def _relay(self, project: Project, line: str) -> dict | None:
        """Emit one event line's signal; the result, when the line is the run's result."""
        event = run_events.decode(line)
        if event is None:
            return None
        kind, payload = event
        if kind == "progress":
            self.progress.emit(*payload)
        elif kind == "batch":
            self.batch_finished.emit(*payload)
        elif kind == "epoch":
            metrics = payload.metrics
            self.epoch_live.emit(LiveEpoch(metrics.epoch, metrics, payload.predictions, payload.matrix,
                                           self._heatmap(project, payload.checkpoint)))
            self.epoch_finished.emit(metrics.epoch, metrics)
        elif kind == "log":
            self.message.emit(payload)
        elif kind == "result":
            return payload
        return None

    def _heatmap(self, project: Project, checkpoint: str | None) -> tuple[int, object, np.ndarray] | None:
        """The visible sample's heatmap under the epoch's weights, read from the epoch's checkpoint."""
        visible = self._visible
        if visible is None or checkpoint is None:
            return None
        sample_id, target = visible
        try:
            sample = project.sample(sample_id)
            explainer = Explainer.from_file(Path(checkpoint))
            return sample_id, target, explainer.heatmap(project.load_image(sample), target_class(sample, target))[0]
        except (GradiaError, OSError, ValueError):  # e.g. the epoch's file already tidied away: no heatmap
            return None
