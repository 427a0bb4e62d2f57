"""The sample browser: filter bar, sortable table with lazy thumbnails, and keyboard navigation."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGridLayout, QHeaderView, QLabel, QLineEdit,
                               QTableView, QToolButton, QVBoxLayout, QWidget)

from ...core.annotation_queue import annotation_queue
from ...core.assessment import Assessment, assess, assessment_of
from ...core.records import QUADRANTS, SPLITS, UNASSESSED, Prediction, Sample
from ...core.store import Project
from .columns import BrowserColumns
from .table_model import (BrowserFilterProxy, BrowserModel, CONFIDENCE, Filters, IOU, JUDGED, PREDICTION, PRIORITY,
                          QUADRANT, QUADRANT_MEANING, SAMPLE_ROLE, TEXT_FILTER_DELAY_MS)
from .thumbnails import ThumbnailLoader


class SampleBrowser(QWidget):
    """Filter bar, sample table and keyboard navigation; tells the window which sample is current."""

    current_sample_changed = Signal(object)  # Sample or None
    status_message = Signal(str)  # e.g. "no other unjudged sample in this view", for the status bar

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.project: Project | None = None
        self.version_id: int | None = None
        self._current_id: int | None = None
        self._quiet = 0  # > 0 while selection changes are internal (no signal)
        self.thumbnails = ThumbnailLoader(parent=self)
        self.model = BrowserModel(self.thumbnails, self)
        self.proxy = BrowserFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._build_filter_bar()
        self._build_table()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(self._filter_bar)
        layout.addWidget(self.table, 1)
        self._actions = self._build_actions()
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset,
                       self.proxy.layoutChanged):
            signal.connect(self._update_count)

    # ---- building -------------------------------------------------------------------------------
    def _build_filter_bar(self) -> None:
        self.text_filter = QLineEdit(placeholderText="Filter by name\u2026", clearButtonEnabled=True)
        self._text_timer = QTimer(self, singleShot=True, interval=TEXT_FILTER_DELAY_MS)
        self._text_timer.timeout.connect(self._apply_filters)
        self.text_filter.textChanged.connect(self._text_timer.start)
        self.text_filter.returnPressed.connect(self._apply_filters)
        self.split_filter = self._combo("Split", [("All splits", None)] + [(s, s) for s in SPLITS])
        self.class_filter = self._combo("Class", [("All classes", None)])
        self.quadrant_filter = self._combo("Reasonability Matrix quadrant under the selected model version", [
            ("All quadrants", None), *[(q, q) for q in QUADRANTS], ("Unassessed", UNASSESSED)])
        for i, q in enumerate(QUADRANTS, 1):
            self.quadrant_filter.setItemData(i, QUADRANT_MEANING[q], Qt.ItemDataRole.ToolTipRole)
        self.mask_filter = self._combo("Attention mask", [("Mask: any", None), ("With mask", True),
                                                          ("Without mask", False)])
        self.judged_filter = self._combo("Human judgement of the selected model version", [
            ("Judged: any", None), ("Judged by a human", True), ("Not judged", False)])
        self.clear_button = QToolButton(text="Clear", toolTip="Show all samples", enabled=False)
        self.clear_button.clicked.connect(self.clear_filters)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: palette(placeholder-text)")
        grid = self._filter_bar = QGridLayout()
        grid.setContentsMargins(4, 4, 4, 0)
        grid.setSpacing(4)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        grid.addWidget(self.text_filter, 0, 0, 1, 2)
        grid.addWidget(self.clear_button, 0, 2)
        self._combos = (self.split_filter, self.class_filter, self.quadrant_filter, self.mask_filter,
                        self.judged_filter)
        for i, combo in enumerate(self._combos):
            grid.addWidget(combo, 1 + i // 3, i % 3)
        grid.addWidget(self.count_label, 2, 2, Qt.AlignmentFlag.AlignRight)

    def _combo(self, tooltip: str, items: list[tuple[str, object]]) -> QComboBox:
        combo = QComboBox(toolTip=tooltip)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(8)
        for text, value in items:
            combo.addItem(text, value)
        combo.currentIndexChanged.connect(self._apply_filters)
        return combo

    def _build_table(self) -> None:
        table = self.table = QTableView()
        table.setModel(self.proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        size = self.thumbnails.size
        table.setIconSize(QSize(size, size))
        rows = table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row size hints: 10k rows stay cheap
        rows.setDefaultSectionSize(max(size + 4, self.fontMetrics().height() + 8))
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # id order until a header is clicked
        table.setSortingEnabled(True)
        header.sortIndicatorChanged.connect(  # after the view's own slot has sorted: keep the current row in sight
            lambda *_: table.scrollTo(table.currentIndex(), QAbstractItemView.ScrollHint.PositionAtCenter))
        table.selectionModel().currentRowChanged.connect(self._sync_current)
        table.viewport().installEventFilter(self)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)  # right-click: show/hide columns
        self.columns = BrowserColumns(table)
        self.column_actions = self.columns.actions

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.Resize:  # only the table's viewport is watched
            self.columns.fit_name()
        return False

    def set_column_visible(self, column: int, visible: bool) -> None:
        """Show or hide a column (all but Name); the header's context menu does the same."""
        self.column_actions[column].setChecked(visible)

    def _build_actions(self) -> list[QAction]:
        specs = (("&Next sample", ("D", "Right"), self.select_next, "no next sample in this view"),
                 ("&Previous sample", ("A", "Left"), self.select_previous, "no previous sample in this view"),
                 ("Next &unjudged sample", ("N",), self.select_next_unjudged,
                  "no other sample without a human judgement in this view"),
                 ("Next sample &without mask", ("Shift+N",), self.select_next_without_mask,
                  "no other sample without a mask in this view"),
                 ("Next in the annotation &queue", ("Q",), self.select_next_in_queue,
                  "nothing left to annotate in this view"))
        actions = []
        for text, keys, step, nothing in specs:
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(f"{text.replace('&', '')} ({', '.join(keys)})")
            action.triggered.connect(lambda _=False, step=step, nothing=nothing:
                                     step() or self.status_message.emit(nothing))
            self.addAction(action)
            actions.append(action)
        return actions

    def navigation_actions(self) -> list[QAction]:
        """Next (D, Right), previous (A, Left), next unjudged (N), next without mask (Shift+N).

        They work while the focus is inside the browser. To use them anywhere in a window, add them
        to its menu and call ``action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)``; the
        name filter still gets its letters and arrows (a line edit claims them first).
        """
        return list(self._actions)

    # ---- project and version ---------------------------------------------------------------------
    def set_project(self, project: Project | None, version_id: int | None = None) -> None:
        self.project, self.version_id = project, version_id
        self.thumbnails.set_device_pixel_ratio(self.devicePixelRatioF())
        self.thumbnails.set_project(project)
        rows = self._assess(project.samples()) if project is not None else []
        classes = project.classes if project is not None else []
        with self._internal_selection():  # the filter widgets' signals change nothing meanwhile
            self.clear_filters()
            self.class_filter.clear()
            self.class_filter.addItem("All classes", None)
            for idx, name in enumerate(classes):
                self.class_filter.addItem(name, idx)
            self.proxy.set_filters(Filters())
            self.model.set_rows(rows, classes)
            header = self.table.horizontalHeader()
            self.proxy.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
            if self.proxy.rowCount():
                self._select_row(0)
            self._current_id = -1  # a new project: announce the first sample even if ids coincide
        self._sync_current()
        self._update_count()

    def set_version(self, version_id: int | None) -> None:
        """Show another model version's predictions, judgements and quadrants; keeps the selection."""
        if self.project is None:
            return
        self.version_id = version_id
        self.model.update_rows(self._assess([a.sample for a in self.model.rows()]))
        header = self.table.horizontalHeader()
        if header.sortIndicatorSection() in (PREDICTION, CONFIDENCE, QUADRANT, JUDGED, IOU, PRIORITY):
            self.proxy.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self._update_count()

    def refresh_samples(self, sample_ids: Iterable[int]) -> None:
        """Re-read mask, judgement and prediction of just these samples (after an edit)."""
        ids = [sid for sid in set(sample_ids) if self.model.row_of(sid) >= 0]
        if self.project is None or not ids:
            return
        project, vid = self.project, self.version_id
        human = project.judgements(vid) if vid is not None else {}
        self.model.update_rows(
            assessment_of(project.sample(sid), project.prediction(vid, sid) if vid is not None else None, human)
            for sid in ids)
        self._update_count()

    def reload_samples(self) -> None:
        """Re-read every sample's mask flag, judgement and prediction in one pass (after an import)."""
        if self.project is not None:
            self.model.update_rows(self._assess(self.project.samples()))
            self._update_count()

    def show_live_predictions(self, predictions: Iterable[Prediction]) -> None:
        """While a model trains: these samples' columns from its latest epoch (no human judgements
        exist for it yet). ``set_version`` puts a stored version's columns back."""
        rows = []
        for p in predictions:
            row = self.model.row_of(p.sample_id)
            if row >= 0:
                rows.append(assessment_of(self.model.assessment(row).sample, p, {}))
        self.model.update_rows(rows)
        self._update_count()

    def _assess(self, samples: list[Sample]) -> list[Assessment]:
        if self.version_id is None:
            return [Assessment(s, None, None, None) for s in samples]
        return assess(self.project, self.version_id, samples)

    # ---- current sample ---------------------------------------------------------------------------
    def current_sample(self) -> Sample | None:
        row = self.model.row_of(self._current_id) if self._current_id is not None else -1
        return self.model.assessment(row).sample if row >= 0 else None

    def assessment(self, sample_id: int) -> Assessment | None:
        row = self.model.row_of(sample_id)
        return self.model.assessment(row) if row >= 0 else None

    def select_sample(self, sample_id: int) -> bool:
        """Make ``sample_id`` current; it is shown even when the filters would hide it."""
        row = self.model.row_of(sample_id)
        if row < 0:
            return False
        with self._internal_selection():  # unpinning the old current row may remove it: no stray signal
            self.proxy.pin(sample_id)
            self._select_row(self.proxy.mapFromSource(self.model.index(row, 0)).row())
        self._sync_current()
        return True

    def _select_row(self, row: int) -> None:
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(self.proxy.index(row, 0), flags)
        self.table.scrollTo(self.table.currentIndex())  # the index above may have moved when pins changed

    def _sync_current(self, *_: object) -> None:
        if self._quiet:
            return
        index = self.table.currentIndex()
        sample = index.data(SAMPLE_ROLE) if index.isValid() else None
        sample_id = sample.id if sample is not None else None
        if self.proxy.pinned_id != sample_id:
            self.proxy.pin(sample_id)
        if sample_id != self._current_id:
            self._current_id = sample_id
            self.current_sample_changed.emit(sample)

    @contextmanager
    def _internal_selection(self) -> Iterator[None]:
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    # ---- navigation -------------------------------------------------------------------------------
    def select_next(self) -> bool:
        return self._step(1)

    def select_previous(self) -> bool:
        return self._step(-1)

    def select_next_unjudged(self) -> bool:
        return self._step(1, lambda a: a.source != "human")

    def select_next_without_mask(self) -> bool:
        return self._step(1, lambda a: not a.sample.has_mask)

    def select_next_in_queue(self) -> bool:
        """The most useful sample to annotate in this view, other than the current one."""
        current = self.current_sample()
        shown = [self.model.assessment(self.proxy.mapToSource(self.proxy.index(r, 0)).row())
                 for r in range(self.proxy.rowCount())]
        for entry in annotation_queue(shown):
            if entry.kind in ("settled", "no prediction"):
                return False
            if current is None or entry.assessment.sample.id != current.id:
                return self.select_sample(entry.assessment.sample.id)
        return False

    def _step(self, delta: int, wanted: Callable[[Assessment], bool] | None = None) -> bool:
        """Move to the next row (in ``delta``'s direction, wrapping) that is ``wanted``; False if none."""
        n = self.proxy.rowCount()
        current = self.table.currentIndex()
        start = current.row() if current.isValid() else (-1 if delta > 0 else n)
        for k in range(1, n if current.isValid() else n + 1):
            row = (start + delta * k) % n
            source_row = self.proxy.mapToSource(self.proxy.index(row, 0)).row()
            if wanted is None or wanted(self.model.assessment(source_row)):
                self._select_row(row)
                return True
        return False

    # ---- filters -----------------------------------------------------------------------------------
    def set_split_filter(self, split: str | None) -> None:
        """Show one split ('train', 'val', 'test'); None shows all."""
        index = self.split_filter.findData(split)
        if index < 0:
            raise ValueError(f"unknown split {split!r}")
        self.split_filter.setCurrentIndex(index)

    def set_quadrant_filter(self, quadrant: str | None) -> None:
        """Show one quadrant ('RA', 'UA', 'RI', 'UI' or 'unassessed'); None shows all."""
        index = self.quadrant_filter.findData(quadrant)
        if index < 0:
            raise ValueError(f"unknown quadrant {quadrant!r}")
        self.quadrant_filter.setCurrentIndex(index)

    def set_text_filter(self, text: str) -> None:
        self.text_filter.setText(text)
        self._apply_filters()

    def clear_filters(self) -> None:
        with self._internal_selection():
            for combo in self._combos:
                combo.setCurrentIndex(0)
            self.text_filter.clear()
        self._apply_filters()

    def _apply_filters(self) -> None:
        self._text_timer.stop()
        filters = Filters(self.split_filter.currentData(), self.class_filter.currentData(),
                          self.quadrant_filter.currentData(), self.mask_filter.currentData(),
                          self.judged_filter.currentData(), self.text_filter.text().strip().casefold())
        self.clear_button.setEnabled(filters != Filters())
        if self._quiet or filters == self.proxy.filters:
            return
        keep = self._current_id
        with self._internal_selection():
            self.proxy.set_filters(filters)
            row = self.model.row_of(keep) if keep is not None else -1
            visible = self.proxy.mapFromSource(self.model.index(row, 0)) if row >= 0 else QModelIndex()
            if visible.isValid() or self.proxy.rowCount():
                self._select_row(visible.row() if visible.isValid() else 0)
            else:
                self.table.selectionModel().clear()
        self._sync_current()
        self._update_count()

    def _update_count(self, *_: object) -> None:
        shown, matching, total = self.proxy.rowCount(), self.proxy.matching_rows(), self.model.rowCount()
        text = f"{matching:,} of {total:,} samples"
        if shown > matching:  # the current sample stopped matching and stays in view until the user moves on
            text += " (+ the current one, no longer matching)"
        self.count_label.setText(text)

    def shutdown(self) -> None:
        """Drop pending thumbnails and wait for the images being read (call from the window's closeEvent)."""
        self.thumbnails.shutdown()
