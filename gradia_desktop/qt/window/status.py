"""The main window's status bar: path, save state, judgement, class, size, model, read-only notice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from ...core.records import Prediction, Sample, Version
from .status_line import StatusLine

if TYPE_CHECKING:
    from .main_window import MainWindow

NO_MODEL = "no model yet"


def build_status_bar(w: MainWindow) -> None:
    w.path_label = QLabel()
    w.path_label.setTextFormat(Qt.TextFormat.PlainText)
    w.judgement_label = QLabel()
    w.class_label = QLabel()
    w.size_label = QLabel()
    w.model_label = QLabel()
    w.readonly_label = QLabel("read-only")
    w.readonly_label.setStyleSheet("color: white; background: #c0392b; padding: 1px 6px;")
    w.readonly_label.setToolTip("The project folder cannot be written: masks and judgements are not saved")
    w.readonly_label.hide()
    w.status_line = StatusLine(w.canvas)
    bar = w.statusBar()
    bar.addWidget(w.path_label, 1)
    bar.addPermanentWidget(w.status_line)
    for label in (w.judgement_label, w.class_label, w.size_label, w.model_label, w.readonly_label):
        label.setContentsMargins(8, 0, 8, 0)
        bar.addPermanentWidget(label)


def model_text(has_project: bool, version: Version | None, classes: list[str], sample: Sample | None,
               prediction: Prediction | None) -> str:
    """'model v2 · predicts cross (97%)', or why there is nothing to say."""
    if version is None:
        return NO_MODEL if has_project else ""
    text = f"model {version.name}"
    if prediction is not None:
        name = classes[prediction.pred] if 0 <= prediction.pred < len(classes) else str(prediction.pred)
        text += f" \u00b7 predicts {name} ({prediction.confidence:.0%})"
    elif sample is not None:
        text += " \u00b7 no prediction for this sample"
    return text
