"""A flat table model over the project's samples: file name, class, split, mask.

Backed by a plain list of ``Sample`` records, so 10k rows cost nothing until they are painted.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ..core.records import Sample

COLUMNS = ("File", "Class", "Split", "Mask")
FILE, CLASS, SPLIT, MASK = range(len(COLUMNS))
MASK_MARK = "\u2713"  # check mark

_Index = QModelIndex | QPersistentModelIndex


class SampleTableModel(QAbstractTableModel):
    def __init__(self, samples: list[Sample] | None = None, parent=None):
        super().__init__(parent)
        self._samples: list[Sample] = list(samples or [])

    def set_samples(self, samples: list[Sample]) -> None:
        self.beginResetModel()
        self._samples = list(samples)
        self.endResetModel()

    def sample_at(self, row: int) -> Sample | None:
        return self._samples[row] if 0 <= row < len(self._samples) else None

    def row_of(self, sample_id: int) -> int:
        """The row showing ``sample_id``, or -1."""
        for row, sample in enumerate(self._samples):
            if sample.id == sample_id:
                return row
        return -1

    # ---- QAbstractTableModel ----------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802 (Qt naming)
        return 0 if parent.isValid() else len(self._samples)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        sample = self._samples[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == FILE:
                return PurePosixPath(sample.path).name
            if column == CLASS:
                return sample.class_name
            if column == SPLIT:
                return sample.split
            return MASK_MARK if sample.has_mask else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return sample.path
        if role == Qt.ItemDataRole.TextAlignmentRole and column == MASK:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None
