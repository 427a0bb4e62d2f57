"""Click to mask off the GUI thread: one worker thread runs the steps (clicks, boxes, a learned model's
image embedding) in order, the GUI thread applies each result to the mask if the mask is still as
that step found it.

A click on a large photograph costs up to a second of GrabCut, and a learned model's embedding
seconds; the window keeps painting and answering meanwhile. Steps made while one runs queue behind
it, so they refine one another as they would one at a time. A result that arrives after the mask
changed another way (another tool, undo, another sample) is dropped, and the next click starts anew.
A step that fails leaves the mask as it was and says why (``failed``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...core.mask_edit import MaskEditor
from ...errors import GradiaError

BACKGROUND_PIXELS = 1024 * 1024  # images from this size up are cut out on the worker thread


def failure_text(error: Exception) -> str:
    """One line for the status bar about a click that failed."""
    if isinstance(error, GradiaError):
        return str(error)
    detail = (str(error).strip().splitlines() or [""])[0][:200]
    return f"Click to mask failed: {type(error).__name__}{': ' + detail if detail else ''}"


class ClickWorker(QObject):
    """Runs click-to-mask steps on one worker thread and hands each mask back on the GUI thread."""

    failed = Signal(str)  # one line: why a step left the mask unchanged
    _done = Signal(object)  # (editor, before, after, apply, error) from the worker thread

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="click-to-mask")
        self._pending = 0
        self._done.connect(self._deliver)

    def pending(self) -> int:
        """Steps submitted and not yet applied or dropped."""
        return self._pending

    def submit(self, editor: MaskEditor, session, step: Callable[[], np.ndarray],
               apply: Callable[[MaskEditor, np.ndarray], None]) -> None:
        """Run ``step`` (one more click or box of ``session``) in the background; ``apply(editor, mask)``
        follows on the GUI thread if ``editor``'s mask is then still what the session had before it."""
        self._pending += 1

        def work() -> None:
            before = session.result if session.result is not None else session.base
            after, error = None, None
            try:
                after = step()
            except Exception as e:  # noqa: BLE001 - reported on the GUI thread; the mask stays as it was
                error = e
            self._done.emit((editor, before, after, apply, error))

        self._pool.submit(work)

    def run(self, job: Callable[[], object]) -> Future:
        """Run ``job`` on the worker thread, in order with the steps (e.g. an image embedding the next
        clicks need)."""
        return self._pool.submit(job)

    def _deliver(self, result: tuple) -> None:
        self._pending -= 1
        editor, before, after, apply, error = result
        if error is not None:
            self.failed.emit(failure_text(error))
        elif after is not None and np.array_equal(editor.mask, before):
            apply(editor, after)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
