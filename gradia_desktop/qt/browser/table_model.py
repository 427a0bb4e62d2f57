"""The sample table's model and its filter proxy: one row per sample, for one model version.

Sorting happens in the source model (one Python ``sorted`` with a key, ~10 ms for 10k rows) rather
than through a ``lessThan`` callback per comparison; the proxy only filters. The current row is
"pinned" by the proxy: after an edit it stays visible even when it no longer matches the filter
(a sample painted under "without mask" does not vanish under the brush), until the user moves on.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable, Iterable

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, QTimer)
from PySide6.QtGui import QColor, QFont

from ...core.annotation_queue import SPLIT_WEIGHT, queue_entry
from ...core.assessment import Assessment
from ...core.records import QUADRANTS, SPLITS, UNASSESSED, Prediction, Sample
from .thumbnails import ThumbnailLoader, placeholder_pixmap

COLUMNS = ("Name", "Class", "Split", "Prediction", "Confidence", "Quadrant", "Judged", "Mask", "IoU", "Priority")
NAME, CLASS, SPLIT, PREDICTION, CONFIDENCE, QUADRANT, JUDGED, MASK, IOU, PRIORITY = range(len(COLUMNS))
DASH, CHECK = "\u2014", "\u2713"
COLUMN_TIPS = {
    PRIORITY: "What to annotate next, most useful first (sort by it, or press Q): the kind of sample - UA, "
              "unjudged (correct, but nobody has looked where it looks), UI / wrong (a wrong answer; 'wrong' when "
              "it has no quadrant yet), RI, RA - then a 0-100 score within the kind. Hover over a cell for why.",
    QUADRANT: "The Reasonability Matrix quadrant: grey with '?' a suggestion from the mask, coloured a human "
              "judgement; none without a mask or a judgement",
    IOU: "Grad-CAM against the mask: intersection over union (needs a mask)",
}
SCORE_FORMULA = {  # how annotation_queue.queue_entry scores each kind
    "UA": "confidence \u00d7 (1 \u2212 IoU): a confident answer looking away from the object",
    "unjudged": "the confidence: a confident answer nobody has checked may hide a shortcut",
    "wrong": "1 \u2212 IoU, 50 without a mask to measure it against",
    "UI": "1 \u2212 IoU: the further the attention from the object, the higher",
    "RI": "the confidence of the wrong answer",
    "RA": "1 \u2212 confidence: the least sure first",
}
SAMPLE_ROLE = int(Qt.ItemDataRole.UserRole) + 1
_DISPLAY, _DECORATION, _TOOLTIP, _FONT, _ALIGN, _FOREGROUND = (int(getattr(Qt.ItemDataRole, r)) for r in (
    "DisplayRole", "DecorationRole", "ToolTipRole", "FontRole", "TextAlignmentRole", "ForegroundRole"))
_ALIGNMENT = tuple(None if c < CONFIDENCE else int(Qt.AlignmentFlag.AlignVCenter | (
    Qt.AlignmentFlag.AlignRight if c in (CONFIDENCE, IOU, PRIORITY) else Qt.AlignmentFlag.AlignHCenter))
    for c in range(len(COLUMNS)))
QUADRANT_MEANING = {"RA": "reasonable attention, accurate", "UA": "unreasonable attention, accurate",
                    "RI": "reasonable attention, inaccurate", "UI": "unreasonable attention, inaccurate"}
QUADRANT_COLOURS = {"RA": QColor("#2e7d32"), "UA": QColor("#e65100"), "RI": QColor("#1565c0"),
                    "UI": QColor("#c62828")}
MUTED, WRONG = QColor(128, 128, 128), QColor("#c62828")
TEXT_FILTER_DELAY_MS = 150
NAME_MIN_WIDTH = 200
_Index = QModelIndex | QPersistentModelIndex


class BrowserModel(QAbstractTableModel):
    """One row per sample (an ``Assessment``); thumbnails are asked for only when a row is painted.

    ``data`` runs ~1,500 times per repaint of a tall window, so its texts and colours are made once
    per row and cached, and roles are compared as plain ints.
    """

    def __init__(self, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.classes: list[str] = []
        self._rows: list[Assessment] = []
        self._row_of: dict[int, int] = {}
        self._cells: dict[int, tuple] = {}  # row -> 9 texts + 9 foregrounds
        self._italic = QFont()
        self._italic.setItalic(True)
        self.placeholder = self.warning = None
        self._changed_thumbnails: set[int] = set()
        self._thumbnail_timer = QTimer(self, singleShot=True, interval=0)  # one dataChanged per batch
        self._thumbnail_timer.timeout.connect(self._emit_thumbnails_changed)
        thumbnails.ready.connect(self._thumbnail_changed)
        thumbnails.failed.connect(self._thumbnail_changed)

    def set_rows(self, rows: list[Assessment], classes: list[str]) -> None:
        self.beginResetModel()
        self.classes, self._rows = list(classes), list(rows)
        self._reindex()
        size, ratio = self.thumbnails.size, self.thumbnails.ratio
        self.placeholder = placeholder_pixmap(size, ratio)
        self.warning = placeholder_pixmap(size, ratio, warning=True)
        self.endResetModel()

    def update_rows(self, rows: Iterable[Assessment]) -> None:
        """Replace the rows of these samples in place (same order, so selection and scroll stay)."""
        changed = []
        for a in rows:
            row = self._row_of.get(a.sample.id)
            if row is not None:
                self._rows[row] = a
                self._cells.pop(row, None)
                changed.append(row)
        if changed:  # one signal: the proxy re-filters the rows in the range, the view repaints them
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(COLUMNS) - 1))

    def touch(self, sample_id: int) -> None:
        row = self._row_of.get(sample_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def assessment(self, row: int) -> Assessment:
        return self._rows[row]

    def rows(self) -> list[Assessment]:
        return list(self._rows)

    def row_of(self, sample_id: int) -> int:
        return self._row_of.get(sample_id, -1)

    def class_name(self, idx: int) -> str:
        return self.classes[idx] if 0 <= idx < len(self.classes) else str(idx)

    def _reindex(self) -> None:
        self._row_of = {a.sample.id: row for row, a in enumerate(self._rows)}
        self._cells.clear()

    def _thumbnail_changed(self, sample_id: int, *_: object) -> None:
        if not self._changed_thumbnails:
            self._thumbnail_timer.start()
        self._changed_thumbnails.add(sample_id)

    def _emit_thumbnails_changed(self) -> None:
        rows = [self._row_of[i] for i in self._changed_thumbnails if i in self._row_of]
        self._changed_thumbnails.clear()
        if rows:
            self.dataChanged.emit(self.index(min(rows), NAME), self.index(max(rows), NAME),
                                  [_DECORATION, _TOOLTIP])

    # ---- sorting: None last in both orders, ties by id ----------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        kept = [(self._rows[i.row()].sample.id, i.column()) for i in persistent]
        key = self._sort_key(column)
        pairs = [(key(a), a) for a in self._rows]
        present = sorted((p for p in pairs if p[0] is not None), key=lambda p: (p[0], p[1].sample.id),
                         reverse=order == Qt.SortOrder.DescendingOrder)
        missing = sorted((p for p in pairs if p[0] is None), key=lambda p: p[1].sample.id)
        self._rows = [a for _, a in present + missing]
        self._reindex()
        self.changePersistentIndexList(persistent, [self.index(self._row_of[sid], col) for sid, col in kept])
        self.layoutChanged.emit()

    def _sort_key(self, column: int) -> Callable[[Assessment], object]:
        def predicted(value: Callable[[Prediction], object]) -> Callable[[Assessment], object]:
            return lambda a: None if a.prediction is None else value(a.prediction)

        return {
            NAME: lambda a: PurePosixPath(a.sample.path).name.casefold(),
            CLASS: lambda a: a.sample.class_name.casefold(),
            SPLIT: lambda a: SPLITS.index(a.sample.split),
            PREDICTION: predicted(lambda p: self.class_name(p.pred).casefold()),
            CONFIDENCE: predicted(lambda p: p.confidence),
            QUADRANT: lambda a: None if a.quadrant is None else (QUADRANTS.index(a.quadrant), a.source != "human"),
            JUDGED: lambda a: a.source == "human",
            MASK: lambda a: a.sample.has_mask,
            IOU: predicted(lambda p: p.iou),
            PRIORITY: lambda a: -queue_entry(a).priority,  # ascending = most useful to annotate first
        }.get(column, lambda a: a.sample.id)

    # ---- QAbstractTableModel ------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802 (Qt naming)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == _DISPLAY:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS.get(section)
        return None

    def data(self, index: _Index, role: int = _DISPLAY):
        row, column = index.row(), index.column()
        if row < 0:
            return None
        if role == _DISPLAY or role == _FOREGROUND:
            cells = self._cells.get(row)
            if cells is None:
                cells = self._cells[row] = self._make_cells(self._rows[row])
            return cells[column] if role == _DISPLAY else cells[len(COLUMNS) + column]
        if role == _DECORATION:
            return self._thumbnail(self._rows[row].sample) if column == NAME else None
        if role == _ALIGN:
            return _ALIGNMENT[column]
        if role == _FONT:
            return self._italic if column == QUADRANT and self._rows[row].source == "suggestion" else None
        if role == _TOOLTIP:
            return self._tooltip(self._rows[row], column)
        return self._rows[row].sample if role == SAMPLE_ROLE else None

    def _make_cells(self, a: Assessment) -> tuple:
        sample, p, q = a.sample, a.prediction, a.quadrant
        human, suggested = a.source == "human", a.source == "suggestion"
        texts = [PurePosixPath(sample.path).name, sample.class_name, sample.split, DASH, DASH, DASH,
                 CHECK if human else "", CHECK if sample.has_mask else "", DASH, _priority_text(a)]
        colours = [None, None, None, MUTED, MUTED, MUTED, None, None, MUTED, None]
        if p is not None:
            texts[PREDICTION], colours[PREDICTION] = self.class_name(p.pred), None if a.correct else WRONG
            texts[CONFIDENCE], colours[CONFIDENCE] = f"{p.confidence:.0%}", None
            if p.iou is not None:
                texts[IOU], colours[IOU] = f"{p.iou:.2f}", None
        if q is not None:
            texts[QUADRANT] = q + ("?" if suggested else "")
            colours[QUADRANT] = MUTED if suggested else QUADRANT_COLOURS[q]
        return tuple(texts + colours)

    def _thumbnail(self, sample: Sample):
        pixmap = self.thumbnails.pixmap(sample.id)
        if pixmap is not None:
            return pixmap
        if self.thumbnails.error(sample.id) is not None:
            return self.warning
        self.thumbnails.request(sample)
        return self.placeholder

    def _tooltip(self, a: Assessment, column: int) -> str | None:
        q = a.quadrant
        if column == NAME:
            error = self.thumbnails.error(a.sample.id)
            return a.sample.path + (f"\nthumbnail: {error}" if error else "")
        if column == PREDICTION and a.prediction is not None:
            return "correct" if a.correct else f"wrong: the sample is {a.sample.class_name}"
        if column == QUADRANT and q is not None:
            if a.source == "suggestion":
                return f"suggested: {q} ({QUADRANT_MEANING[q]}); no human judgement yet"
            return f"judged by a human: {q} ({QUADRANT_MEANING[q]})"
        if column == QUADRANT and a.prediction is not None:
            return "unassessed: no mask to suggest from and no human judgement"
        if column == PRIORITY:
            return priority_tooltip(a)
        if column == JUDGED and a.source == "human":
            return "judged reasonable" if a.reasonable else "judged unreasonable"
        return None


def priority_tooltip(a: Assessment) -> str:
    """What the Priority cell says and how its score was made, in the Quadrant column's words."""
    entry = queue_entry(a)
    if entry.kind in ("settled", "no prediction"):
        return f"{entry.reason}: nothing to annotate here"
    lines = [f"{_priority_text(a)}: {entry.reason}",
             f"score {round(100 * entry.score)} of 100 = {SCORE_FORMULA[entry.kind]}; higher comes first within "
             f"'{entry.kind}'",
             "kinds in order: UA, unjudged, UI and wrong, RI, RA; within a kind the score is weighed by split: "
             + ", ".join(f"{split} \u00d7{weight:g}" for split, weight in SPLIT_WEIGHT.items()),
             "sort by Priority, or press Q for the next"]
    return "\n".join(lines)


def _priority_text(a: Assessment) -> str:
    entry = queue_entry(a)
    if entry.kind in ("settled", "no prediction"):
        return DASH
    return f"{entry.kind} {round(100 * entry.score)}"


@dataclass(frozen=True)
class Filters:
    split: str | None = None
    class_idx: int | None = None
    quadrant: str | None = None  # one of QUADRANTS or UNASSESSED
    has_mask: bool | None = None
    judged: bool | None = None  # by a human
    text: str = ""  # casefolded

    def accepts(self, a: Assessment) -> bool:
        s = a.sample
        return ((self.split is None or s.split == self.split)
                and (self.class_idx is None or s.class_idx == self.class_idx)
                and (self.has_mask is None or s.has_mask == self.has_mask)
                and (self.judged is None or (a.source == "human") == self.judged)
                and (self.quadrant is None or (a.quadrant or UNASSESSED) == self.quadrant)
                and (not self.text or self.text in s.path.casefold()))


class BrowserFilterProxy(QSortFilterProxyModel):
    """Filters rows by ``Filters``; always shows the pinned (current) sample; sorts via the source."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filters = Filters()
        self.pinned_id: int | None = None
        self.setDynamicSortFilter(True)  # re-filter a row when its data changes

    def set_filters(self, filters: Filters) -> None:
        self.beginFilterChange()
        self.filters, self.pinned_id = filters, None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def pin(self, sample_id: int | None) -> None:
        old, self.pinned_id = self.pinned_id, sample_id
        for sid in {old, sample_id} - {None}:
            self.sourceModel().touch(sid)  # dataChanged makes the proxy re-filter just that row

    def matching_rows(self) -> int:
        """Rows that match the filters: the shown ones less a pinned row kept in view after it stopped
        matching (judged out of the quadrant filtered on, say)."""
        shown = self.rowCount()
        if self.pinned_id is None:
            return shown
        row = self.sourceModel().row_of(self.pinned_id)
        return shown - 1 if row >= 0 and not self.filters.accepts(self.sourceModel().assessment(row)) else shown

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802
        a = self.sourceModel().assessment(source_row)
        return a.sample.id == self.pinned_id or self.filters.accepts(a)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)
