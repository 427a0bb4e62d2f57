"""The page shown while no project is open: what the app is for, how to start, and why the last
project could not be opened."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomePage(QWidget):
    def __init__(self, title_text: str, buttons: list[tuple[str, Callable[[], None]]]):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel(title_text)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        hint = QLabel("Review Grad-CAM heatmaps and paint attention masks.\n"
                      "Open a project folder, make one from your images, or start with the demo project.")
        hint.setStyleSheet("color: palette(placeholder-text)")
        self.error_label = QLabel()
        self.error_label.setObjectName("welcome_error")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b; font-weight: bold")
        self.error_label.hide()
        for label in (title, hint, self.error_label):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        layout.addSpacing(16)
        for text, slot in buttons:
            button = QPushButton(text)
            button.setMinimumWidth(220)
            button.clicked.connect(slot)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def show_error(self, text: str | None) -> None:
        """Say why a project could not be opened (None: say nothing)."""
        self.error_label.setText(text or "")
        self.error_label.setVisible(bool(text))

    def error(self) -> str:
        return self.error_label.text()
