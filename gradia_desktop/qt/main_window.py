"""The main window: sample table on the left, image view with overlays in the centre."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHeaderView, QLabel, QMainWindow,
                               QMessageBox, QPushButton, QSplitter, QStackedWidget, QTableView,
                               QVBoxLayout, QWidget)

from ..core.records import Prediction, Sample, Version
from ..core.store import Project
from ..errors import Cancelled, GradiaError
from . import progress_dialog
from .image_view import ImageView
from .sample_model import CLASS, FILE, MASK, SPLIT, SampleTableModel

APP_TITLE = "GRADIA Desktop"
NO_MODEL = "no model yet \u2014 train one with `gradia train PROJECT`"
LAST_DIR_KEY = "last_project_dir"
WELCOME, BROWSER = 0, 1


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None):
        super().__init__()
        self.project: Project | None = None
        self.version: Version | None = None
        self.predictions: dict[int, Prediction] = {}
        self.current_sample: Sample | None = None
        self.setWindowTitle(APP_TITLE)
        self._build_menus()
        self._build_central()
        self._build_status_bar()
        if project is not None:
            self.set_project(project)

    # ---- building ---------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = file_menu.addAction("&Open project\u2026", QKeySequence.StandardKey.Open,
                                               self.choose_project)
        self.demo_action = file_menu.addAction("Open &demo project", self.open_demo)
        file_menu.addSeparator()
        file_menu.addAction("&Quit", QKeySequence("Ctrl+Q"), self.close)

        view_menu = self.menuBar().addMenu("&View")
        self.heatmap_action = self._toggle("Grad-CAM &heatmap", "H", view_menu)
        self.mask_action = self._toggle("Attention &mask", "M", view_menu)

        self.toolbar = self.addToolBar("Layers")
        self.toolbar.setObjectName("layers_toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.addAction(self.heatmap_action)
        self.toolbar.addAction(self.mask_action)
        self.toolbar.hide()  # shown with the first project

    def _toggle(self, text: str, shortcut: str, menu) -> QAction:
        action = menu.addAction(text)
        action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(True)
        action.setChecked(True)
        action.setEnabled(False)
        return action

    def _build_central(self) -> None:
        self.model = SampleTableModel(parent=self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows keep 10k samples cheap
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        columns = self.table.horizontalHeader()
        columns.setHighlightSections(False)
        columns.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        columns.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)
        for column in (CLASS, SPLIT, MASK):
            columns.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)

        self.list_title = QLabel()
        self.list_title.setContentsMargins(6, 6, 6, 2)
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.list_title)
        layout.addWidget(self.table)

        self.image_view = ImageView()
        self.heatmap_action.toggled.connect(self.image_view.set_heatmap_shown)
        self.mask_action.toggled.connect(self.image_view.set_mask_shown)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.image_view)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([400, 880])
        self.splitter.setChildrenCollapsible(False)

        self.stack = QStackedWidget()
        self.stack.addWidget(self._welcome_page())
        self.stack.addWidget(self.splitter)
        self.setCentralWidget(self.stack)

    def _welcome_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        title = QLabel(APP_TITLE)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        hint = QLabel("Review Grad-CAM heatmaps and paint attention masks.\n"
                      "Open a project folder, or start with the demo project.")
        hint.setStyleSheet("color: palette(placeholder-text)")
        for label in (title, hint):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        layout.addSpacing(16)
        for text, slot in (("Open project\u2026", self.choose_project), ("Open demo project", self.open_demo)):
            button = QPushButton(text)
            button.setMinimumWidth(220)
            button.clicked.connect(slot)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        return page

    def _build_status_bar(self) -> None:
        self.path_label = QLabel()
        self.path_label.setTextFormat(Qt.TextFormat.PlainText)
        self.class_label = QLabel()
        self.size_label = QLabel()
        self.model_label = QLabel()
        bar = self.statusBar()
        bar.addWidget(self.path_label, 1)
        for label in (self.class_label, self.size_label, self.model_label):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    # ---- opening ----------------------------------------------------------------------------
    def choose_project(self) -> None:
        settings = QSettings()
        start = str(settings.value(LAST_DIR_KEY, str(Path.home())))
        folder = QFileDialog.getExistingDirectory(self, "Open GRADIA project", start)
        if folder:
            self.open_project_path(folder)

    def open_demo(self) -> None:
        try:
            folder = progress_dialog.ensure_demo_project(self)
        except Cancelled:
            return
        except GradiaError as exc:
            QMessageBox.critical(self, APP_TITLE, str(exc))
            return
        self.open_project_path(folder)

    def open_project_path(self, folder: str | Path) -> bool:
        try:
            project = Project.open(folder)
        except GradiaError as exc:
            QMessageBox.critical(self, APP_TITLE, str(exc))
            return False
        self.set_project(project)
        return True

    def set_project(self, project: Project) -> None:
        """Show ``project`` (the window takes ownership and closes it later)."""
        if self.project is not None and self.project is not project:
            self.project.close()
        self.project = project
        QSettings().setValue(LAST_DIR_KEY, str(project.root.parent))
        self.version = project.latest_version()
        # One query for all predictions up front: the CAM grids are small (8x8 to 14x14 floats).
        self.predictions = project.predictions(self.version.id) if self.version else {}
        samples = project.samples()
        self.model.set_samples(samples)
        self._size_columns(project)
        self.list_title.setText(f"<b>Samples</b> &nbsp;<span style='color:gray'>{len(samples):,}</span>")
        readonly = " (read-only)" if project.readonly else ""
        self.setWindowTitle(f"{APP_TITLE} \u2014 {project.root.name}{readonly}")
        self.model_label.setToolTip(str(project.root))
        self.stack.setCurrentIndex(BROWSER)
        self.toolbar.show()
        self.heatmap_action.setEnabled(self.version is not None)
        self.heatmap_action.setToolTip("Show the latest model's Grad-CAM heatmap (H)" if self.version
                                       else "No trained model version yet")
        self.mask_action.setEnabled(True)
        self.current_sample = None
        if samples:
            self.select_row(0)
        else:
            self.show_sample(None)
        self.table.setFocus()

    def _size_columns(self, project: Project) -> None:
        metrics = self.table.fontMetrics()
        longest_class = max([metrics.horizontalAdvance(c) for c in project.classes] + [0])
        widths = {CLASS: max(longest_class, metrics.horizontalAdvance("Class")) + 24,
                  SPLIT: metrics.horizontalAdvance("Split") + 28,
                  MASK: metrics.horizontalAdvance("Mask") + 20}
        for column, width in widths.items():
            self.table.setColumnWidth(column, width)

    # ---- showing a sample -------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_sample(self.model.sample_at(current.row()) if current.isValid() else None)

    def show_sample(self, sample: Sample | None) -> None:
        self.current_sample = sample
        if sample is None or self.project is None:
            self.image_view.set_image(None)
            for label in (self.path_label, self.class_label, self.size_label):
                label.clear()
            self.model_label.setText(self._model_text(None))
            return
        self.path_label.setText(sample.path)
        self.path_label.setStyleSheet("")
        self.class_label.setText(f"class: {sample.class_name}")
        self.size_label.setText(f"{sample.width} \u00d7 {sample.height} px")
        self.model_label.setText(self._model_text(sample))
        try:
            self.image_view.set_image(self.project.load_image(sample))
            prediction = self.predictions.get(sample.id)
            self.image_view.set_heatmap(prediction.cam if prediction else None)
            self.image_view.set_mask(self.project.read_mask(sample) if sample.has_mask else None)
        except GradiaError as exc:  # a moved or corrupt file: say so where the path is shown
            self.image_view.set_image(None)
            self.path_label.setText(str(exc))
            self.path_label.setStyleSheet("color: #c0392b")

    def _model_text(self, sample: Sample | None) -> str:
        if self.version is None:
            return NO_MODEL if self.project is not None else ""
        text = f"model {self.version.name}"
        prediction = self.predictions.get(sample.id) if sample else None
        if prediction is not None and self.project is not None:
            classes = self.project.classes
            name = classes[prediction.pred] if 0 <= prediction.pred < len(classes) else str(prediction.pred)
            text += f" \u00b7 predicts {name} ({prediction.confidence:.0%})"
        elif sample is not None:
            text += " \u00b7 no prediction for this sample"
        return text

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        if self.project is not None:
            self.project.close()
            self.project = None
        super().closeEvent(event)
