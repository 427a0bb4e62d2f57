"""Lazy, cached sample thumbnails, decoded and shrunk off the GUI thread.

Only rows that are painted ask for a thumbnail. Pending requests form a LIFO stack: while the user
scrolls fast, the rows painted last (the ones now on screen) load first, and the oldest requests
beyond a small bound are dropped - a row painted again simply asks again. An image that cannot be
decoded, whatever the decoder raises, gets a warning tile with the one-line reason as its tooltip.

The GUI thread's share is kept small and bounded: a request only pushes onto the stack (workers
are woken by a zero-timer, after the paint that asked), and finished thumbnails come back in
batches, at most MAX_DELIVERED per event-loop turn, so the model repaints once per batch. A large
image without a reduced decode also leaves a screen-sized preview behind (canvas/progressive_image.py):
it was decoded in full anyway, and the canvas shows that preview on a first visit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRectF, QRunnable, Qt, QThread, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from ...core.images import image_size, read_rgb
from ...core.records import Sample
from ...core.store import Project
from ..canvas.load_problem import load_problem
from ..canvas.progressive_image import PREVIEWS, file_stamp, known_preview_target, preview_target, worth_a_preview

THUMB_SIZE = 40  # logical pixels; rendered at the screen's device pixel ratio
CACHE_SIZE = 3000
MAX_PENDING = 256  # a screenful is ~30 rows; anything older was scrolled past
MAX_DELIVERED = 64  # thumbnails handed to the model per event-loop turn (~1 ms)


def make_thumbnail(project: Project, sample: Sample, size: int) -> QImage:
    """The sample's image scaled to fit ``size`` x ``size`` (aspect kept) and centred on a transparent
    square, so every row's name starts at the same place. A large JPEG is decoded at a fraction of
    its size (never below ``size``); a large one decoded in full leaves a preview behind."""
    path = project.image_path(sample)
    stamp = file_stamp(path)
    rgb = _with_preview(path, stamp, read_rgb(path, max_side=size))
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    if scale != 1:
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
        # Shrink with area averaging; enlarge tiny images with crisp pixels rather than blur.
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    square = np.zeros((size, size, 4), np.uint8)
    top, left = (size - h) // 2, (size - w) // 2
    square[top:top + h, left:left + w, :3] = rgb[:size, :size]
    square[top:top + h, left:left + w, 3] = 255
    return QImage(square.data, size, size, square.strides[0], QImage.Format.Format_RGBA8888).copy()


def _with_preview(path, stamp: tuple, rgb: np.ndarray) -> np.ndarray:
    """Cache a preview of ``rgb`` when it is a large image decoded in full (no reduced decode), and
    return the preview (a smaller source for the thumbnail); else ``rgb``."""
    screen = known_preview_target()
    h, w = rgb.shape[:2]
    if screen is None or not worth_a_preview(w, h) or PREVIEWS.has(path, stamp):
        return rgb
    try:
        whole = image_size(path) == (w, h) and file_stamp(path) == stamp  # not reduced, not changed meanwhile
    except Exception:  # noqa: BLE001 - gone or changed since: no preview, the thumbnail stands
        whole = False
    return PREVIEWS.put(path, stamp, rgb, screen) if whole else rgb


def failure_reason(exc: BaseException, path: object) -> str:
    """The one-line reason without the path it starts with: 'file not found'."""
    return load_problem(path, exc).removeprefix(f"{path}: ")


class _Queue:
    """The state shared with the workers; everything behind one lock."""

    def __init__(self, max_workers: int):
        self.lock = threading.Lock()
        self.stack: OrderedDict[int, Sample] = OrderedDict()  # newest last
        self.in_flight: set[int] = set()
        self.results: list[tuple[int, int, QImage | str]] = []  # (generation, sample id, image or reason)
        self.generation = 0
        self.project: Project | None = None
        self.pixel_size = THUMB_SIZE
        self.workers = 0
        self.max_workers = max_workers

    def close(self, *_args: object) -> None:
        """Drop the pending requests so that the workers stop after the image in hand."""
        with self.lock:
            self.generation += 1
            self.project = None
            self.stack.clear()
            self.in_flight.clear()
            self.results.clear()

    def take(self) -> tuple[int, Project, Sample, int] | None:
        """The newest request, or None (and one worker fewer) when there is nothing left."""
        with self.lock:
            if not self.stack or self.project is None:
                self.workers -= 1
                return None
            sample_id, sample = self.stack.popitem(last=True)
            self.in_flight.add(sample_id)
            return self.generation, self.project, sample, self.pixel_size

    def put(self, generation: int, sample_id: int, outcome: QImage | str) -> bool:
        """Queue a finished thumbnail (or failure reason); True when the GUI thread must be told."""
        with self.lock:
            self.results.append((generation, sample_id, outcome))
            return len(self.results) == 1

    def workers_wanted(self) -> int:
        """Claim the workers to start for the requests waiting (the claim counts them as running)."""
        with self.lock:
            wanted = min(len(self.stack), self.max_workers - self.workers) if self.project is not None else 0
            self.workers += max(0, wanted)
            return max(0, wanted)

    def finished(self, budget: int) -> tuple[list[tuple[int, int, QImage | str]], bool]:
        """Up to ``budget`` finished thumbnails of this project, oldest first, and whether more wait."""
        with self.lock:
            batch, self.results = self.results[:budget], self.results[budget:]
            batch = [r for r in batch if r[0] == self.generation]
            for _, sample_id, _ in batch:
                self.in_flight.discard(sample_id)
            return batch, bool(self.results)


class _Relay(QObject):
    """Tells the loader (queued into the GUI thread) that finished thumbnails wait in the queue."""

    arrived = Signal()


class _Worker(QRunnable):
    def __init__(self, queue: _Queue, relay: _Relay):
        super().__init__()
        self.queue, self.relay = queue, relay

    def run(self) -> None:
        while (job := self.queue.take()) is not None:
            generation, project, sample, size = job
            try:
                outcome = make_thumbnail(project, sample, size)
            except Exception as exc:  # noqa: BLE001 - a worker must never die on one bad file
                outcome = failure_reason(exc, project.image_path(sample))
            if self.queue.put(generation, sample.id, outcome):
                self.relay.arrived.emit()


class ThumbnailLoader(QObject):
    """Loads thumbnails on a private thread pool; ``ready``/``failed`` arrive in the GUI thread."""

    ready = Signal(int, QPixmap)
    failed = Signal(int, str)

    def __init__(self, size: int = THUMB_SIZE, cache_size: int = CACHE_SIZE,
                 max_threads: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._size = size
        self._ratio = 1.0
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._cache_size = cache_size
        self._errors: dict[int, str] = {}
        threads = max_threads or max(1, min(4, QThread.idealThreadCount() - 1))
        self._queue = _Queue(threads)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._relay = _Relay()
        self._wake_timer = QTimer(self, singleShot=True, interval=0)  # after the paint that asked
        self._wake_timer.timeout.connect(self._wake_workers)
        self._relay.arrived.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._more_timer = QTimer(self, singleShot=True, interval=0)  # the next batch, next turn
        self._more_timer.timeout.connect(self._deliver)
        # The pool's destructor waits for its workers: empty their queue before it runs.
        self.destroyed.connect(self._queue.close)
        preview_target()  # the screen size, for the previews the workers leave behind

    @property
    def size(self) -> int:
        return self._size

    @property
    def ratio(self) -> float:
        return self._ratio

    def set_project(self, project: Project | None) -> None:
        """Forget everything cached or pending; results still on their way are ignored."""
        self._queue.close()
        with self._queue.lock:
            self._queue.project = project
        self._cache.clear()
        self._errors.clear()

    def set_device_pixel_ratio(self, ratio: float) -> None:
        if ratio != self._ratio:
            self._ratio = ratio
            self.set_project(self._queue.project)
            with self._queue.lock:
                self._queue.pixel_size = max(1, round(self._size * ratio))

    def pixmap(self, sample_id: int) -> QPixmap | None:
        pixmap = self._cache.get(sample_id)
        if pixmap is not None:
            self._cache.move_to_end(sample_id)
        return pixmap

    def error(self, sample_id: int) -> str | None:
        return self._errors.get(sample_id)

    def request(self, sample: Sample) -> None:
        """Queue ``sample`` unless it is cached, failed, or already queued (then it moves to the top).
        Called while a row is painted: it only pushes the request; workers start after the paint."""
        if sample.id in self._cache or sample.id in self._errors:
            return
        queue = self._queue
        with queue.lock:
            if queue.project is None or sample.id in queue.in_flight:
                return
            queue.stack[sample.id] = sample
            queue.stack.move_to_end(sample.id)
            while len(queue.stack) > MAX_PENDING:
                queue.stack.popitem(last=False)
            idle = queue.workers < queue.max_workers
        if idle and not self._wake_timer.isActive():
            self._wake_timer.start()

    def cached_count(self) -> int:
        return len(self._cache)

    def pending(self) -> int:
        with self._queue.lock:
            return len(self._queue.stack) + len(self._queue.in_flight)

    def shutdown(self, wait_ms: int = 2000) -> None:
        """Drop every pending request and wait for the images being read right now."""
        self.set_project(None)
        self._pool.waitForDone(wait_ms)

    def _wake_workers(self) -> None:
        for _ in range(self._queue.workers_wanted()):
            self._pool.start(_Worker(self._queue, self._relay))

    @Slot()
    def _deliver(self) -> None:
        """Hand up to MAX_DELIVERED finished thumbnails to the model; the rest next turn."""
        batch, more = self._queue.finished(MAX_DELIVERED)
        for _, sample_id, outcome in batch:
            if isinstance(outcome, str):
                self._errors[sample_id] = outcome
                self.failed.emit(sample_id, outcome)
            else:
                self.ready.emit(sample_id, self._cache_pixmap(sample_id, outcome))
        if more:
            self._more_timer.start()

    def _cache_pixmap(self, sample_id: int, image: QImage) -> QPixmap:
        pixmap = QPixmap.fromImage(image)  # QPixmap only ever in the GUI thread
        if self._ratio != 1:
            pixmap.setDevicePixelRatio(self._ratio)
        self._cache[sample_id] = pixmap
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return pixmap


def placeholder_pixmap(size: int, ratio: float = 1.0, warning: bool = False) -> QPixmap:
    """A neutral tile shown until the thumbnail arrives; with a warning sign for unreadable images."""
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRectF(1, 1, size - 2, size - 2)
    painter.setPen(QPen(QColor(0, 0, 0, 40), 1))
    painter.setBrush(QColor(128, 128, 128, 90 if warning else 45))
    painter.drawRoundedRect(rect, 4, 4)
    if warning:
        icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        side = round(size * 0.6)
        offset = (size - side) / 2
        painter.drawPixmap(QRectF(offset, offset, side, side).toRect(), icon.pixmap(side, side))
    painter.end()
    return pixmap
