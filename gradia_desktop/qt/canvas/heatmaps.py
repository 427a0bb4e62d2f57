"""CAM heatmaps for the canvas, computed off the GUI thread and cached.

Grad-CAM of the 'predicted' class comes from the prediction grid stored at evaluation time (cheap:
an upsample); 'true', a class index or another CAM method (``set_method``) runs the model through
training.explain.Explainer, created once per version on the worker thread. One worker thread does all of it (the Explainer serialises calls anyway).

The cache holds full-size float32 CAMs, LRU, bounded by entry count AND bytes (so 64 entries of
64x64 images are kept, but only a handful of 4096x4096 ones): a revisited image shows at once.
Results carry (sample id, version id, target): whoever paints them checks they are still current.
A heatmap that cannot be made (no or an unreadable checkpoint, a model error, an image refused)
arrives as ``failed`` with a one-line reason, so that the window can say why none shows.
``prefetch`` queues the neighbours' heatmaps behind every request, so browsing finds them cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from ...core.cam_method_names import CAM_METHODS, DEFAULT_METHOD
from ...core.records import Sample, Version
from ...core.store import Project
from ...errors import GradiaError
from .load_problem import load_problem, one_line

Target = str | int  # 'predicted' | 'true' | class index
CACHE_ENTRIES = 64
CACHE_BYTES = 512 * 1024 * 1024
MAX_PENDING = 8  # older requests are dropped: the user has moved on


def upsample_grid(grid: np.ndarray, width: int, height: int) -> np.ndarray:
    """A stored CAM grid at the image size (bilinear), min-max normalised to [0, 1], float32."""
    full = cv2.resize(np.asarray(grid, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    lo, hi = float(full.min()), float(full.max())
    return (full - lo) / (hi - lo) if hi > lo else np.zeros_like(full)


class _Jobs:
    """State shared with the worker, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending: OrderedDict[tuple, tuple[Sample, Target]] = OrderedDict()  # newest last
        self.generation = 0
        self.project: Project | None = None
        self.version: Version | None = None
        self.explainers: dict[int, object] = {}
        self.running = False
        self.device = "cpu"
        self.method = DEFAULT_METHOD
        self.layer: str | None = None  # None: the version's own CAM layer

    def close(self, *_args: object) -> None:
        with self.lock:
            self.generation += 1
            self.pending.clear()
            self.project = self.version = None
            self.explainers.clear()


class _Relay(QObject):
    done = Signal(int, object, object)  # generation, key, cam
    failed = Signal(int, object, str)  # generation, key, reason


class _Worker(QRunnable):
    def __init__(self, jobs: _Jobs, relay: _Relay):
        super().__init__()
        self.jobs, self.relay = jobs, relay

    def run(self) -> None:
        while True:
            with self.jobs.lock:
                if not self.jobs.pending or self.jobs.project is None:
                    self.jobs.running = False
                    return
                key, (sample, target) = self.jobs.pending.popitem(last=True)
                job = (self.jobs.generation, self.jobs.project, self.jobs.version, self.jobs.method, self.jobs.layer)
            generation, project, version, method, layer = job
            try:
                cam = self._compute(project, version, sample, target, method, layer)
            except GradiaError as exc:
                self.relay.failed.emit(generation, key, one_line(str(exc), limit=400))
            except Exception as exc:  # noqa: BLE001 - one bad sample must not kill the worker
                self.relay.failed.emit(generation, key, "cannot compute the heatmap "
                                                        f"({type(exc).__name__}: {one_line(str(exc))})")
            else:
                self.relay.done.emit(generation, key, cam)

    def _compute(self, project: Project, version: Version, sample: Sample, target: Target,
                 method: str, layer: str | None) -> np.ndarray:
        if target == "predicted" and method == DEFAULT_METHOD and layer is None:
            prediction = project.prediction(version.id, sample.id)
            if prediction is not None:
                return upsample_grid(prediction.cam, sample.width, sample.height)
        index = None if target == "predicted" else sample.class_idx if target == "true" else int(target)
        explainer = self._explainer(project, version)
        try:
            rgb = project.load_image(sample)
        except Exception as exc:  # noqa: BLE001 - an image the decoder refuses, said in one line
            raise GradiaError(load_problem(project.image_path(sample), exc)) from None
        cam, _ = explainer.heatmap(rgb, index, method, layer)
        return np.clip(cam.astype(np.float32, copy=False), 0.0, 1.0)

    def _explainer(self, project: Project, version: Version):
        with self.jobs.lock:
            explainer = self.jobs.explainers.get(version.id)
        if explainer is None:
            if not version.checkpoint:
                raise GradiaError(f"model version v{version.id} has no checkpoint")
            # Imported here: torch loads only once a model is needed.
            from ...training.explain import Explainer
            explainer = Explainer(project, version, self.jobs.device)
            with self.jobs.lock:
                if self.jobs.project is project:
                    self.jobs.explainers[version.id] = explainer
        return explainer


class HeatmapProvider(QObject):
    """Heatmaps of one (project, version); ``ready``/``failed`` arrive in the GUI thread."""

    ready = Signal(int, int, object, object)  # sample id, version id, target, cam (H, W) float32 in [0, 1]
    failed = Signal(int, object, object, str)  # sample id, version id (None: no version), target, one-line reason

    def __init__(self, device: str = "cpu", cache_entries: int = CACHE_ENTRIES, cache_bytes: int = CACHE_BYTES,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._cache_entries, self._cache_bytes = cache_entries, cache_bytes
        self._jobs = _Jobs()
        self._jobs.device = device
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay()
        self._relay.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._relay.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self.destroyed.connect(self._jobs.close)  # the pool's destructor waits for its worker
        self.computed = 0  # heatmaps delivered from the worker (not from the cache)

    def set_source(self, project: Project | None, version: Version | int | None) -> None:
        """Heatmaps of ``version`` of ``project`` from now on; results still on their way are dropped."""
        if isinstance(version, int) and project is not None:
            version = project.version(version)
        with self._jobs.lock:
            same_project = project is self._jobs.project
        self._jobs.close()
        if not same_project:
            self._cache.clear()  # version ids repeat across projects
        with self._jobs.lock:
            self._jobs.project = project
            self._jobs.version = version

    def set_method(self, method: str) -> None:
        """Heatmaps by this CAM method (core.cam_method_names) from now on; results on their way are dropped."""
        if method not in CAM_METHODS:
            raise ValueError(f"unknown CAM method {method!r}")
        with self._jobs.lock:
            if method == self._jobs.method:
                return
            self._jobs.generation += 1
            self._jobs.pending.clear()
            self._jobs.method = method

    def set_layer(self, layer: str | None) -> None:
        """Heatmaps read at this layer (a dotted path; None: each version's own) from now on."""
        layer = (layer or "").strip() or None
        with self._jobs.lock:
            if layer == self._jobs.layer:
                return
            self._jobs.generation += 1
            self._jobs.pending.clear()
            self._jobs.layer = layer

    def _view(self) -> tuple[str, str | None]:
        with self._jobs.lock:
            return self._jobs.method, self._jobs.layer

    def version_id(self) -> int | None:
        with self._jobs.lock:
            return None if self._jobs.version is None else self._jobs.version.id

    def cached(self, sample_id: int, target: Target) -> np.ndarray | None:
        key = (sample_id, self.version_id(), target, *self._view())
        cam = self._cache.get(key)
        if cam is not None:
            self._cache.move_to_end(key)
        return cam

    def request(self, sample: Sample, target: Target = "predicted") -> None:
        """Ask for a heatmap; a cached one is emitted at once (before this returns)."""
        if not (target in ("predicted", "true") or isinstance(target, int)):
            raise ValueError(f"target must be 'predicted', 'true' or a class index, got {target!r}")
        version_id = self.version_id()
        if version_id is None:
            self.failed.emit(sample.id, None, target, "no trained model version")
            return
        cam = self.cached(sample.id, target)
        if cam is not None:
            self.ready.emit(sample.id, version_id, target, cam)
            return
        self._queue((sample.id, version_id, target, *self._view()), sample, urgent=True)

    def prefetch(self, sample: Sample, target: Target = "predicted") -> None:
        """Compute a heatmap into the cache when the worker has nothing more urgent (no signal
        for a cached one; ``ready`` when it arrives, like any other)."""
        version_id = self.version_id()
        if version_id is not None and self.cached(sample.id, target) is None:
            self._queue((sample.id, version_id, target, *self._view()), sample, urgent=False)

    def _queue(self, key: tuple, sample: Sample, urgent: bool) -> None:
        with self._jobs.lock:
            if not urgent and key in self._jobs.pending:
                return
            self._jobs.pending[key] = (sample, key[2])
            self._jobs.pending.move_to_end(key, last=urgent)  # the worker takes the newest (last) first
            while len(self._jobs.pending) > MAX_PENDING:
                self._jobs.pending.popitem(last=False)
            start = not self._jobs.running
            self._jobs.running = True
        if start:
            self._pool.start(_Worker(self._jobs, self._relay))

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Drop pending requests and wait for the one being computed (without holding the GIL)."""
        self._jobs.close()
        deadline = time.monotonic() + timeout_s
        while self._pool.activeThreadCount() and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._pool.activeThreadCount()

    @Slot(int, object, object)
    def _on_done(self, generation: int, key: tuple, cam: np.ndarray) -> None:
        if generation != self._jobs.generation:
            return
        self.computed += 1
        self._cache[key] = cam
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_entries or (
                len(self._cache) > 1 and sum(c.nbytes for c in self._cache.values()) > self._cache_bytes):
            self._cache.popitem(last=False)
        self.ready.emit(key[0], key[1], key[2], cam)

    @Slot(int, object, str)
    def _on_failed(self, generation: int, key: tuple, reason: str) -> None:
        if generation == self._jobs.generation:
            self.failed.emit(key[0], key[1], key[2], reason)
