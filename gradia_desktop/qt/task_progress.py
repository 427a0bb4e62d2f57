"""A modal progress dialog that core and training tasks report to through their ``progress`` callback.

Shared by every room of the GUI (the window's project dialogs, the Training dock's weights download).
"""

from __future__ import annotations

from typing import Callable, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

from ..core.progress import Progress
from ..errors import Cancelled

T = TypeVar("T")


class _DialogProgress:
    """A core ``Progress`` callback that drives a QProgressDialog and raises Cancelled on Cancel."""

    def __init__(self, dialog: QProgressDialog):
        self._dialog = dialog

    def __call__(self, stage: str, done: int, total: int) -> None:
        dialog = self._dialog
        dialog.setLabelText(stage[:1].upper() + stage[1:] + "\u2026")
        dialog.setMaximum(max(total, 1))
        dialog.setValue(min(done, max(total, 1)))
        # Core tasks run on this (the GUI) thread and call back often; let Qt paint and see Cancel.
        QApplication.processEvents()
        if dialog.wasCanceled():
            raise Cancelled("cancelled")


def run_with_progress(parent: QWidget | None, title: str, task: Callable[[Progress], T]) -> T:
    """Run ``task(progress)`` on the GUI thread behind a modal dialog (shown on its first report).

    Cancelling raises ``Cancelled`` out of the task; core tasks build their output in a staging
    folder, so nothing partial is left behind.
    """
    dialog = QProgressDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoReset(False)
    dialog.setAutoClose(False)
    dialog.setMinimumWidth(380)
    try:
        return task(_DialogProgress(dialog))
    finally:
        dialog.close()
        dialog.deleteLater()
