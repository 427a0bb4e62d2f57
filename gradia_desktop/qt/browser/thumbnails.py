"""Lazy, cached sample thumbnails, decoded and shrunk off the GUI thread.

Only rows that are painted ask for a thumbnail. Pending requests form a LIFO stack: while the user
scrolls fast, the rows painted last (the ones now on screen) load first, and the oldest requests
beyond a small bound are dropped - a row painted again simply asks again. An image that cannot be
decoded, whatever the decoder raises, gets a warning tile with the one-line reason as its tooltip.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRectF, QRunnable, Qt, QThread, QThreadPool, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from ...core.images import read_rgb
from ...core.records import Sample
from ...core.store import Project
from ..canvas.load_problem import load_problem

THUMB_SIZE = 40  # logical pixels; rendered at the screen's device pixel ratio
CACHE_SIZE = 3000
MAX_PENDING = 256  # a screenful is ~30 rows; anything older was scrolled past


def make_thumbnail(project: Project, sample: Sample, size: int) -> QImage:
    """The sample's image scaled to fit ``size`` x ``size`` (aspect kept) and centred on a transparent
    square, so every row's name starts at the same place. A large JPEG is decoded at a fraction of
    its size (never below ``size``)."""
    rgb = read_rgb(project.image_path(sample), max_side=size)
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


def failure_reason(exc: BaseException, path: object) -> str:
    """The one-line reason without the path it starts with: 'file not found'."""
    return load_problem(path, exc).removeprefix(f"{path}: ")


class _Queue:
    """The state shared with the workers; everything behind one lock."""

    def __init__(self, max_workers: int):
        self.lock = threading.Lock()
        self.stack: OrderedDict[int, Sample] = OrderedDict()  # newest last
        self.in_flight: set[int] = set()
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

    def take(self) -> tuple[int, Project, Sample, int] | None:
        """The newest request, or None (and one worker fewer) when there is nothing left."""
        with self.lock:
            if not self.stack or self.project is None:
                self.workers -= 1
                return None
            sample_id, sample = self.stack.popitem(last=True)
            self.in_flight.add(sample_id)
            return self.generation, self.project, sample, self.pixel_size


class _Relay(QObject):
    """Carries results from the worker threads to the loader (queued into the GUI thread)."""

    loaded = Signal(int, int, QImage)  # generation, sample id, image
    failed = Signal(int, int, str)  # generation, sample id, reason


class _Worker(QRunnable):
    def __init__(self, queue: _Queue, relay: _Relay):
        super().__init__()
        self.queue, self.relay = queue, relay

    def run(self) -> None:
        while (job := self.queue.take()) is not None:
            generation, project, sample, size = job
            try:
                image = make_thumbnail(project, sample, size)
            except Exception as exc:  # noqa: BLE001 - a worker must never die on one bad file
                self.relay.failed.emit(generation, sample.id, failure_reason(exc, project.image_path(sample)))
            else:
                self.relay.loaded.emit(generation, sample.id, image)


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
        self._relay.loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self._relay.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        # The pool's destructor waits for its workers: empty their queue before it runs.
        self.destroyed.connect(self._queue.close)

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
        """Queue ``sample`` unless it is cached, failed, or already queued (then it moves to the top)."""
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
            start = queue.workers < queue.max_workers
            if start:
                queue.workers += 1
        if start:
            self._pool.start(_Worker(queue, self._relay))

    def cached_count(self) -> int:
        return len(self._cache)

    def pending(self) -> int:
        with self._queue.lock:
            return len(self._queue.stack) + len(self._queue.in_flight)

    def shutdown(self, wait_ms: int = 2000) -> None:
        """Drop every pending request and wait for the images being read right now."""
        self.set_project(None)
        self._pool.waitForDone(wait_ms)

    @Slot(int, int, QImage)
    def _on_loaded(self, generation: int, sample_id: int, image: QImage) -> None:
        if not self._finish(generation, sample_id):
            return
        pixmap = QPixmap.fromImage(image)  # QPixmap only ever in the GUI thread
        if self._ratio != 1:
            pixmap.setDevicePixelRatio(self._ratio)
        self._cache[sample_id] = pixmap
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        self.ready.emit(sample_id, pixmap)

    @Slot(int, int, str)
    def _on_failed(self, generation: int, sample_id: int, reason: str) -> None:
        if self._finish(generation, sample_id):
            self._errors[sample_id] = reason
            self.failed.emit(sample_id, reason)

    def _finish(self, generation: int, sample_id: int) -> bool:
        with self._queue.lock:
            if generation != self._queue.generation:
                return False
            self._queue.in_flight.discard(sample_id)
            return True


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
