"""Small helpers shared by the Qt tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QMainWindow

from gradia_desktop.qt.canvas.canvas_widget import Canvas
from gradia_desktop.qt.canvas.tool_panel import ToolPanel


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    data = Path(path).read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def pixmap_rgb(pixmap: QPixmap) -> np.ndarray:
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    return qimage_array(image, 3)


def qimage_array(image: QImage, channels: int) -> np.ndarray:
    h, w = image.height(), image.width()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return rows[:, : w * channels].reshape(h, w, channels).copy()


def open_main_window(qtbot, project_dir: Path, size: tuple[int, int] = (1000, 700)):
    """The real main window on ``project_dir``, shown and exposed; qtbot closes it after the test."""
    from gradia_desktop.core.store import Project
    from gradia_desktop.qt.window.main_window import MainWindow

    window = MainWindow(Project.open(project_dir))
    qtbot.addWidget(window)
    window.resize(*size)
    with qtbot.waitExposed(window):
        window.show()
    return window


def tool_window(qtbot) -> tuple[QMainWindow, Canvas, ToolPanel]:
    """A main window with a canvas and its tool bar for the classes disc and cross (not shown yet)."""
    window = QMainWindow()
    canvas = Canvas()
    window.setCentralWidget(canvas)
    panel = ToolPanel(canvas, ["disc", "cross"], window)
    window.addToolBar(panel)
    qtbot.addWidget(window)
    return window, canvas, panel
