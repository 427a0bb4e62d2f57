"""Large images shown progressively: a screen-sized preview at once, the full resolution after.

A ``PreviewImage`` is a QImage with fewer pixels than the image it stands for (``full_shape``). The
canvas's image layer draws it stretched over the full extent, so scene coordinates stay image
pixels and the mask lines up, and swaps in the full-resolution QImage when the preview's
``Refinement`` is fulfilled, leaving zoom and pan alone.

A preview comes from a reduced JPEG decode (core.images.read_rgb_preview) or, for formats without
one (PNG, TIFF, ...), from ``PREVIEWS``: screen-sized JPEG copies of large images kept in memory,
made whenever such an image is decoded in full anyway (for its thumbnail, or a prefetch).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtGui import QGuiApplication, QImage

from ...core.images import fitted_size, read_rgb_preview

PREVIEW_MIN_PIXELS = 2048 * 2048  # smaller images decode in well under 100 ms: no preview needed
PREVIEW_CACHE_BYTES = 64 * 1024 * 1024  # ~300 previews of a 4096x4096 image on a 1920x1080 screen
PREVIEW_JPEG_QUALITY = 90
MIN_SCREEN = (1920, 1080)  # a window may be larger than a virtual (offscreen, VNC) screen
JPEG_SUFFIXES = {".jpg", ".jpeg"}

_screen: tuple[int, int] | None = None


def preview_target() -> tuple[int, int]:
    """The (width, height) in device pixels a preview must cover: the largest screen, at least
    MIN_SCREEN. Call on the GUI thread (the first call asks the screens; later ones reuse it)."""
    global _screen
    if _screen is None:
        sizes = [(round(s.size().width() * s.devicePixelRatio()), round(s.size().height() * s.devicePixelRatio()))
                 for s in QGuiApplication.screens()]
        _screen = (max([MIN_SCREEN[0], *(w for w, _ in sizes)]), max([MIN_SCREEN[1], *(h for _, h in sizes)]))
    return _screen


def known_preview_target() -> tuple[int, int] | None:
    """preview_target() once the GUI thread has asked for it (any thread), else None."""
    return _screen


def file_stamp(path: os.PathLike) -> tuple:
    """What identifies a file's content now, cheaply: ('none',) when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return ("none",)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def worth_a_preview(width: int, height: int) -> bool:
    return width * height >= PREVIEW_MIN_PIXELS


class Refinement:
    """The full-resolution image a preview waits for: fulfilled once, from any thread (None when
    it could not be made); ``announce`` then tells the listeners, on the GUI thread."""

    def __init__(self):
        self._future: Future = Future()
        self._listeners: list[Callable[[QImage], None]] = []

    def fulfil(self, image: QImage | None) -> bool:
        """Record the full image (or None: it failed); False when it was recorded before."""
        try:
            self._future.set_result(image)
        except InvalidStateError:  # a second decode finished later
            return False
        return True

    def done(self) -> bool:
        return self._future.done()

    def image(self, timeout_s: float = 0.0) -> QImage | None:
        """The full image, waiting up to ``timeout_s`` for it; None if not (yet) there."""
        try:
            return self._future.result(timeout=timeout_s)
        except FutureTimeout:
            return None

    def listen(self, callback: Callable[[QImage], None]) -> None:
        """Call ``callback(full)`` on announce (GUI thread); check ``image()`` first for one that
        has arrived already."""
        self._listeners.append(callback)

    def announce(self) -> None:
        """Tell the listeners (GUI thread); a failed refinement tells nobody."""
        listeners, self._listeners = self._listeners, []
        full = self.image()
        if full is not None:
            for callback in listeners:
                callback(full)


class PreviewImage(QImage):
    """An opaque RGB32 preview over ``array`` ((h, w, 4) uint8, B G R A), standing for an image of
    ``full_shape`` (H, W) until ``refinement`` brings the full resolution."""

    def __init__(self, array: np.ndarray, full_shape: tuple[int, int], refinement: Refinement):
        h, w = array.shape[:2]
        super().__init__(array.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        self._pixels = array  # keeps the memory alive as long as the image
        self.full_shape = tuple(full_shape)
        self.refinement = refinement

    def full(self) -> QImage | None:
        """The full-resolution image once it has arrived."""
        return self.refinement.image() if self.refinement.done() else None


def full_shape_of(image: QImage) -> tuple[int, int]:
    """The (H, W) an image stands for: a preview's full size, else its own."""
    return image.full_shape if isinstance(image, PreviewImage) else (image.height(), image.width())


def image_bytes(image: QImage | None) -> int:
    """Memory held by a layer image, a preview's full image included once it has arrived."""
    if image is None:
        return 0
    full = image.full() if isinstance(image, PreviewImage) else None
    return image.sizeInBytes() + (0 if full is None else full.sizeInBytes())


class PreviewCache:
    """Screen-sized JPEG copies of large images, by file (path and stamp); bounded by bytes, thread-safe."""

    def __init__(self, max_bytes: int = PREVIEW_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[np.ndarray, tuple[int, int]]] = OrderedDict()
        self._bytes = 0

    def has(self, path: os.PathLike, stamp: tuple) -> bool:
        with self._lock:
            return (str(path), stamp) in self._entries

    def get(self, path: os.PathLike, stamp: tuple) -> tuple[np.ndarray, tuple[int, int]] | None:
        """(RGB preview, full (width, height)), or None."""
        key = (str(path), stamp)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
        encoded, full_size = entry
        bgr = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        return (None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), full_size

    def put(self, path: os.PathLike, stamp: tuple, rgb: np.ndarray, screen: tuple[int, int]) -> np.ndarray:
        """Remember a preview of ``rgb`` (a full decode of the file with ``stamp``) and return it
        (RGB); ``rgb`` itself when it is too small to need one."""
        h, w = rgb.shape[:2]
        pw, ph = fitted_size((w, h), screen)
        if not worth_a_preview(w, h) or pw * ph * 2 > w * h:
            return rgb
        preview = cv2.resize(rgb, (pw, ph), interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(preview, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_JPEG_QUALITY])
        if ok and stamp != ("none",):
            self._store((str(path), stamp), (encoded, (w, h)))
        return preview

    def _store(self, key: tuple, entry: tuple[np.ndarray, tuple[int, int]]) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes -= 0 if old is None else old[0].nbytes
            self._entries[key] = entry
            self._bytes += entry[0].nbytes
            while self._bytes > self.max_bytes and self._entries:
                _, (encoded, _) = self._entries.popitem(last=False)
                self._bytes -= encoded.nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


PREVIEWS = PreviewCache()


def preview_likely(path: Path, stamp: tuple, width: int, height: int) -> bool:
    """Whether a first look at this image can skip its full decode: it is large, and a JPEG (reduced
    decode) or has a cached preview. Cheap enough for the GUI thread (no file is opened)."""
    return worth_a_preview(width, height) and (Path(path).suffix.lower() in JPEG_SUFFIXES
                                               or PREVIEWS.has(path, stamp))


def first_look(path: Path, stamp: tuple, screen: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]] | None:
    """(RGB, full (width, height)) for a first look: a cached preview, else a JPEG's reduced decode
    (its shape is the full size when no reduction fits the screen); None for the others."""
    cached = PREVIEWS.get(path, stamp)
    if cached is not None and cached[0] is not None:
        return cached
    if Path(path).suffix.lower() in JPEG_SUFFIXES:
        return read_rgb_preview(path, screen)
    return None
