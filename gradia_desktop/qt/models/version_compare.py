"""Two model versions side by side: their Reasonability Matrices, their metrics, and one image's heatmaps.

The dialog computes nothing: the host passes ``matrix_for(version_id, split)`` and
``heatmap_for(version_id)`` (an RGB uint8 image, already blended; or why there is none, one line; or None).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.records import SPLITS, Version
from ...errors import GradiaError
from .matrix_view import BAD, GOOD, MatrixView
from .versions_panel import fmt, metric, mode_text

COMPARE_SPLITS = (*SPLITS, "all")
# (summary key, row label, higher is better)
METRICS = (("accuracy", "accuracy", True), ("iou", "IoU", True), ("energy", "energy", True),
           ("pointing", "pointing", True))
# The shortcut probe's figures: only val and test are probed, and only versions trained since carry them.
PROBE_METRICS = (("counterfactual_accuracy", "CF accuracy", True), ("shortcut_reliance", "shortcut reliance", False))
PROBE_SPLITS = ("val", "test")
# Deletion / insertion AUC: only where `gradia eval --faithfulness` measured them.
FAITHFULNESS_METRICS = (("deletion_auc", "deletion AUC", False), ("insertion_auc", "insertion AUC", True))
HEATMAP_SIZE = 240

MatrixFor = Callable[[int, str], "dict | None"]
HeatmapFor = Callable[[int], "np.ndarray | str | None"]


def rgb_pixmap(image: np.ndarray) -> QPixmap:
    """An HxWx3 uint8 array as a pixmap (copied)."""
    image = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    h, w = image.shape[:2]
    return QPixmap.fromImage(QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


class ImageLabel(QLabel):
    """A pixmap scaled to the label's size (aspect kept), so the image never dictates the dialog's size."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, alignment=Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)  # "no heatmap: <reason>"
        self._source = QPixmap()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFrameShape(QLabel.Shape.StyledPanel)

    def set_image(self, pixmap: QPixmap | None, text: str = "") -> None:
        self._source = pixmap if pixmap is not None else QPixmap()
        if self._source.isNull():
            self.setText(text)  # replaces any pixmap
        else:
            self._rescale()

    def source(self) -> QPixmap:
        return self._source

    def sizeHint(self) -> QSize:
        return QSize(HEATMAP_SIZE, HEATMAP_SIZE)

    def minimumSizeHint(self) -> QSize:
        return QSize(96, 96)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._source.isNull():
            return
        room = self.contentsRect().size()
        self.setPixmap(self._source.scaled(room, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))


class VersionCompareDialog(QDialog):
    """``older`` and ``newer`` side by side; the newer matrix shows its change from the older.

    ``quadrant_clicked(version_id, quadrant)`` passes on a click in either matrix.
    """

    quadrant_clicked = Signal(int, str)

    def __init__(self, older: Version, newer: Version, matrix_for: MatrixFor, heatmap_for: HeatmapFor | None = None,
                 split: str = "val", image_caption: str = "", parent: QWidget | None = None,
                 method_label: str = "Grad-CAM"):
        super().__init__(parent)
        self.older, self.newer = older, newer
        self._method_label = method_label
        self._matrix_for, self._heatmap_for = matrix_for, heatmap_for
        self.setWindowTitle(f"Compare {older.name} and {newer.name}")
        self.split_combo = QComboBox(toolTip="Which samples the matrices count")
        for s in COMPARE_SPLITS:
            self.split_combo.addItem("all splits" if s == "all" else s, s)
        self.split_combo.setCurrentIndex(max(0, self.split_combo.findData(split)))
        self.split_combo.currentIndexChanged.connect(lambda _i: self.refresh_matrices())
        split_row = QHBoxLayout()
        split_label = QLabel("&Split:")
        split_label.setBuddy(self.split_combo)
        split_row.addWidget(split_label)
        split_row.addWidget(self.split_combo)
        split_row.addStretch(1)

        self.matrices = {older.id: MatrixView(), newer.id: MatrixView()}
        matrices = QHBoxLayout()
        for vid, view in self.matrices.items():
            view.quadrant_clicked.connect(lambda q, vid=vid: self.quadrant_clicked.emit(vid, q))
            matrices.addWidget(view, 1)

        self.metrics_table = self._build_metrics()
        self.heatmaps: dict[int, ImageLabel] = {}
        heat_box = QWidget()
        heat_grid = QGridLayout(heat_box)
        heat_grid.setContentsMargins(0, 0, 0, 0)
        self.image_caption = QLabel(image_caption)
        self.image_caption.setWordWrap(False)  # a wrapped label would make the row rigid (height-for-width)
        heat_grid.addWidget(self.image_caption, 0, 0, 1, 2)
        for column, v in enumerate((older, newer)):
            label = ImageLabel()
            self.heatmaps[v.id] = label
            heat_grid.addWidget(label, 1, column)
            heat_grid.addWidget(QLabel(f"{v.name} \u00b7 {mode_text(v)}", alignment=Qt.AlignmentFlag.AlignCenter),
                                2, column)
        bottom = QHBoxLayout()
        bottom.addWidget(self.metrics_table, 2)
        bottom.addWidget(heat_box, 3)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(split_row)
        layout.addLayout(matrices, 3)
        layout.addLayout(bottom, 2)
        layout.addWidget(buttons)
        self.resize(960, 820)
        self.refresh_matrices()
        self.refresh_heatmaps()

    # ---- API ------------------------------------------------------------------------------------
    def split(self) -> str:
        return self.split_combo.currentData()

    def set_split(self, split: str) -> None:
        self.split_combo.setCurrentIndex(self.split_combo.findData(split))

    def refresh_matrices(self) -> None:
        """Ask ``matrix_for`` again for both versions at the chosen split."""
        split = self.split()
        where = "all splits" if split == "all" else f"the {split} split"
        previous = None
        for v in (self.older, self.newer):
            view = self.matrices[v.id]
            try:
                m = self._matrix_for(v.id, split)
                view.set_empty_text(f"{v.name} has no predictions on {where}.")
            except GradiaError as exc:
                m = None
                view.set_empty_text(f"{v.name}: {exc}")
            title = f"{v.name} \u00b7 {mode_text(v)} \u00b7 {'all splits' if split == 'all' else split}"
            if v is self.newer and previous is not None:
                title += f" \u00b7 \u2191\u2193 vs {self.older.name}"
            view.set_matrix(m, previous if v is self.newer else None, title)
            previous = m

    def refresh_heatmaps(self, image_caption: str | None = None) -> None:
        """Ask ``heatmap_for`` again (e.g. after the current image changed)."""
        if image_caption is not None:
            self.image_caption.setText(image_caption)
        for v in (self.older, self.newer):
            label = self.heatmaps[v.id]
            image = self._heatmap_for(v.id) if self._heatmap_for is not None else None
            if image is None or isinstance(image, str):
                label.set_image(None, "no heatmap" if not image else f"no heatmap: {image}")
                label.setToolTip(image or "")
            else:
                label.set_image(rgb_pixmap(image))
                label.setToolTip(f"{v.name}: {self._method_label} of the predicted class")

    # ---- internals ------------------------------------------------------------------------------
    def _metric_rows(self) -> list[tuple[str, str, str, bool]]:
        """(split, key, label, higher is better) per table row; probe rows where either version was probed."""
        rows = []
        for split in SPLITS:
            rows += [(split, key, name, higher) for key, name, higher in METRICS]
            if split in PROBE_SPLITS and any(metric(v, split, "counterfactual_accuracy") is not None
                                             for v in (self.older, self.newer)):
                rows += [(split, key, name, higher) for key, name, higher in PROBE_METRICS]
            if any(metric(v, split, "deletion_auc") is not None for v in (self.older, self.newer)):
                rows += [(split, key, name, higher) for key, name, higher in FAITHFULNESS_METRICS]
        return rows

    def _build_metrics(self) -> QTableWidget:
        rows = self._metric_rows()
        table = QTableWidget(len(rows), 3)
        table.setHorizontalHeaderLabels([self.older.name, self.newer.name, "change"])
        table.setVerticalHeaderLabels([f"{split} {name}" for split, _, name, _ in rows])
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setToolTip("Accuracy, and attention quality on the masked images: IoU at CAM > 0.75, energy share "
                         "inside the mask, pointing game. CF accuracy: on the masked images with another class's "
                         "background; shortcut reliance: the accuracy that swap costs. Deletion / insertion AUC: the "
                         "predicted class's probability as the hottest pixels are blurred away / put back. Higher "
                         "is better for all but shortcut reliance and deletion AUC.")
        for row, (split, key, _, higher_is_better) in enumerate(rows):
            a, b = metric(self.older, split, key), metric(self.newer, split, key)
            change = None if a is None or b is None else b - a
            if change is None:
                change_text = "\u2013"
            else:
                change_text = f"{change:+.3f}" if abs(change) >= 0.0005 else "\u00b10"
            values = (fmt(a), fmt(b), change_text)
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 2 and change is not None and abs(change) >= 0.0005:
                    item.setForeground(QColor(GOOD if (change > 0) == higher_is_better else BAD))
                table.setItem(row, column, item)
        fm = table.fontMetrics()
        labels = max(fm.horizontalAdvance(table.verticalHeaderItem(r).text()) for r in range(len(rows)))
        scrollbar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        table.setMinimumWidth(labels + 3 * fm.horizontalAdvance("+0.000") + 3 * 16 + 12 + scrollbar
                              + 2 * table.frameWidth())
        return table
