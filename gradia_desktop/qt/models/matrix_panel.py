"""The Reasonability Matrix dock: a split picker over the matrix of the selected version, its
change from the parent version, and - while a model trains - the live matrix of each epoch."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...core.assessment import Assessment, reasonability_matrix, version_matrix
from ...core.records import Version
from ...core.store import Project
from .matrix_view import MatrixView

SPLIT_CHOICES = (("validation", "val"), ("training", "train"), ("test", "test"), ("all samples", None))


class MatrixPanel(QWidget):
    """``quadrant_clicked(split, quadrant)``: split is None for all samples."""

    quadrant_clicked = Signal(object, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.project: Project | None = None
        self.version: Version | None = None
        self.live = False
        self._rows: Callable[[], list[Assessment]] | None = None
        self._parent_matrices: dict[tuple[int, str | None], dict] = {}
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Which samples the matrix counts")
        for text, split in SPLIT_CHOICES:
            self.split_combo.addItem(text, split)
        self.split_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.view = MatrixView()
        self.view.quadrant_clicked.connect(lambda q: self.quadrant_clicked.emit(self._shown_split(), q))
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: palette(placeholder-text)")
        top = QHBoxLayout()
        top.addWidget(QLabel("Split:"))
        top.addWidget(self.split_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)

    def split(self) -> str | None:
        return self.split_combo.currentData()

    def set_split(self, split: str | None) -> None:
        self.split_combo.setCurrentIndex(self.split_combo.findData(split))

    def _shown_split(self) -> str | None:
        return "val" if self.live else self.split()

    def set_source(self, project: Project | None, version: Version | None,
                   rows: Callable[[], list[Assessment]] | None = None) -> None:
        """Show ``version``'s matrix (and its change from its parent); leaves live mode. ``rows``
        gives the version's assessed samples when the caller holds them already (the browser
        does), so a recount after each judgement reads nothing from the store."""
        self.project, self.version, self.live = project, version, False
        self._rows = rows
        self._parent_matrices.clear()
        self.split_combo.setEnabled(True)
        self.refresh()

    def _parent_matrix(self, parent_id: int | None, split: str | None) -> dict | None:
        """A parent's matrix: read once per source (judging changes only the shown version's)."""
        if parent_id is None or self.project is None:
            return None
        key = (parent_id, split)
        if key not in self._parent_matrices:
            self._parent_matrices[key] = version_matrix(self.project, parent_id, split)
        return self._parent_matrices[key]

    def refresh(self) -> None:
        """Recount (after a judgement, a new mask or another split)."""
        if self.live:
            return
        project, version = self.project, self.version
        if project is None or version is None:
            self.view.set_matrix(None)
            self.caption.clear()
            return
        split = self.split()
        if self._rows is None:
            matrix = version_matrix(project, version.id, split)
        else:
            matrix = reasonability_matrix([a for a in self._rows() if split is None or a.sample.split == split])
        parent = self._parent_matrix(version.parent_id, split)
        where = self.split_combo.currentText()
        self.view.set_matrix(matrix, parent, f"{version.name} \u00b7 {where}")
        self.caption.setText(f"change from the parent v{version.parent_id}" if parent is not None
                             else "no parent version to compare with")

    def show_live(self, epoch: int, total_epochs: int, matrix: dict, parent_id: int | None) -> None:
        """During training: the validation matrix of the model being trained, from suggestions only."""
        self.live = True
        self.split_combo.setEnabled(False)
        previous = self._parent_matrix(parent_id, "val")
        self.view.set_matrix(matrix, previous, f"training \u00b7 epoch {epoch}/{total_epochs} \u00b7 validation")
        self.caption.setText("live: quadrants come from automatic suggestions (a new model has no human "
                             "judgements yet)" + (f"; change from v{parent_id}" if previous is not None else ""))
