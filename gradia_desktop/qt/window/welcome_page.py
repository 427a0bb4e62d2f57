"""The page shown while no project is open: what the app is for, and how to start."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


def welcome_page(title_text: str, buttons: list[tuple[str, Callable[[], None]]]) -> QWidget:
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.addStretch(1)
    title = QLabel(title_text)
    font = title.font()
    font.setPointSizeF(font.pointSizeF() * 1.8)
    font.setBold(True)
    title.setFont(font)
    hint = QLabel("Review Grad-CAM heatmaps and paint attention masks.\n"
                  "Open a project folder, make one from your images, or start with the demo project.")
    hint.setStyleSheet("color: palette(placeholder-text)")
    for label in (title, hint):
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)
    layout.addSpacing(16)
    for text, slot in buttons:
        button = QPushButton(text)
        button.setMinimumWidth(220)
        button.clicked.connect(slot)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
    layout.addStretch(2)
    return page
