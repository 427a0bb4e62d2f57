"""The main window: sample browser on the left, image with overlays in the middle, the model docks
(matrix, training, versions) on the right, judgement keys."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QMainWindow, QMessageBox, QSplitter, QStackedWidget,
                               QVBoxLayout, QWidget)

from ...core.autosave import MaskAutosaver
from ...core.mask_edit import MaskEditor
from ...core.records import Prediction, Sample, Version
from ...core.store import Project
from ...errors import Cancelled, GradiaError
from ..browser.prefetch import Prefetcher, Prepared
from ..browser.sample_browser import SampleBrowser
from ..canvas.canvas_widget import Canvas
from ..canvas.heatmaps import HeatmapProvider
from ..canvas.tool_panel import ToolPanel
from ..models.baseline_offer import BaselineOffer
from ..models.model_views import ModelViews
from . import dialogs, progress_dialog, project_dialogs
from .menus import WindowMenus
from .recent_projects import RecentProjects
from .status import WindowStatus, model_text
from .welcome_page import welcome_page

APP_TITLE = "GRADIA Desktop"
WELCOME, BROWSER = 0, 1
DECODE_IN_BACKGROUND_PIXELS = 2048 * 2048  # larger images take over 50 ms to decode
EDITORS_KEPT = 16  # recently visited images keep their undo history


class _SavedRelay(QObject):
    """Carries the autosaver's writer-thread callback onto the GUI thread."""

    saved = Signal(int, int, object)  # sample id, edit version, error or None


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None):
        super().__init__()
        self.project: Project | None = None
        self.version: Version | None = None
        self.predictions: dict[int, Prediction] = {}
        self.current_sample: Sample | None = None
        self.autosaver: MaskAutosaver | None = None
        self.editors: OrderedDict[int, MaskEditor] = OrderedDict()
        self.tools: ToolPanel | None = None
        self.saved_relay = _SavedRelay()
        self.saved_relay.saved.connect(self._on_mask_saved)
        self.prefetcher = Prefetcher()  # decodes the neighbouring images off the GUI thread
        self.heatmaps = HeatmapProvider()
        self.heatmaps.ready.connect(self._on_heatmap_ready)
        self.recent = RecentProjects()
        self.setWindowTitle(APP_TITLE)
        self._build_central()
        self.models = ModelViews(self, host=self)
        self.menus = WindowMenus(self, host=self)
        self.status = WindowStatus(self.statusBar(), self.canvas)
        self._restore_window_state()
        if project is not None:
            self.set_project(project)

    # ---- building ---------------------------------------------------------------------------
    def _install_tools(self, classes: list[str]) -> None:
        """A tool bar for this project's classes (the CAM target list depends on them)."""
        if self.tools is not None:
            self.removeToolBar(self.tools)
            self.tools.deleteLater()
        self.tools = ToolPanel(self.canvas, classes, self)
        self.tools.target_changed.connect(self._on_target_changed)
        self.addToolBar(self.tools)
        self.menus.fill_view_menu(self.tools)

    def _build_central(self) -> None:
        self.browser = SampleBrowser()
        self.browser.current_sample_changed.connect(self.show_sample)
        self.browser.status_message.connect(lambda text: self.statusBar().showMessage(text, 3000))
        self.canvas = Canvas()
        self.canvas.mask_edited.connect(self._on_mask_edited)
        self.offer = BaselineOffer()
        self.offer.trained.connect(self.select_version)
        self.offer.hide()
        right = QWidget()
        layout = QVBoxLayout(right)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.offer)
        layout.addWidget(self.canvas, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main_splitter")
        self.splitter.addWidget(self.browser)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([440, 600])
        self.splitter.setChildrenCollapsible(False)

        self.stack = QStackedWidget()
        self.stack.addWidget(welcome_page(APP_TITLE, [("Open project\u2026", self.choose_project),
                                                      ("New project from images\u2026", self.new_project),
                                                      ("Open demo project", self.open_demo)]))
        self.stack.addWidget(self.splitter)
        self.setCentralWidget(self.stack)

    def _restore_window_state(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        state = settings.value("window/state")  # docks and tool bar
        if state is not None:
            self.restoreState(state)

    # ---- opening ----------------------------------------------------------------------------
    def choose_project(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Open GRADIA project", self.recent.start_folder())
        if folder:
            self.open_project_path(folder)

    def new_project(self) -> None:
        try:
            project = project_dialogs.create_project_interactively(self, self.recent.start_folder())
        except Cancelled:
            return
        except GradiaError as exc:
            QMessageBox.critical(self, APP_TITLE, str(exc))
            return
        if project is not None:
            self.set_project(project)

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
        if self.models.is_training():
            if not dialogs.confirm_stop_training(self):
                project.close()
                return
            self.models.shutdown()
        self._close_project()
        self.project = project
        self.autosaver = None if project.readonly else MaskAutosaver(project, self.saved_relay.saved.emit)
        self.recent.add(project.root)
        self.version = project.latest_version()
        self._load_predictions()
        self.setWindowTitle(f"{APP_TITLE} \u2014 {project.root.name}" + (" (read-only)" if project.readonly else ""))
        self.status.show_project(project.root, project.readonly)
        self.stack.setCurrentIndex(BROWSER)
        self._install_tools(project.classes)
        self.canvas.set_read_only(project.readonly)
        self.heatmaps.set_source(project, self.version)
        self._update_model_state()
        self.current_sample = None
        self.browser.set_project(project, self.version.id if self.version else None)
        self.models.set_project()
        last = project.setting("last_sample")
        if last is not None:
            self.browser.select_sample(int(last))  # reopen where the expert left off
        if self.browser.current_sample() is None:
            self.show_sample(None)
        self.browser.table.setFocus()

    def _load_predictions(self) -> None:
        # One query for all predictions up front: the CAM grids are small (8x8 to 14x14 floats).
        self.predictions = self.project.predictions(self.version.id) if self.version else {}

    def _close_project(self) -> None:
        self.editors.clear()
        if self.project is not None and self.current_sample is not None and not self.project.readonly:
            self.project.set_setting("last_sample", self.current_sample.id)  # reopen here next time
        if self.autosaver is not None:
            self.autosaver.close()  # waits for the last strokes to reach the disk
            self.autosaver = None
        if self.project is not None:
            self.project.close()
            self.project = None

    def _update_model_state(self) -> None:
        has_model = self.version is not None
        self.tools.show_heatmap.setEnabled(has_model)
        self.menus.enable_judging(has_model and not self.project.readonly)
        self.offer.offer(None if has_model else self.project.root, self.project.readonly)

    def select_version(self, version_id: int) -> None:
        """Let ``version_id`` drive predictions, heatmaps, judgements and the matrix."""
        if self.project is None or (self.version is not None and self.version.id == version_id):
            return
        self.version = self.project.version(version_id)
        self._load_predictions()
        self._update_model_state()
        self.heatmaps.set_source(self.project, self.version)
        self.browser.set_version(version_id)
        self.models.version_changed()
        self.show_sample(self.browser.current_sample())
        self.statusBar().showMessage(f"model {self.version.name} selected", 5000)

    # ---- showing a sample -------------------------------------------------------------------
    def show_sample(self, sample: Sample | None, wait: bool = False) -> None:
        """Show ``sample``; a large image not prefetched is decoded in the background first (the
        canvas is blank meanwhile) unless ``wait``."""
        self.current_sample = sample
        self.models.sample_shown()
        if sample is None or self.project is None:
            self.canvas.set_image(None)
            self.status.show_sample(None, self._model_text(None))
            return
        self.status.show_sample(sample, self._model_text(sample))
        self._show_judgement(sample)
        prefetcher = self.prefetcher
        prepared = prefetcher.take(self.project, sample, self.autosaver)  # decoded off the GUI thread
        image = prepared.image if prepared is not None and prepared.error is None else None
        if image is None and not wait and sample.width * sample.height >= DECODE_IN_BACKGROUND_PIXELS:
            self.canvas.set_image(None)
            self.status.path_label.setText(f"{sample.path} — loading…")
            prefetcher.load_now(self.project, sample, self.editors.get(sample.id), self.autosaver,
                                self.canvas.mask_lut(), lambda: self._on_loaded(sample))
            return
        if image is None:
            try:
                image = self.project.load_image(sample)
            except GradiaError as exc:  # a moved or corrupt file: say so where the path is shown; its mask is kept
                self.canvas.set_image(None)
                self.status.show_path(str(exc), problem=True)
                return
        self.canvas.set_image(image)
        editor = self._editor_for(sample, self.canvas.image_shape(), prepared)
        self.canvas.set_editor(editor, None if prepared is None else prepared.mask)
        self.request_heatmap()
        target = self.tools.target() if self.version is not None and self.tools is not None else None
        prefetcher.prefetch_around(self.project, sample, self.browser, self.editors, self.autosaver,
                                   self.canvas.mask_lut(),
                                   also=None if target is None else lambda s: self.heatmaps.prefetch(s, target))

    def _on_loaded(self, sample: Sample) -> None:
        if self.current_sample is not None and self.current_sample.id == sample.id:  # still wanted
            self.show_sample(sample, wait=True)

    def _editor_for(self, sample: Sample, shape: tuple[int, int], prepared: Prepared | None = None) -> MaskEditor:
        """The sample's editor: kept with its undo history for recently visited images (else the
        one the prefetcher read from disk, if still valid, else read now)."""
        editor = self.editors.pop(sample.id, None)
        if editor is None and prepared is not None and prepared.mask is not None and prepared.mask_from_disk:
            editor = prepared.mask.editor
        if editor is None or editor.mask.shape != shape:
            editor = MaskEditor(shape, self._read_mask(sample, shape))
        self.editors[sample.id] = editor
        while len(self.editors) > EDITORS_KEPT:
            self.editors.popitem(last=False)
        return editor

    def _read_mask(self, sample: Sample, shape: tuple[int, int]):
        if self.autosaver is not None and self.autosaver.state(sample.id) == "saving":
            self.autosaver.flush()  # a stroke still being written is part of the mask
        try:
            mask = self.project.read_mask(sample)
        except GradiaError as exc:
            self.statusBar().showMessage(f"mask not shown: {exc}", 8000)
            return None
        if mask is not None and mask.shape != shape:
            if self.project.readonly:
                self.statusBar().showMessage(f"{sample.path}: the mask's size differs from the image; not shown", 8000)
                return None
            mask = project_dialogs.settle_mask_size(self, self.project, sample, mask, shape)
            self.browser.refresh_samples([sample.id])
        return mask

    # ---- heatmaps and autosave ----------------------------------------------------------------
    def request_heatmap(self) -> None:
        """Show the selected version's heatmap of the current sample: cached, or asked for."""
        sample = self.current_sample
        if sample is None or self.version is None or self.tools is None:
            self.canvas.set_heatmap(None)
            return
        cached = self.heatmaps.cached(sample.id, self.tools.target())
        self.canvas.set_heatmap(cached)
        if cached is None:
            self.heatmaps.request(sample, self.tools.target())

    def _on_target_changed(self, _target: object) -> None:
        self.models.sample_shown()  # a run in progress computes this target's heatmap after each epoch
        self.request_heatmap()

    def _on_heatmap_ready(self, sample_id: int, version_id: int, target, cam) -> None:
        current = self.current_sample
        if (current is not None and current.id == sample_id and self.version is not None
                and self.version.id == version_id and self.tools is not None and self.tools.target() == target):
            self.canvas.set_heatmap(cam)

    def _on_mask_edited(self, edit_version: int) -> None:
        editor, sample = self.canvas.editor(), self.current_sample
        if editor is None or sample is None or self.autosaver is None:
            return
        self.autosaver.save(sample, editor.mask, edit_version)
        self.status.status_line.set_save_state("saving…")

    def _on_mask_saved(self, sample_id: int, edit_version: int, error) -> None:
        if self.project is None:  # delivered after the project was closed; the write itself finished
            return
        if error:
            self.status.status_line.set_save_state("not saved", error)
            QMessageBox.critical(self, APP_TITLE, f"The mask could not be saved: {error}")
            return
        if self.autosaver is not None and self.autosaver.state(sample_id) == "saved":
            self.status.status_line.set_save_state("saved")
        self.browser.refresh_samples([sample_id])

    def _model_text(self, sample: Sample | None) -> str:
        prediction = self.predictions.get(sample.id) if sample is not None and self.version else None
        return model_text(self.project is not None, self.version,
                                        self.project.classes if self.project else [], sample, prediction)

    # ---- judging ----------------------------------------------------------------------------
    def judge(self, reasonable: bool | None) -> None:
        """Store the expert's judgement of the current version's attention on the current sample."""
        sample = self.current_sample
        if self.project is None or sample is None:
            return
        if self.version is None:
            self.statusBar().showMessage("Judgements belong to a model version: train a baseline first", 4000)
            return
        try:
            self.project.set_judgement(self.version.id, sample.id, reasonable)
        except GradiaError as exc:
            QMessageBox.critical(self, APP_TITLE, str(exc))
            return
        self.browser.refresh_samples([sample.id])
        self._show_judgement(sample)
        self.models.judgements_changed()

    def reload_masks(self) -> None:
        """Masks changed on disk (an import): forget the cached editors and show what is stored."""
        self.editors.clear()
        self.browser.reload_samples()
        self.show_sample(self.current_sample)

    def _show_judgement(self, sample: Sample) -> None:
        self.status.show_judgement(self.browser.assessment(sample.id) if self.version else None,
                                   self.version is not None)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        if self.models.is_training() and not dialogs.confirm_stop_training(self):
            event.ignore()
            return
        self.models.shutdown()  # cancels within one batch; no half-made version is left
        self.offer.shutdown()
        self.prefetcher.shutdown()
        self.browser.shutdown()
        self.heatmaps.shutdown()
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/splitter", self.splitter.saveState())
        settings.setValue("window/state", self.saveState())
        self._close_project()
        super().closeEvent(event)
