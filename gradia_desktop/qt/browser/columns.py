"""The browser table's columns: which show by default, their widths, and the header's right-click menu
that shows or hides each one (remembered across starts, with a way back to the defaults).

By default the table shows what finding a shortcut needs - the image, its class, the model's answer,
the quadrant, the IoU and the priority - in a panel about 560 px wide; Split, Confidence, Judged and
Mask are a right-click away (the quadrant already tells a human judgement from a suggestion, and the
split filter sits above the table).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTableView

from .table_model import (CLASS, COLUMNS, CONFIDENCE, IOU, JUDGED, MASK, NAME, NAME_MIN_WIDTH, PREDICTION,
                          PRIORITY, QUADRANT, SPLIT)

HIDDEN_BY_DEFAULT = frozenset({SPLIT, CONFIDENCE, JUDGED, MASK})
SETTINGS_KEY = "browser/hidden_columns"  # column titles, so that a new column never inherits an old choice
# The widest text each column usually holds: its width is that or its title, whichever is wider.
_WIDEST = {CLASS: "Class", SPLIT: "train", PREDICTION: "Prediction", CONFIDENCE: "Confidence",
           QUADRANT: "Quadrant", JUDGED: "Judged", MASK: "Mask", IOU: "0.00", PRIORITY: "unjudged 100"}
_PADDING = 22


class BrowserColumns:
    """Owns ``table``'s column widths and visibility; ``actions[column]`` toggles one (all but Name)."""

    def __init__(self, table: QTableView, settings: QSettings | None = None):
        self.table = table
        self.settings = settings or QSettings()
        metrics = table.fontMetrics()
        for column, sample in _WIDEST.items():
            width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(COLUMNS[column]))
            table.setColumnWidth(column, width + _PADDING)
        header = table.horizontalHeader()
        self.actions: dict[int, QAction] = {}
        for column in range(CLASS, len(COLUMNS)):
            action = self.actions[column] = QAction(COLUMNS[column], header, checkable=True)
            action.toggled.connect(lambda shown, column=column: self._show(column, shown))
            header.addAction(action)
        separator = QAction(header)
        separator.setSeparator(True)
        header.addAction(separator)
        self.reset_action = QAction("Reset columns", header)
        self.reset_action.setToolTip("Show the default columns again")
        self.reset_action.triggered.connect(self.reset)
        header.addAction(self.reset_action)
        self._apply(self._saved_hidden())

    def preferred_width(self) -> int:
        """The table's width with every shown column at its width and Name at its minimum."""
        table = self.table
        shown = sum(table.columnWidth(c) for c in range(CLASS, len(COLUMNS)) if not table.isColumnHidden(c))
        return NAME_MIN_WIDTH + shown + table.verticalScrollBar().sizeHint().width() + 2 * table.frameWidth()

    def fit_name(self) -> None:
        # Name takes the room the other columns leave, but never less than NAME_MIN_WIDTH (then the
        # table scrolls sideways): a stretched section would shrink to nothing in a narrow panel.
        table = self.table
        others = sum(table.columnWidth(c) for c in range(CLASS, len(COLUMNS)) if not table.isColumnHidden(c))
        table.setColumnWidth(NAME, max(NAME_MIN_WIDTH, table.viewport().width() - others))

    def reset(self) -> None:
        self._apply(set(HIDDEN_BY_DEFAULT))
        self.settings.remove(SETTINGS_KEY)

    def _show(self, column: int, shown: bool) -> None:
        self.table.setColumnHidden(column, not shown)
        self.fit_name()
        hidden = [COLUMNS[c] for c in self.actions if self.table.isColumnHidden(c)]
        self.settings.setValue(SETTINGS_KEY, hidden or [""])  # [""]: "none hidden", not "never chosen"

    def _apply(self, hidden: set[int]) -> None:
        for column, action in self.actions.items():
            action.blockSignals(True)
            action.setChecked(column not in hidden)
            action.blockSignals(False)
            self.table.setColumnHidden(column, column in hidden)
        self.fit_name()

    def _saved_hidden(self) -> set[int]:
        saved = self.settings.value(SETTINGS_KEY)
        if saved is None:
            return set(HIDDEN_BY_DEFAULT)
        titles = {saved} if isinstance(saved, str) else set(saved)
        return {c for c in self.actions if COLUMNS[c] in titles}
