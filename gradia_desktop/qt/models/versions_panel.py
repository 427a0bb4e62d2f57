"""The model versions of a project as a table: lineage, how each was trained, and what it scored.

Selecting one row tells the host which version to show (``version_selected``, user actions only);
selecting two enables Compare (``compare_requested(older, newer)``). Versions that did not finish -
failed (a run the store found interrupted is marked failed), cancelled, or still running - are listed
greyed with their status and note, and cannot be selected.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.assessment import stored_metric
from ...core.records import SPLITS, Version

COLUMNS = ("Version", "Parent", "Mode", "Arch", "Epochs", "Val acc", "Val IoU", "Val CF acc", "Val reliance",
           "Val deletion", "Val insertion", "Test acc", "Created", "Status")
COLUMN_TIPS = {
    "Parent": "The version it was trained from (fine-tuned, or retrained from its starting weights)",
    "Mode": "guided (recommended), baseline, gradia or gradia-all; +cf: with counterfactual backgrounds",
    "Epochs": "The epoch kept (chosen on the validation split) / epochs run",
    "Val acc": "Accuracy on the validation split",
    "Val IoU": "Mean attention IoU on the masked validation images",
    "Val CF acc": "Accuracy on copies of the masked validation images whose background is swapped with another "
                  "class's",
    "Val reliance": "Shortcut reliance: the validation accuracy lost once backgrounds are swapped (lower is better)",
    "Val deletion": "Deletion AUC on the validation split: the predicted class's probability as the pixels the "
                    "heatmap ranks highest are blurred away (lower: the model really uses what its heatmap shows; "
                    "gradia eval --faithfulness measures it)",
    "Val insertion": "Insertion AUC on the validation split: the probability as those pixels are put back into a "
                     "blurred image (higher is better; gradia eval --faithfulness)",
    "Test acc": "Accuracy on the test split (reported only, never used to choose)",
}
NUMERIC = {"Epochs", "Val acc", "Val IoU", "Val CF acc", "Val reliance", "Val deletion", "Val insertion", "Test acc"}
ID_ROLE = Qt.ItemDataRole.UserRole


def fmt(value, digits: int = 3) -> str:
    return "\u2013" if value is None else f"{value:.{digits}f}"


def mode_text(v: Version) -> str:
    return v.mode + ("+cf" if (v.config or {}).get("counterfactual") and v.mode != "guided" else "")


def metric(v: Version, split: str, key: str):
    return stored_metric(v, split, key)


def metrics_tooltip(v: Version) -> str:
    lines = [f"<b>{v.name}</b> \u2014 {mode_text(v)}, {v.arch} {v.image_size} px, CAM layer {v.cam_layer}"]
    for split in SPLITS:
        if (v.metrics or {}).get(split):
            lines.append(f"{split}: accuracy {fmt(metric(v, split, 'accuracy'))}, IoU {fmt(metric(v, split, 'iou'))}, "
                         f"energy {fmt(metric(v, split, 'energy'))}, pointing {fmt(metric(v, split, 'pointing'))}")
        if metric(v, split, "counterfactual_accuracy") is not None:
            lines.append(f"{split} shortcut probe on {metric(v, split, 'n_counterfactual')} masked images: accuracy "
                         f"{fmt(metric(v, split, 'masked_accuracy'))}, with swapped backgrounds "
                         f"{fmt(metric(v, split, 'counterfactual_accuracy'))}, reliance "
                         f"{fmt(metric(v, split, 'shortcut_reliance'))}")
        if metric(v, split, "deletion_auc") is not None:
            lines.append(f"{split} faithfulness: deletion AUC {fmt(metric(v, split, 'deletion_auc'))}, insertion AUC "
                         f"{fmt(metric(v, split, 'insertion_auc'))}")
    if (v.metrics or {}).get("selection_rule"):
        lines.append(f"epoch {v.best_epoch} kept, chosen by {escape(v.metrics['selection_rule'])}")
    if (v.metrics or {}).get("seconds") is not None:
        lines.append(f"trained in {v.metrics['seconds']:.0f} s")
    if v.note:
        lines.append(v.note)
    return "<br>".join(lines)


def status_text(v: Version, training: bool = False) -> str:
    """The Status cell: 'done', 'failed: <note>', 'cancelled', 'running' (this window's run), or
    'unfinished' (a 'running' row while this window trains nothing: another process runs it, or
    its process ended and the store has not marked it failed yet)."""
    if v.status == "done":
        return "done \u26a0" if v.note else "done"
    status = "unfinished" if v.status == "running" and not training else v.status
    return f"{status}: {v.note}" if v.note else status


def status_tooltip(v: Version, training: bool = False) -> str:
    text = f"<b>{v.name}</b> did not finish: {escape(status_text(v, training))}"
    if v.status == "running" and not training:
        text += "<br>Another process is training it, or its process ended before the run finished."
    return text + "<br>It cannot be selected: it has no model to show."


def row_values(v: Version, training: bool = False) -> tuple[str, ...]:
    epochs = (v.config or {}).get("epochs")
    if v.best_epoch is None:
        epochs_text = "\u2013"
    else:
        epochs_text = f"{v.best_epoch}/{epochs}" if epochs is not None else str(v.best_epoch)
    status = status_text(v, training)
    created = datetime.fromtimestamp(v.created).strftime("%Y-%m-%d %H:%M") if v.created else "\u2013"
    return (v.name, f"v{v.parent_id}" if v.parent_id is not None else "\u2013", mode_text(v), v.arch, epochs_text,
            fmt(metric(v, "val", "accuracy")), fmt(metric(v, "val", "iou")),
            fmt(metric(v, "val", "counterfactual_accuracy")), fmt(metric(v, "val", "shortcut_reliance")),
            fmt(metric(v, "val", "deletion_auc")), fmt(metric(v, "val", "insertion_auc")),
            fmt(metric(v, "test", "accuracy")), created, status)


class VersionsPanel(QWidget):
    """Table of model versions, newest first, with a Compare button for two selected rows."""

    version_selected = Signal(int)
    compare_requested = Signal(int, int)  # older, newer
    faithfulness_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._quiet = False
        self._versions: dict[int, Version] = {}
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for i, name in enumerate(COLUMNS):
            if name in COLUMN_TIPS:
                self.table.horizontalHeaderItem(i).setToolTip(COLUMN_TIPS[name])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text)")
        self.compare_button = QPushButton("Compare\u2026")
        self.compare_button.setToolTip("Select two versions (Ctrl+click or Shift+arrows) to compare their matrices, "
                                       "metrics and heatmaps")
        self.compare_button.clicked.connect(self._compare)
        self.faithfulness_button = QPushButton("Faithfulness")
        self.faithfulness_button.setToolTip("Measure deletion and insertion AUC of the selected version's heatmaps on "
                                            "the validation split (does the model use what its heatmap shows?)")
        self.faithfulness_button.clicked.connect(self._faithfulness)
        buttons = QHBoxLayout()
        buttons.addWidget(self.hint, 1)
        buttons.addWidget(self.faithfulness_button)
        buttons.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.set_versions([], None)

    # ---- API ------------------------------------------------------------------------------------
    def set_versions(self, versions: list[Version], selected: int | None, training: bool = False) -> None:
        """Show ``versions`` (newest first) and select ``selected``; emits nothing. ``training``:
        a run of this window is under way (its version is 'running', not interrupted)."""
        self._quiet = True
        try:
            self._versions = {v.id: v for v in versions}
            self.table.clearSelection()
            self.table.setRowCount(len(versions))
            for row, v in enumerate(sorted(versions, key=lambda v: -v.id)):
                tooltip = metrics_tooltip(v) if v.status == "done" else status_tooltip(v, training)
                for column, text in enumerate(row_values(v, training)):
                    item = QTableWidgetItem(text)
                    item.setData(ID_ROLE, v.id)
                    item.setToolTip(tooltip)
                    if COLUMNS[column] in NUMERIC:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    if v.status != "done":
                        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)  # no model to show
                        item.setForeground(QColor("#c62828") if v.status == "failed" else QColor(128, 128, 128))
                        font = QFont(item.font())
                        font.setItalic(True)
                        item.setFont(font)
                    self.table.setItem(row, column, item)
            row = self._row_of(selected)
            if row is not None and self._versions[selected].status == "done":
                self.table.setCurrentCell(row, 0)
                self.table.selectRow(row)
        finally:
            self._quiet = False
        self._update_compare()

    def selected_version(self) -> int | None:
        """The version of the current row (the one shown), or None."""
        rows = self._selected_rows()
        if len(rows) == 1:
            return self._id_at(rows[0])
        current = self.table.currentRow()
        return self._id_at(current) if current >= 0 and current in rows else None

    def selected_pair(self) -> tuple[int, int] | None:
        """(older, newer) when exactly two rows are selected."""
        rows = self._selected_rows()
        if len(rows) != 2:
            return None
        a, b = sorted(self._id_at(r) for r in rows)
        return a, b

    def version(self, version_id: int) -> Version | None:
        return self._versions.get(version_id)

    # ---- internals ------------------------------------------------------------------------------
    def _selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectionModel().selectedRows()})

    def _id_at(self, row: int) -> int:
        return int(self.table.item(row, 0).data(ID_ROLE))

    def _row_of(self, version_id: int | None) -> int | None:
        for row in range(self.table.rowCount()):
            if version_id is not None and self._id_at(row) == version_id:
                return row
        return None

    def _on_selection(self, *_args) -> None:
        self._update_compare()
        if self._quiet:
            return
        rows = self._selected_rows()
        if len(rows) == 1:
            self.version_selected.emit(self._id_at(rows[0]))

    def _update_compare(self) -> None:
        self.compare_button.setEnabled(self.selected_pair() is not None)
        rows = self._selected_rows()
        one = self._versions.get(self._id_at(rows[0])) if len(rows) == 1 else None
        self.faithfulness_button.setEnabled(one is not None and one.status == "done" and bool(one.checkpoint))
        finished = sum(v.status == "done" for v in self._versions.values())
        if not self._versions:
            self.hint.setText("No model versions yet.")
        elif not finished:
            self.hint.setText("No finished model version yet (hover over a row to see why it stopped).")
        else:
            self.hint.setText("Ctrl+click a second version to compare." if finished > 1 else "")

    def _faithfulness(self) -> None:
        rows = self._selected_rows()
        if len(rows) == 1:
            self.faithfulness_requested.emit(self._id_at(rows[0]))

    def _compare(self) -> None:
        pair = self.selected_pair()
        if pair is not None:
            self.compare_requested.emit(*pair)
