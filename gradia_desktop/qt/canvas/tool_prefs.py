"""The mask tools' preferences, kept in QSettings: restored when a tool panel is made, saved on change.

Kept: the current tool, brush radius, heatmap and mask opacity and visibility, colormap, mask colour,
the threshold of "mask from heatmap", "snap to edges", the superpixel size, and click to mask's seed
from the heatmap and model files (paths: whether they still exist is checked when used). A value
that is missing or unusable (another version wrote it, or a hand edit) is skipped: the control keeps
its default.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor

from .canvas_widget import COLORMAPS, RADIUS_RANGE, TOOLS
from .superpixel_tool import SIZE_RANGE as SUPERPIXEL_SIZE_RANGE

GROUP = "tools"
THRESHOLD_RANGE = (0.01, 0.99)


def _number(lo: float, hi: float) -> Callable[[object], float | None]:
    def parse(value: object) -> float | None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if lo <= number <= hi else None
    return parse


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False, "1": True, "0": False}.get(str(value).lower())


def _choice(choices) -> Callable[[object], str | None]:
    return lambda value: value if isinstance(value, str) and value in choices else None


def _path(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _color(value: object) -> QColor | None:
    color = QColor(str(value)) if isinstance(value, str) else QColor()
    return color if color.isValid() else None


PARSERS: dict[str, Callable[[object], object]] = {
    "tool": _choice(TOOLS),
    "brush_radius": _number(*RADIUS_RANGE),
    "heatmap_opacity": _number(0, 100),
    "mask_opacity": _number(0, 100),
    "show_heatmap": _flag,
    "show_mask": _flag,
    "colormap": _choice(COLORMAPS),
    "mask_color": _color,
    "threshold": _number(*THRESHOLD_RANGE),
    "snap_to_edges": _flag,
    "superpixel_size": _number(*SUPERPIXEL_SIZE_RANGE),
    "seed_heatmap": _flag,
    "click_encoder": _path,
    "click_decoder": _path,
}


class ToolPrefs:
    """Reads and writes the ``tools/`` group of ``settings`` (default: the application's QSettings)."""

    def __init__(self, settings: QSettings | None = None):
        self._settings = settings

    def settings(self) -> QSettings:
        return self._settings if self._settings is not None else QSettings()

    def load(self) -> dict[str, object]:
        """The stored preferences that are usable, by name."""
        settings = self.settings()
        values = {}
        for name, parse in PARSERS.items():
            raw = settings.value(f"{GROUP}/{name}")
            value = None if raw is None else parse(raw)
            if value is not None:
                values[name] = value
        return values

    def save(self, name: str, value: object) -> None:
        if name not in PARSERS:
            raise KeyError(f"unknown tool preference {name!r}")
        if isinstance(value, QColor):
            value = value.name()
        self.settings().setValue(f"{GROUP}/{name}", value)

    def saver(self, name: str) -> Callable[..., None]:
        """A slot that saves its first argument as ``name``."""
        return lambda value, *_: self.save(name, value)
