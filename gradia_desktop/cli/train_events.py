"""`gradia train --events`: the run's callbacks written as JSON lines (core/run_events.py) on stdout."""

from __future__ import annotations

import time
from typing import TextIO

from ..core import run_events
from ..training.trainer import Callbacks

PROGRESS_EVERY_S = 0.1  # a stage's progress at most this often (its first and last step always)


class EventStream(Callbacks):
    def __init__(self, out: TextIO):
        self.out = out
        self._stage: str | None = None
        self._last = 0.0

    def _write(self, event: dict) -> None:
        self.out.write(run_events.encode(event) + "\n")
        self.out.flush()  # the reader is live: a pipe would otherwise hold lines back

    def progress(self, stage, done, total):
        now = time.monotonic()
        if stage != self._stage or done >= total or now - self._last >= PROGRESS_EVERY_S:
            self._stage, self._last = stage, now
            self._write(run_events.progress_event(stage, done, total))

    def batch_end(self, epoch, batch, batches, losses):
        self._write(run_events.batch_event(epoch, batch, batches, losses))

    def epoch_state(self, state):
        checkpoint = None if state.checkpoint is None else str(state.checkpoint)
        self._write(run_events.epoch_event(state.metrics, state.val_matrix, state.val_predictions, checkpoint))

    def log(self, message):
        self._write(run_events.log_event(message))
