"""The per-quadrant loss weights (w_pred, w_att) as an editable table, for the training form."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHeaderView,
    QSizePolicy,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
)

from ...errors import GradiaError

WEIGHT_ROWS = (("UA", "UA"), ("UI", "UI"), ("RI", "RI"), ("RA", "RA"), ("masked", "masked (no quadrant)"),
               ("unmasked", "unmasked"))
ROW_TIPS = {
    "UA": "Right answer, wrong evidence: the paper lowers the cross-entropy and raises the attention weight",
    "UI": "Wrong answer, wrong evidence",
    "RI": "Wrong answer, right evidence",
    "RA": "Right answer, right evidence: left out of the attention loss by default",
    "masked": "Masked training images without a quadrant (unjudged, or every mask in 'GRADIA on all masks')",
    "unmasked": "Training images without a mask: they can only carry cross-entropy",
}


class _WeightDelegate(QStyledItemDelegate):
    def createEditor(self, parent, option, index):
        spin = QDoubleSpinBox(parent)
        spin.setRange(0.0, 100.0)
        spin.setDecimals(2)
        spin.setSingleStep(0.1)
        spin.setFrame(False)
        return spin

    def displayText(self, value, locale) -> str:
        return f"{value:.2f}" if isinstance(value, float) else super().displayText(value, locale)


class WeightTable(QTableWidget):
    """Rows UA, UI, RI, RA, masked, unmasked; columns w_pred, w_att; ``weights_changed`` on any edit."""

    weights_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(len(WEIGHT_ROWS), 2, parent)
        self.setToolTip("Per-sample weights of the cross-entropy (w_pred) and attention (w_att) terms, by the "
                        "parent's quadrant. GRADIA uses every row; GRADIA on all masks only 'masked' and "
                        "'unmasked'; the baseline none.")
        self.setHorizontalHeaderLabels(["w_pred", "w_att"])
        self.setVerticalHeaderLabels([label for _, label in WEIGHT_ROWS])
        for row, (key, _) in enumerate(WEIGHT_ROWS):
            self.verticalHeaderItem(row).setToolTip(ROW_TIPS[key])
        self.horizontalHeaderItem(0).setToolTip("Weight of the sample's cross-entropy")
        self.horizontalHeaderItem(1).setToolTip("Weight of the sample's attention loss (|Grad-CAM - mask|)")
        self.setItemDelegate(_WeightDelegate(self))
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTabKeyNavigation(False)  # Tab leaves the table; the arrows move inside it
        for row in range(len(WEIGHT_ROWS)):
            for column in range(2):
                self.setItem(row, column, QTableWidgetItem())
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.verticalHeader().sectionResized.connect(lambda *_: self.updateGeometry())
        self._quiet = False
        self.itemChanged.connect(lambda _item: None if self._quiet else self.weights_changed.emit())

    def sizeHint(self) -> QSize:
        """Tall enough for every row: no vertical scrolling."""
        height = self.horizontalHeader().height() or self.horizontalHeader().sizeHint().height()
        return QSize(super().sizeHint().width(), height + self.verticalHeader().length() + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())

    def weights(self) -> dict[str, tuple[float, float]]:
        """The table as TrainConfig.weights; GradiaError when a cell is not a number."""
        out = {}
        for row, (key, label) in enumerate(WEIGHT_ROWS):
            try:
                out[key] = tuple(float(self.item(row, c).data(Qt.ItemDataRole.EditRole)) for c in (0, 1))
            except (TypeError, ValueError):
                raise GradiaError(f"the weights for {label} are not numbers") from None
        return out

    def set_weights(self, weights: dict) -> None:
        self._quiet = True
        try:
            for row, (key, _) in enumerate(WEIGHT_ROWS):
                for column in (0, 1):
                    self.item(row, column).setData(Qt.ItemDataRole.EditRole, float(weights[key][column]))
        finally:
            self._quiet = False
        self.weights_changed.emit()

    def set_used_rows(self, keys: Iterable[str]) -> None:
        """Grey out the rows the chosen mode ignores (they stay in the config)."""
        used = set(keys)
        self._quiet = True
        try:
            for row, (key, _) in enumerate(WEIGHT_ROWS):
                for column in (0, 1):
                    item = self.item(row, column)
                    flags = item.flags() | Qt.ItemFlag.ItemIsEnabled
                    item.setFlags(flags if key in used else flags & ~Qt.ItemFlag.ItemIsEnabled)
        finally:
            self._quiet = False
