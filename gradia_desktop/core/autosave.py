"""Saving painted masks on one background writer thread, so a big mask never blocks the GUI.

``save`` copies the mask (both layers: "look here" and "don't look here") and queues
``Project.write_mask``. Saves for one sample coalesce: while a
queued write has not started, a newer save replaces its mask, so only the newest is written.
With a single writer thread and one queued job per pending save, writes never reorder.
Errors (read-only project, full disk, ...) are kept per sample and reported by ``state``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .records import Sample
from .store import Project

SavedListener = Callable[[int, int, "str | None"], None]  # sample id, edit version, error or None


@dataclass
class _Job:
    sample: Sample | int
    mask: np.ndarray
    avoid: np.ndarray | None
    version: int


class MaskAutosaver:
    """Writes masks of ``project`` off the calling thread; see the module docstring."""

    def __init__(self, project: Project, on_saved: SavedListener | None = None):
        self.project = project
        self.on_saved = on_saved
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradia-mask-writer")
        self._cond = threading.Condition()
        self._queued: dict[int, _Job] = {}  # sample id -> newest save not yet started
        self._writing: int | None = None  # sample id being written now
        self._jobs = 0  # submitted jobs not yet finished
        self._errors: dict[int, str] = {}
        self._saved: dict[int, int] = {}  # sample id -> edit version last written
        self._closed = False

    # ---- the GUI side -------------------------------------------------------------------------
    def save(self, sample: Sample | int, mask: np.ndarray, edit_version: int, avoid: np.ndarray | None = None) -> None:
        """Queue a copy of ``mask`` ("look here") and ``avoid`` ("don't look here"; None: none) for
        ``sample``; returns at once. Both empty: the sample's mask is removed."""
        sample_id = sample if isinstance(sample, int) else sample.id
        avoid = None if avoid is None or not avoid.any() else np.array(avoid, dtype=bool, copy=True)
        job = _Job(sample, np.array(mask, dtype=bool, copy=True), avoid, int(edit_version))
        with self._cond:
            if self._closed:
                raise RuntimeError("the mask autosaver is closed")
            coalesced = sample_id in self._queued
            self._queued[sample_id] = job
            if coalesced:
                return  # the job already queued for this sample will write the newest mask
            self._jobs += 1
        self._executor.submit(self._run, sample_id)

    def state(self, sample_id: int) -> str:
        """'saving' while a write is queued or running, 'error: <reason>' after a failed one, else 'saved'."""
        with self._cond:
            if sample_id in self._queued or self._writing == sample_id:
                return "saving"
            if sample_id in self._errors:
                return f"error: {self._errors[sample_id]}"
            return "saved"

    def saved_version(self, sample_id: int) -> int | None:
        """The edit version last written successfully for this sample, or None."""
        with self._cond:
            return self._saved.get(sample_id)

    def pending(self) -> int:
        """Writes queued or running."""
        with self._cond:
            return self._jobs

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued write has finished; False if ``timeout`` (seconds) ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._jobs:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush, then stop the writer thread. Further saves raise."""
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
        self._executor.shutdown(wait=done)
        return done

    # ---- the writer thread --------------------------------------------------------------------
    def _run(self, sample_id: int) -> None:
        with self._cond:
            job = self._queued.pop(sample_id)
            self._writing = sample_id
        error = None
        try:
            self.project.write_mask(job.sample, job.mask, avoid=job.avoid)
        except Exception as exc:  # noqa: BLE001 - kept for state(); nobody would see it raised here
            error = str(exc) or type(exc).__name__
        with self._cond:
            if error is None:
                self._errors.pop(sample_id, None)
                self._saved[sample_id] = job.version
            else:
                self._errors[sample_id] = error
            self._writing = None
        try:
            if self.on_saved is not None:
                self.on_saved(sample_id, job.version, error)
        except Exception:  # noqa: BLE001 - a broken listener must not stall flush()
            import traceback
            traceback.print_exc()
        finally:
            with self._cond:
                self._jobs -= 1
                self._cond.notify_all()
