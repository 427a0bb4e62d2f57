"""Colour swatches as icons: the mask colour button, and the layer switch (two swatches, the layer
being painted in front, hatched as the canvas draws "don't look here")."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap


def color_icon(color: QColor, size: int = 32) -> QIcon:
    """A rounded swatch of ``color`` with a thin outline."""
    return _icon(size, [(color, False, QRectF(size * 0.15, size * 0.15, size * 0.7, size * 0.7))])


def layer_icon(front: tuple[QColor, bool], back: tuple[QColor, bool], size: int = 32) -> QIcon:
    """Two overlapping swatches, (colour, hatched) each: ``front`` lower right over ``back``."""
    side = size * 0.62
    return _icon(size, [(*back, QRectF(size * 0.06, size * 0.06, side, side)),
                        (*front, QRectF(size * 0.32, size * 0.32, side, side))])


def _icon(size: int, swatches: list[tuple[QColor, bool, QRectF]]) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    for color, hatched, box in swatches:
        _swatch(p, color, hatched, box, size)
    p.end()
    return QIcon(pixmap)


def _swatch(p: QPainter, color: QColor, hatched: bool, box: QRectF, size: int) -> None:
    """A rounded swatch; ``hatched``: pale, with diagonal stripes."""
    outline = QPainterPath()
    outline.addRoundedRect(box, size * 0.12, size * 0.12)
    if hatched:
        p.fillPath(outline, QColor(255, 255, 255))  # the swatch behind does not show through
        p.fillPath(outline, QColor(color.red(), color.green(), color.blue(), 90))
        p.save()
        p.setClipPath(outline)
        p.setPen(QPen(color, size / 10))
        step, side = size / 5, box.height()
        for i in range(-5, 6):
            x = box.left() + i * step
            p.drawLine(QPointF(x, box.bottom()), QPointF(x + side, box.top()))
        p.restore()
    else:
        p.fillPath(outline, color)
    p.setPen(QPen(QColor(0, 0, 0, 140), size / 16))
    p.drawPath(outline)
