"""Click to mask off the GUI thread: one worker thread cuts out the clicks in order, the GUI thread
applies each result to the mask if the mask is still as that click found it.

A click on a large photograph costs up to a second of GrabCut; the window keeps painting and
answering meanwhile. Clicks made while one is being cut out queue behind it, so they refine one
another as they would one at a time. A result that arrives after the mask changed another way
(another tool, undo, another sample) is dropped, and the next click starts anew.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...core.click_segmentation import ClickSession
from ...core.mask_edit import MaskEditor

BACKGROUND_PIXELS = 1024 * 1024  # images from this size up are cut out on the worker thread


class ClickWorker(QObject):
    """Runs ``ClickSession.click`` on one worker thread and hands each mask back on the GUI thread."""

    _done = Signal(object)  # (editor, before, after, apply) from the worker thread

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="click-to-mask")
        self._pending = 0
        self._done.connect(self._deliver)

    def pending(self) -> int:
        """Clicks submitted and not yet applied or dropped."""
        return self._pending

    def submit(self, editor: MaskEditor, session: ClickSession, x: float, y: float, positive: bool,
               apply: Callable[[MaskEditor, np.ndarray], None]) -> None:
        """Cut out one more click of ``session`` in the background; ``apply(editor, mask)`` follows on the
        GUI thread if ``editor``'s mask is then still what the session had before this click."""
        self._pending += 1

        def work() -> None:
            before = session.result if session.result is not None else session.base
            try:
                after = session.click(x, y, positive)
            except Exception:  # noqa: BLE001 - a failed cut leaves the mask as it was
                after = None
            self._done.emit((editor, before, after, apply))

        self._pool.submit(work)

    def _deliver(self, result: tuple) -> None:
        self._pending -= 1
        editor, before, after, apply = result
        if after is not None and np.array_equal(editor.mask, before):
            apply(editor, after)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
