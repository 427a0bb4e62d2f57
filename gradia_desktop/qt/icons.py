"""Icons from the bundled Material Design Icons (gradia_desktop/resources/icons/mdi), drawn in the
palette's colours so they read on light and dark themes.

An icon is one MDI glyph, optionally with a second one as a badge in its bottom-right corner (the
erase variants of the tools carry a minus badge: MDI has no "-off" glyph for fill, wand or lasso).
The glyphs are single black paths; they are rendered as an alpha mask and then painted in the
colour of each QIcon mode: normal, disabled and selected (a highlighted menu item).
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

MDI_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons" / "mdi"
PIXMAP_SIZES = (16, 20, 24, 32, 40, 48)  # 40 and 48: the toolbar's 20 px on a 2x screen, and menus
BADGE_SCALE = 0.5  # of the icon's side
BADGE_HALO = 0.07  # the clear ring that keeps the badge apart from the glyph under it


def icon_path(name: str) -> Path:
    """The SVG file of the MDI glyph ``name`` (e.g. "brush"); it may be missing in a broken install."""
    return MDI_DIR / f"{name}.svg"


def _render(painter: QPainter, name: str, box: QRectF) -> None:
    """Draw glyph ``name`` into ``box``; nothing when its file is missing."""
    path = icon_path(name)
    if path.is_file():
        QSvgRenderer(str(path)).render(painter, box)  # parsed per call: the icons built are cached


def glyph_mask(name: str, size: int, badge: str | None = None) -> QImage:
    """The glyph (and badge) as a ``size`` x ``size`` image whose alpha is the shape; empty when the
    file is missing."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    _render(painter, name, QRectF(0, 0, size, size))
    if badge is not None:
        _draw_badge(painter, badge, size)
    painter.end()
    return image


def _draw_badge(painter: QPainter, badge: str, size: int) -> None:
    side = size * BADGE_SCALE
    box = QRectF(size - side, size - side, side, side)
    halo = size * BADGE_HALO
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(Qt.GlobalColor.black)
    painter.drawEllipse(box.adjusted(-halo, -halo, halo, halo))
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    _render(painter, badge, box)


def tinted(mask: QImage, colour: QColor) -> QPixmap:
    """``mask``'s shape filled with ``colour``."""
    image = mask.copy()
    painter = QPainter(image)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(image.rect(), colour)
    painter.end()
    return QPixmap.fromImage(image)


def mode_colours(palette: QPalette) -> dict[QIcon.Mode, QColor]:
    """The colour of each icon mode: the text colours of the window, disabled text and highlight."""
    return {
        QIcon.Mode.Normal: palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText),
        QIcon.Mode.Disabled: palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText),
        QIcon.Mode.Selected: palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.HighlightedText),
    }


def mdi_icon(name: str, badge: str | None = None, palette: QPalette | None = None) -> QIcon:
    """The MDI glyph ``name`` (with ``badge`` in its corner) in ``palette``'s colours (default: the
    application's). A null icon when the glyph's file is missing."""
    palette = palette if palette is not None else QApplication.palette()
    colours = tuple((mode, colour.rgba()) for mode, colour in mode_colours(palette).items())
    return QIcon(_cached_icon(name, badge, colours))  # a copy: a caller's changes stay its own


@functools.cache
def _cached_icon(name: str, badge: str | None, colours: tuple[tuple[QIcon.Mode, int], ...]) -> QIcon:
    icon = QIcon()
    if not icon_path(name).is_file():
        return icon
    for size in PIXMAP_SIZES:
        mask = glyph_mask(name, size, badge)
        for mode, rgba in colours:
            icon.addPixmap(tinted(mask, QColor.fromRgba(rgba)), mode)
    return icon
