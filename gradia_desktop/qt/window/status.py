"""The main window's status bar: path, save state, why no heatmap shows, judgement, class, size, model,
read-only notice."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar

from ...core.assessment import Assessment
from ...core.records import Prediction, Sample, Version
from ..canvas.canvas_widget import Canvas
from .status_line import StatusLine

NO_MODEL = "no model yet"
JUDGEMENT_TEXT = {True: "reasonable", False: "unreasonable"}


class WindowStatus:
    """The labels the window adds to its status bar, and what each shows."""

    def __init__(self, bar: QStatusBar, canvas: Canvas):
        self.path_label = QLabel()
        self.path_label.setTextFormat(Qt.TextFormat.PlainText)
        self.judgement_label = QLabel()
        self.class_label = QLabel()
        self.size_label = QLabel()
        self.model_label = QLabel()
        self.heatmap_label = QLabel()  # why no heatmap shows, when one was asked for and failed
        self.heatmap_label.setTextFormat(Qt.TextFormat.PlainText)
        self.heatmap_label.setStyleSheet("color: #c0392b")
        self.heatmap_label.setMaximumWidth(420)
        self.heatmap_label.hide()
        self.readonly_label = QLabel("read-only")
        self.readonly_label.setStyleSheet("color: white; background: #c0392b; padding: 1px 6px;")
        self.readonly_label.setToolTip("The project folder cannot be written: masks and judgements are not saved")
        self.readonly_label.hide()
        self.status_line = StatusLine(canvas)
        bar.addWidget(self.path_label, 1)
        bar.addPermanentWidget(self.status_line)
        for label in (self.heatmap_label, self.judgement_label, self.class_label, self.size_label,
                      self.model_label, self.readonly_label):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    def show_project(self, root: Path | None, readonly: bool) -> None:
        self.readonly_label.setVisible(readonly)
        self.model_label.setToolTip("" if root is None else str(root))

    def show_sample(self, sample: Sample | None, model: str) -> None:
        """The sample's path, class and size (nothing when None) and the ``model_text`` for it."""
        if sample is None:
            for label in (self.path_label, self.class_label, self.size_label, self.judgement_label):
                label.clear()
        else:
            self.show_path(sample.path)
            self.class_label.setText(f"class: {sample.class_name}")
            self.size_label.setText(f"{sample.width} \u00d7 {sample.height} px")
        self.model_label.setText(model)

    def show_heatmap_problem(self, reason: str | None) -> None:
        """'no heatmap: <reason>' (elided; the whole reason as tooltip), or nothing."""
        text = "" if not reason else f"no heatmap: {reason}"
        metrics = self.heatmap_label.fontMetrics()
        self.heatmap_label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                      self.heatmap_label.maximumWidth() - 16))
        self.heatmap_label.setToolTip(text)
        self.heatmap_label.setVisible(bool(text))

    def heatmap_problem(self) -> str:
        return self.heatmap_label.toolTip()

    def show_path(self, text: str, problem: bool = False) -> None:
        self.path_label.setText(text)
        self.path_label.setStyleSheet("color: #c0392b" if problem else "")

    def show_judgement(self, row: Assessment | None, has_version: bool) -> None:
        """The expert's judgement of the sample, or the suggestion, or that it is not judged yet."""
        if row is None or row.reasonable is None:
            self.judgement_label.setText("not judged" if has_version else "")
            self.judgement_label.setStyleSheet("color: gray")
        elif row.source == "human":
            self.judgement_label.setText(f"judged {JUDGEMENT_TEXT[row.reasonable]} ({row.quadrant})")
            self.judgement_label.setStyleSheet("font-weight: bold")
        else:
            self.judgement_label.setText(f"suggested: {JUDGEMENT_TEXT[row.reasonable]}? ({row.quadrant})")
            self.judgement_label.setStyleSheet("color: gray; font-style: italic")


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
