"""Render the application icon's PNG sizes from its SVG (run after changing the SVG; the PNGs are
committed): python packaging/render_icons.py"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gradia_desktop.core.desktop_integration import ICON_SIZES, icon_png, icon_svg  # noqa: E402


def main() -> None:
    app = QGuiApplication.instance() or QGuiApplication(["render_icons", "-platform", "offscreen"])
    renderer = QSvgRenderer(str(icon_svg()))
    if not renderer.isValid():
        raise SystemExit(f"{icon_svg()}: not a valid SVG")
    for size in ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        if not image.save(str(icon_png(size))):
            raise SystemExit(f"{icon_png(size)}: cannot write")
        print(icon_png(size))
    del app


if __name__ == "__main__":
    main()
