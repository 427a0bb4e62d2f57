"""A word-wrapped label that always gets the height its text needs at its current width.

A wrapped QLabel in a QFormLayout inside a QScrollArea is given the height of a guess made before its
width is known, so a long text shows only its middle lines, cut at both ends. This label asks for
``heightForWidth`` of the width it actually got, whenever its width or text changes.
"""

from __future__ import annotations

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel


class WrappingLabel(QLabel):
    def __init__(self, text: str = "", parent=None, **properties):
        super().__init__(text, parent, **properties)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        need = self.heightForWidth(self.width()) if self.text() else 0
        if need >= 0 and need != self.minimumHeight():
            self.setMinimumHeight(need)
