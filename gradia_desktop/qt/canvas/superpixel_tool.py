"""The superpixel tool (S) and the brush's "snap to edges", over the shown image's superpixels
(core/superpixels.py): computed once per image and size, and kept until either changes.

From a megapixel up they are computed on a worker thread, so the window keeps painting. A click made
meanwhile waits in a queue and is applied, in order, when they arrive, each click one undo step; it
goes only to the layer it was made on (another sample or layer drops it), and never into an open
stroke, which it would split (the stroke's end applies it). A snapped stroke that ends before they
are ready waits for them: once per image, at most the half second a 12 MP photograph takes.
"""

from __future__ import annotations

import weakref
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...core.mask_edit import MaskEditor
from ...core.superpixels import region_at, superpixels
from .click_worker import BACKGROUND_PIXELS

DEFAULT_SIZE = 16
SIZE_RANGE = (4, 256)  # image pixels across one superpixel
SNAPPED_TOOLS = ("brush", "eraser")


class SuperpixelTool(QObject):
    """Drives a ``CanvasSurface`` (interaction.py): ``click`` adds or removes the superpixel under a
    point, ``snap_labels`` gives a stroke ending now the labels to snap to (None: snapping is off)."""

    _done = Signal(object)  # (token, labels or None) from the worker thread

    def __init__(self, surface, parent: QObject | None = None):
        super().__init__(parent)
        self._surface = surface
        self.size = DEFAULT_SIZE
        self.snap_to_edges = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="superpixels")
        self._image: weakref.ref | None = None  # the image the labels are (being) computed for
        self._image_size: int | None = None
        self._labels: np.ndarray | None = None
        self._token: object | None = None  # of the computation on the worker not yet delivered
        self._future: Future | None = None
        self._clicks: list[tuple[MaskEditor, float, float, bool]] = []
        self._done.connect(self._deliver)

    def set_size(self, size: int) -> None:
        self.size = min(max(int(size), SIZE_RANGE[0]), SIZE_RANGE[1])
        self.prefetch()

    def set_snap_to_edges(self, on: bool) -> None:
        self.snap_to_edges = bool(on)
        self.prefetch()

    def prefetch(self, *_args: object) -> None:
        """Start on the shown image's superpixels if the tool in use will want them."""
        tool = self._surface.tool()
        if tool == "superpixel" or (self.snap_to_edges and tool in SNAPPED_TOOLS):
            self.labels()

    # ---- the labels ---------------------------------------------------------------------------
    def labels(self) -> np.ndarray | None:
        """The shown image's superpixels when ready; otherwise None, and they are on their way."""
        image = self._surface.image()
        if image is None:
            return None
        if self._image is None or self._image() is not image or self._image_size != self.size:
            self._compute(image)
        return self._labels

    def _compute(self, image: np.ndarray) -> None:
        if self._image is None or self._image() is not image:
            self._clicks.clear()
        self._image, self._image_size, self._labels = weakref.ref(image), self.size, None
        if image.shape[0] * image.shape[1] < BACKGROUND_PIXELS:
            self._token, self._future = None, None
            self._labels = superpixels(image, self.size)
            return
        token, size = object(), self.size
        self._token = token

        def work() -> np.ndarray | None:
            labels = None
            if token is self._token:  # not overtaken by the next image while it waited
                try:
                    labels = superpixels(image, size)
                except Exception:  # noqa: BLE001 - no superpixels: the clicks waiting for them are dropped
                    labels = None
            self._done.emit((token, labels))
            return labels

        self._future = self._pool.submit(work)

    def _deliver(self, result: tuple[object, np.ndarray | None]) -> None:
        token, labels = result
        if token is not self._token:
            return
        self._token, self._future, self._labels = None, None, labels
        if labels is None:
            self._image = None  # the next request tries again
            self._clicks.clear()
        self.apply_clicks()

    def snap_labels(self) -> np.ndarray | None:
        """The labels a stroke ending now snaps to, waited for if they are on their way; None when
        snapping is off."""
        if not self.snap_to_edges:
            return None
        labels = self.labels()
        if labels is None and self._future is not None:
            token = self._token
            self._deliver((token, self._future.result()))
        return self._labels

    # ---- clicks -------------------------------------------------------------------------------
    def click(self, x: float, y: float, add: bool) -> None:
        """Add (``add``) or remove the superpixel under image point (x, y) (pixel centres on integers)
        on the active layer: one undo step, now or when the superpixels are ready."""
        editor = self._surface.editor()
        if editor is None:
            return
        labels = self.labels()  # first: a new image empties the queue
        self._clicks.append((editor.active, x, y, add))
        if labels is not None:
            self.apply_clicks()

    def apply_clicks(self) -> None:
        """Apply the clicks waiting, if the superpixels are ready and no stroke is open."""
        editor = self._surface.editor()
        if not self._clicks or self._labels is None or editor is None or editor.stroke_open:
            return
        clicks, self._clicks = self._clicks, []
        if self._surface.is_read_only():
            return
        for layer, x, y, add in clicks:
            if editor.active is layer:
                rect = editor.fill_region(region_at(self._labels, x, y), add)
                if rect is not None:
                    self._surface.repaint_mask(rect)
                    self._surface.commit_edit()

    def pending(self) -> int:
        """Clicks waiting for the superpixels."""
        return len(self._clicks)
