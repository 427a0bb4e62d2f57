"""The 2x2 Reasonability Matrix of one model version: counts, shares, sources and the change from its parent.

Rows are the attention (reasonable / unreasonable), columns the prediction (correct / wrong), as in
the paper: RA top-left, RI top-right, UA bottom-left, UI bottom-right. The widget only shows the
dict that ``core.assessment.reasonability_matrix`` returns; clicking a cell asks the host to list
that quadrant's samples.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.assessment import matrix_delta
from ...core.records import QUADRANTS, UNASSESSED

QUADRANT_NAMES = {"RA": "Reasonable Accurate", "RI": "Reasonable Inaccurate",
                  "UA": "Unreasonable Accurate", "UI": "Unreasonable Inaccurate"}
QUADRANT_HELP = {
    "RA": "Right answer for the right reason.",
    "RI": "Looks in the right place but answers wrong.",
    "UA": "Right answer for the wrong reason (a shortcut): the dangerous quadrant, which ordinary "
          "fine-tuning ignores.",
    "UI": "Looks in the wrong place and answers wrong.",
}
CELL_COLOURS = {"RA": "#2e7d32", "RI": "#1565c0", "UA": "#e65100", "UI": "#8d6e63"}
GOOD, BAD = "#2e7d32", "#c62828"
POSITION = {"RA": (1, 1), "RI": (1, 2), "UA": (2, 1), "UI": (2, 2)}  # grid (row, column); headers at 0
MIN_CELL_WIDTH = 120
EMPTY_TEXT = "No model version yet: train one to see its Reasonability Matrix."


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(round(a.red() + (b.red() - a.red()) * t), round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def delta_text(q: str, delta: int) -> tuple[str, str | None]:
    """('↑ 12', colour) for a change in quadrant ``q``; RA going up and the others going down are good."""
    if delta == 0:
        return "\u00b1 0", None
    arrow = "\u2191" if delta > 0 else "\u2193"
    good = (delta > 0) == (q == "RA")
    return f"{arrow} {abs(delta)}", GOOD if good else BAD


class _VerticalLabel(QWidget):
    """A row header written bottom to top (lines split at newlines)."""

    def __init__(self, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._text = text
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        fm = self.fontMetrics()
        lines = self._text.split("\n")
        return QSize(fm.lineSpacing() * len(lines) + 4, max(fm.horizontalAdvance(t) for t in lines) + 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.sizeHint().width(), 20)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        p.rotate(-90)
        fm = self.fontMetrics()
        room = self.height() - 4
        text = "\n".join(fm.elidedText(t, Qt.TextElideMode.ElideRight, room) for t in self._text.split("\n"))
        p.drawText(-self.height(), 0, self.height(), self.width(), Qt.AlignmentFlag.AlignCenter, text)
        p.end()


class QuadrantCell(QPushButton):
    """One clickable quadrant: acronym and name, count and share, change, human/suggested split."""

    def __init__(self, q: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.q = q
        self.setObjectName(f"cell_{q}")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(f"<b>{q} \u2014 {QUADRANT_NAMES[q]}</b><br>{QUADRANT_HELP[q]}<br>"
                        "Click (or Space) to list these samples.")
        self.head = QLabel(f"<b>{q}</b> {QUADRANT_NAMES[q]}" + (" \u26a0" if q == "UA" else ""))
        self.count = QLabel()
        self.share = QLabel()
        self.delta = QLabel()
        self.sources = QLabel()
        self.head.setWordWrap(True)
        self.sources.setWordWrap(True)
        big = self.count.font()
        big.setPointSizeF(big.pointSizeF() * 1.8)
        big.setBold(True)
        self.count.setFont(big)
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setVerticalSpacing(2)
        layout.setHorizontalSpacing(6)
        layout.addWidget(self.head, 0, 0, 1, 3)
        layout.addWidget(self.count, 1, 0, Qt.AlignmentFlag.AlignBaseline)
        layout.addWidget(self.share, 1, 1, Qt.AlignmentFlag.AlignBaseline | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.delta, 1, 2, Qt.AlignmentFlag.AlignBaseline | Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.sources, 2, 0, 1, 3)
        layout.setColumnStretch(1, 1)
        layout.setRowStretch(3, 1)
        for label in (self.head, self.count, self.share, self.delta, self.sources):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.restyle()

    def sizeHint(self) -> QSize:
        return self.layout().sizeHint()

    def minimumSizeHint(self) -> QSize:
        """Wide enough for the longest word, tall enough for the lines that width wraps into."""
        width = max(self.layout().minimumSize().width(), MIN_CELL_WIDTH)
        return QSize(width, self.heightForWidth(width))

    def hasHeightForWidth(self) -> bool:
        return True  # wrapped names need more lines in a narrow cell

    def heightForWidth(self, width: int) -> int:
        return self.layout().totalHeightForWidth(width)

    def restyle(self, base: QColor | None = None) -> None:
        """Colours from the quadrant hue over ``base`` (the host's: a style sheet alters its own palette)."""
        colour = QColor(CELL_COLOURS[self.q])
        base = base or QApplication.palette().color(QPalette.ColorRole.Base)
        fill = _mix(base, colour, 0.28 if self.q == "UA" else 0.14)
        hover = _mix(base, colour, 0.38 if self.q == "UA" else 0.24)
        width = 3 if self.q == "UA" else 1
        self.setStyleSheet(
            f"QuadrantCell {{ background: {fill.name()}; border: {width}px solid {colour.name()};"
            f" border-radius: 6px; }}"
            f" QuadrantCell:hover {{ background: {hover.name()}; }}"
            f" QuadrantCell:focus {{ border: 3px solid palette(highlight); }}"
            f" QuadrantCell:disabled {{ background: {_mix(base, colour, 0.05).name()}; }}")
        text = colour if base.lightness() > 128 else _mix(colour, QColor("white"), 0.4)
        self.head.setStyleSheet(f"color: {text.name()}")

    def show_values(self, count: int, placed: int, human: int, suggested: int, delta: int | None) -> None:
        self.count.setText(str(count))
        self.share.setText(f"{100 * count / placed:.1f}%" if placed else "")
        self.share.setToolTip("share of the placed samples")
        if delta is None:
            self.delta.setText("")
            self.delta.setToolTip("")
        else:
            text, colour = delta_text(self.q, delta)
            self.delta.setText(text)
            self.delta.setStyleSheet(f"color: {colour}; font-weight: bold" if colour else "color: palette(placeholder-text)")
            self.delta.setToolTip("change from the parent version")
        self.sources.setText(f"{human}\u00a0judged \u00b7 {suggested}\u00a0suggested")
        self.setAccessibleName(f"{self.q} {QUADRANT_NAMES[self.q]}: {count}")

    def plain_text(self) -> str:
        return " ".join(t for t in (self.head.text().replace("<b>", "").replace("</b>", ""), self.count.text(),
                                    self.delta.text(), self.share.text(), self.sources.text()) if t)


class _GridPage(QWidget):
    """The 2x2 grid's page. Its minimum height is what its wrapped texts need at its minimum width (the
    most lines), so a parent layout never squeezes the cells; height-for-width is not passed up, as
    parent layouts would then squeeze the other items instead.
    """

    def hasHeightForWidth(self) -> bool:
        return False

    def minimumSizeHint(self) -> QSize:
        layout = self.layout()
        width = layout.minimumSize().width()
        return QSize(width, max(layout.minimumSize().height(), layout.totalHeightForWidth(width)))


class MatrixView(QWidget):
    """The Reasonability Matrix; ``quadrant_clicked`` carries "RA", "UA", "RI", "UI" or "unassessed"."""

    quadrant_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._matrix: dict | None = None
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold")
        self.title.setWordWrap(True)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("matrix_empty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: palette(placeholder-text); padding: 16px")

        grid_page = _GridPage()
        grid = QGridLayout(grid_page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for column, text in ((1, "prediction correct"), (2, "prediction wrong")):
            header = QLabel(text, alignment=Qt.AlignmentFlag.AlignCenter)
            header.setStyleSheet("color: palette(placeholder-text)")
            grid.addWidget(header, 0, column)
        grid.addWidget(_VerticalLabel("attention\nreasonable"), 1, 0)
        grid.addWidget(_VerticalLabel("attention\nunreasonable"), 2, 0)
        self._cells: dict[str, QuadrantCell] = {}
        for q in QUADRANTS:
            cell = QuadrantCell(q)
            cell.clicked.connect(lambda _checked=False, q=q: self.quadrant_clicked.emit(q))
            grid.addWidget(cell, *POSITION[q])
            self._cells[q] = cell
        for i in (1, 2):
            grid.setColumnStretch(i, 1)
            grid.setRowStretch(i, 1)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: palette(placeholder-text)")
        self.unassessed_button = QToolButton()
        self.unassessed_button.setObjectName("cell_unassessed")
        self.unassessed_button.setAutoRaise(True)
        self.unassessed_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.unassessed_button.setToolTip("Samples with neither a human judgement nor a mask to suggest one "
                                          "from: click to list them, then judge them (R / U).")
        self.unassessed_button.clicked.connect(lambda: self.quadrant_clicked.emit(UNASSESSED))
        grid.addWidget(self.summary, 3, 0, 1, 3)
        grid.addWidget(self.unassessed_button, 4, 0, 1, 3, Qt.AlignmentFlag.AlignLeft)
        self._grid_page = grid_page

        self.stack = QStackedLayout()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(grid_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addLayout(self.stack, 1)
        self.set_matrix(None)

    def hasHeightForWidth(self) -> bool:
        return False  # see _GridPage

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:  # a theme change: recolour the cells
            for cell in self._cells.values():
                cell.restyle(self.palette().color(QPalette.ColorRole.Base))

    # ---- API ------------------------------------------------------------------------------------
    def set_matrix(self, matrix: dict | None, previous: dict | None = None, title: str = "") -> None:
        """Show ``matrix`` (reasonability_matrix's dict) and its change from ``previous``; None: empty state."""
        self._matrix = matrix
        self.title.setText(title)
        self.title.setVisible(bool(title))
        if matrix is None:
            self.stack.setCurrentWidget(self.empty)
            for cell in self._cells.values():
                cell.setEnabled(False)
            self.unassessed_button.setEnabled(False)
            return
        self.stack.setCurrentWidget(self._grid_page)
        placed = sum(int(matrix.get(q, 0)) for q in QUADRANTS)
        deltas = matrix_delta(matrix, previous)
        by_source = matrix.get("by_source") or {}
        for q, cell in self._cells.items():
            src = by_source.get(q) or {}
            cell.setEnabled(True)
            cell.show_values(int(matrix.get(q, 0)), placed, int(src.get("human", 0)), int(src.get("suggestion", 0)),
                             None if deltas is None else deltas[q])
        unjudged, suggested = int(matrix.get("unjudged", 0)), int(matrix.get("suggestion", 0))
        unassessed = int(matrix.get(UNASSESSED, 0))
        self.summary.setText(f"{placed} placed ({int(matrix.get('human', 0))} judged by a human). "
                             f"{unjudged} not judged by a human ({suggested} with an automatic suggestion).")
        if unassessed:
            self.unassessed_button.setText(f"{unassessed} cannot be placed (no mask) \u203a")
        else:
            self.unassessed_button.setText("every sample is placed")
        self.unassessed_button.setEnabled(unassessed > 0)

    def set_empty_text(self, text: str) -> None:
        """What the empty state says (default: no model version yet)."""
        self.empty.setText(text)

    def matrix(self) -> dict | None:
        return self._matrix

    def cell(self, q: str) -> QAbstractButton:
        """The button of quadrant ``q`` ("RA", "UA", "RI", "UI" or "unassessed")."""
        return self.unassessed_button if q == UNASSESSED else self._cells[q]

    def text_of(self, q: str) -> str:
        """The plain text a cell shows (for tests and accessibility checks)."""
        if q == UNASSESSED:
            return f"{self.summary.text()} {self.unassessed_button.text()}"
        return self._cells[q].plain_text()
