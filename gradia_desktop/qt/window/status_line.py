"""The status bar's live part: cursor position and value, zoom, mask coverage, save state."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ..canvas.canvas_widget import Canvas


class StatusLine(QWidget):
    def __init__(self, canvas: Canvas, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = canvas
        self.cursor_label = QLabel()
        self.zoom_label = QLabel()
        self.coverage_label = QLabel()
        self.save_label = QLabel("saved")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label in (self.cursor_label, self.zoom_label, self.coverage_label, self.save_label):
            label.setContentsMargins(6, 0, 6, 0)
            layout.addWidget(label)
        canvas.cursor_moved.connect(self.show_cursor)
        canvas.zoom_changed.connect(lambda zoom: self.zoom_label.setText(f"{zoom:.0%}"))
        canvas.mask_edited.connect(lambda _v: self.show_coverage())
        canvas.editor_changed.connect(self.show_coverage)

    def show_cursor(self, info: dict | None) -> None:
        if not info:
            self.cursor_label.clear()
            return
        r, g, b = info["rgb"]
        text = f"x {info['x']} y {info['y']}  RGB {r},{g},{b}  mask {int(bool(info['mask']))}"
        if info.get("cam") is not None:
            text += f"  CAM {info['cam']:.2f}"
        self.cursor_label.setText(text)

    def show_coverage(self) -> None:
        editor = self.canvas.editor()
        self.coverage_label.setText("" if editor is None else f"mask {editor.coverage:.1%}")

    def set_save_state(self, text: str, tooltip: str = "") -> None:
        self.save_label.setText(text)
        self.save_label.setToolTip(tooltip)
        self.save_label.setStyleSheet("color: #c0392b" if text == "not saved" else "")
