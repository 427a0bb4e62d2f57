"""A notice over the canvas saying why there is nothing to see or to edit (an image that cannot be
loaded, a mask that cannot be read): in the middle of an empty canvas, along the top over an image."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

MARGIN = 12


class ProblemBanner(QLabel):
    """Lives on ``viewport`` and follows its size; hidden while there is nothing to say."""

    def __init__(self, viewport: QWidget):
        super().__init__(viewport)
        self.setObjectName("canvas_problem")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # panning and the cursor go on
        self.setStyleSheet("color: white; background: rgba(160, 40, 30, 215); border-radius: 4px; padding: 8px;")
        self._centred = True
        viewport.installEventFilter(self)
        self.hide()

    def show_text(self, text: str | None, centred: bool) -> None:
        """Show ``text`` (None hides the banner), centred on an empty canvas or along the top."""
        self._centred = centred
        self.setText(text or "")
        self.setToolTip(text or "")
        self.setVisible(bool(text))
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        if not self.isVisibleTo(self.parentWidget()):
            return
        area = self.parentWidget().rect()
        width = max(120, min(area.width() - 2 * MARGIN, 720))
        height = self.heightForWidth(width)
        x = (area.width() - width) // 2
        y = (area.height() - height) // 2 if self._centred else MARGIN
        self.setGeometry(x, max(0, y), width, height)
