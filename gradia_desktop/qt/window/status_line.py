"""The status bar's live part: cursor position and value, zoom, mask coverage, that the tools paint
"don't look here" (while they do), save state."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ...core.layered_mask_edit import AVOID
from ..canvas.canvas_widget import Canvas
from ..canvas.layer_switch import LAYER_KEY, LAYER_LABELS, LAYERS_EXPLAINED
from ..canvas.mask_overlay import AVOID_COLOR


class StatusLine(QWidget):
    def __init__(self, canvas: Canvas, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = canvas
        self.cursor_label = QLabel()
        self.zoom_label = QLabel()
        self.coverage_label = QLabel()
        self.layer_label = QLabel()
        self.save_label = QLabel("saved")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label in (self.cursor_label, self.zoom_label, self.coverage_label, self.layer_label, self.save_label):
            label.setContentsMargins(6, 0, 6, 0)
            layout.addWidget(label)
        canvas.cursor_moved.connect(self.show_cursor)
        canvas.zoom_changed.connect(lambda zoom: self.zoom_label.setText(f"{zoom:.0%}"))
        canvas.mask_edited.connect(lambda _v: self.show_coverage())
        canvas.editor_changed.connect(self.show_coverage)
        canvas.mask_layer_changed.connect(self.show_layer)
        self.show_layer(canvas.mask_layer())

    def show_cursor(self, info: dict | None) -> None:
        if not info:
            self.cursor_label.clear()
            return
        r, g, b = info["rgb"]
        mark = "avoid" if info.get("avoid") else int(bool(info["mask"]))
        text = f"x {info['x']} y {info['y']}  RGB {r},{g},{b}  mask {mark}"
        if info.get("cam") is not None:
            text += f"  CAM {info['cam']:.2f}"
        self.cursor_label.setText(text)

    def show_coverage(self) -> None:
        editor = self.canvas.editor()
        text = "" if editor is None else f"mask {editor.coverage:.1%}"
        if editor is not None and not editor.avoid_empty:
            text += f" \u00b7 avoid {editor.avoid_coverage:.1%}"
        self.coverage_label.setText(text)

    def show_layer(self, layer: str) -> None:
        """Say, in its colour, that the tools paint "don't look here"; nothing while they paint the mask
        as always (the tool bar's layer switch shows both; a full status bar has no room to spare)."""
        self.layer_label.setText(f"painting: {LAYER_LABELS[AVOID].lower()}")
        self.layer_label.setStyleSheet(f"color: {AVOID_COLOR.name()}; font-weight: bold")
        self.layer_label.setToolTip(f"{LAYER_KEY} switches the layer the tools paint. {LAYERS_EXPLAINED}")
        self.layer_label.setVisible(layer == AVOID)

    def set_save_state(self, text: str, tooltip: str = "") -> None:
        self.save_label.setText(text)
        self.save_label.setToolTip(tooltip)
        self.save_label.setStyleSheet("color: #c0392b" if text == "not saved" else "")
