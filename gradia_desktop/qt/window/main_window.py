"""The main window: sample browser on the left, image with overlays in the middle, the model docks
(matrix, training, versions) on the right, judgement keys."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QMainWindow, QMessageBox, QSplitter, QStackedWidget,
                               QVBoxLayout, QWidget)

from ...core.autosave import MaskAutosaver
from ...core.records import Prediction, Sample, Version
from ...core.store import Project
from ...errors import Cancelled, GradiaError
from ..browser.prefetch import Prefetcher
from ..browser.sample_browser import SampleBrowser
from ..canvas.canvas_widget import Canvas
from ..canvas.heatmaps import HeatmapProvider
from ..canvas.load_problem import load_problem, one_line
from ..canvas.tool_panel import ToolPanel
from ..models.baseline_offer import BaselineOffer
from ..models.model_views import ModelViews
from . import dialogs, progress_dialog, project_dialogs
from .heatmap_display import HeatmapDisplay
from .mask_editing import MaskEditing
from .menus import WindowMenus
from .project_opening import open_project
from .recent_projects import RecentProjects
from .status import WindowStatus, model_text
from .welcome_page import WelcomePage
from .window_layout import WindowLayout

APP_TITLE = "GRADIA Desktop"
WELCOME, BROWSER = 0, 1
DECODE_IN_BACKGROUND_PIXELS = 2048 * 2048  # larger images take over 50 ms to decode


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
        self.tools: ToolPanel | None = None
        self.saved_relay = _SavedRelay()
        self.saved_relay.saved.connect(self._on_mask_saved)
        self.prefetcher = Prefetcher()  # decodes the neighbouring images off the GUI thread
        self.heatmaps = HeatmapProvider()
        self.recent = RecentProjects()
        self.setWindowTitle(APP_TITLE)
        self._build_central()
        self.models = ModelViews(self, host=self)
        self.menus = WindowMenus(self, host=self)
        self.status = WindowStatus(self.statusBar(), self.canvas)
        self.heatmap_display = HeatmapDisplay(self.heatmaps, self.canvas, self.status, self._wanted_heatmap)
        self.canvas.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.window_layout = WindowLayout(self, self.splitter, self.models.matrix_dock, self.models.training_dock)
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
        self.heatmap_display.follow_tools(self.tools)
        self.window_layout.keep_form_height(lambda: self.addToolBar(self.tools))  # the first one takes room
        self.menus.fill_view_menu(self.tools)

    def _build_central(self) -> None:
        self.browser = SampleBrowser()
        self.browser.current_sample_changed.connect(self.show_sample)
        self.browser.status_message.connect(lambda text: self.statusBar().showMessage(text, 3000))
        self.canvas = Canvas()
        self.canvas.mask_edited.connect(self._on_mask_edited)
        self.editing = MaskEditing(self, self.canvas, self.browser.refresh_samples)
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
        self.splitter.setSizes([self.browser.columns.preferred_width(), 600])  # the default columns in full
        self.splitter.setChildrenCollapsible(False)

        self.stack = QStackedWidget()
        self.welcome = WelcomePage(APP_TITLE, [("Open project\u2026", self.choose_project),
                                               ("New project from images\u2026", self.new_project),
                                               ("Open demo project", self.open_demo)])
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.splitter)
        self.setCentralWidget(self.stack)

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
        if self.open_project_path(folder):
            self.offer.start_if_offered()  # the demo's baseline trains while the window is in use

    def open_project_path(self, folder: str | Path, dialog: bool = True) -> bool:
        """Open and show ``folder`` (one held by another process: read-only if the user agrees).
        When it cannot be opened, say why (in a dialog unless ``dialog`` is False, and on the
        welcome page while no project is shown) and return False."""
        try:
            project = open_project(self, folder)
        except Cancelled:
            return False
        except GradiaError as exc:
            self._say_cannot_open(str(exc), dialog)
            return False
        return self.set_project(project, dialog)

    def _say_cannot_open(self, reason: str, dialog: bool) -> None:
        if self.project is None:
            self.welcome.show_error(reason)
        if dialog:
            QMessageBox.critical(self, APP_TITLE, reason)

    def set_project(self, project: Project, dialog: bool = True) -> bool:
        """Show ``project`` (the window takes ownership and closes it later). False when it is not
        shown: training goes on, or its database could not be read (then it is closed and the
        welcome page says why)."""
        if self.models.is_training():
            if not dialogs.confirm_stop_training(self):
                project.close()
                return False
            self.models.shutdown()
        self._close_project()
        self.project = project
        try:
            self._show_project(project)
        except Exception as exc:  # noqa: BLE001 - a damaged database found while reading it: never a traceback
            reason = str(exc) if isinstance(exc, GradiaError) else \
                f"{project.root}: cannot read the project ({type(exc).__name__}: {one_line(str(exc))})"
            self._show_no_project()
            self._say_cannot_open(reason, dialog)
            return False
        return True

    def _show_project(self, project: Project) -> None:
        self.autosaver = None if project.readonly else MaskAutosaver(project, self.saved_relay.saved.emit)
        self.editing.use(project, self.autosaver)
        self.version = project.latest_version()
        self._load_predictions()
        self.setWindowTitle(f"{APP_TITLE} \u2014 {project.root.name}" + (" (read-only)" if project.readonly else ""))
        self.status.show_project(project.root, project.readonly)
        self._install_tools(project.classes)
        self.canvas.set_read_only(project.readonly)
        self.heatmaps.set_source(project, self.version)
        self.heatmap_display.show_version_layer(self.tools, self.version)
        self._update_model_state()
        self.current_sample = None
        self.browser.set_project(project, self.version.id if self.version else None)
        self.models.set_project()
        self.recent.add(project.root)
        self.welcome.show_error(None)
        self.stack.setCurrentIndex(BROWSER)
        last = project.setting("last_sample")
        if last is not None:
            self.browser.select_sample(int(last))  # reopen where the expert left off
        if self.browser.current_sample() is None:
            self.show_sample(None)
        self.browser.table.setFocus()

    def _show_no_project(self) -> None:
        """The welcome page, with the project (if any) closed and every view emptied."""
        self._close_project()
        self.version, self.predictions, self.current_sample = None, {}, None
        self.heatmaps.set_source(None, None)
        self.prefetcher.clear()
        self.browser.set_project(None)
        self.models.set_project()
        self.offer.hide()
        self.status.show_project(None, False)
        self.status.show_sample(None, "")
        self.setWindowTitle(APP_TITLE)
        self.stack.setCurrentIndex(WELCOME)

    def _load_predictions(self) -> None:
        # One query for all predictions up front: the CAM grids are small (8x8 to 14x14 floats).
        self.predictions = self.project.predictions(self.version.id) if self.version else {}

    def _close_project(self) -> None:
        self.editing.use(None, None)  # an open stroke is saved first, to its own sample
        if self.project is not None and self.current_sample is not None and not self.project.readonly:
            try:
                self.project.set_setting("last_sample", self.current_sample.id)  # reopen here next time
            except Exception:  # noqa: BLE001 - a damaged or vanished database: only the place is lost
                pass
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
        self.heatmap_display.show_version_layer(self.tools, self.version)
        self.browser.set_version(version_id)
        self.models.version_changed()
        self.show_sample(self.browser.current_sample())
        self.statusBar().showMessage(f"model {self.version.name} selected", 5000)

    # ---- showing a sample -------------------------------------------------------------------
    def show_sample(self, sample: Sample | None, wait: bool = False) -> None:
        """Show ``sample``; a large image not prefetched is decoded in the background first (the
        canvas is blank meanwhile) unless ``wait``. One that cannot be loaded leaves the canvas
        empty and read-only, saying why."""
        self.editing.release()  # from here on no edit reaches any sample until this one's editor is bound
        self.current_sample = sample
        self.models.sample_shown()
        self.status.show_heatmap_problem(None)
        if sample is None or self.project is None:
            self.status.show_sample(None, self._model_text(None))
            return
        self.status.show_sample(sample, self._model_text(sample))
        self._show_judgement(sample)
        large = sample.width * sample.height >= DECODE_IN_BACKGROUND_PIXELS
        prepared = self.prefetcher.take(self.project, sample, self.autosaver, block=wait or not large)
        if prepared is not None and prepared.error is not None:
            self._show_unloadable(sample, prepared.error)
            return
        image = None if prepared is None else prepared.image
        if image is None and not wait and large:
            self.status.path_label.setText(f"{sample.path} — loading…")
            self.prefetcher.load_now(self.project, sample, self.editing.editors.get(sample.id), self.autosaver,
                                     self.canvas.mask_lut(), lambda: self._on_loaded(sample))
            return
        try:
            if image is None:
                image = self.project.load_image(sample)
            self.canvas.set_image(image)
        except Exception as exc:  # noqa: BLE001 - whatever the decoder raised (cv2.error, MemoryError, ...)
            self._show_unloadable(sample, load_problem(self.project.image_path(sample), exc))
            return
        self.editing.bind(sample, prepared)
        self.request_heatmap()
        self._prefetch_around(sample)

    def _show_unloadable(self, sample: Sample, reason: str) -> None:
        """A moved, corrupt or oversized image: say so on the canvas and where the path is shown;
        its mask is kept, untouched."""
        self.editing.release()
        self.canvas.show_problem(reason)
        self.status.show_path(reason, problem=True)
        self._prefetch_around(sample)

    def _prefetch_around(self, sample: Sample) -> None:
        target = self.tools.target() if self.version is not None and self.tools is not None else None
        self.prefetcher.prefetch_around(self.project, sample, self.browser, self.editing.editors, self.autosaver,
                                        self.canvas.mask_lut(),
                                        also=None if target is None else lambda s: self.heatmaps.prefetch(s, target))

    def _on_loaded(self, sample: Sample) -> None:
        if self.current_sample is not None and self.current_sample.id == sample.id:  # still wanted
            self.show_sample(sample, wait=True)

    # ---- heatmaps and autosave ----------------------------------------------------------------
    def request_heatmap(self) -> None:
        """Show the selected version's heatmap of the current sample: cached, or asked for."""
        self.heatmap_display.show()

    def _wanted_heatmap(self) -> tuple[Sample, int, object] | None:
        if self.current_sample is None or self.version is None or self.tools is None:
            return None
        return self.current_sample, self.version.id, self.tools.target()

    def _on_target_changed(self, _target: object) -> None:
        self.models.sample_shown()  # a run in progress computes this target's heatmap after each epoch
        self.request_heatmap()

    def _on_mask_edited(self, edit_version: int) -> None:
        if self.editing.save_edit(edit_version):
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
        editor = self.editing.editors.get(sample_id)
        updated = self.models.mask_saved(sample_id, None if editor is None else editor.mask)
        if updated is not None:
            self.predictions[sample_id] = updated
        self.browser.refresh_samples([sample_id])
        self.models.samples_changed()

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
        if self.project.readonly:
            self.statusBar().showMessage("The project is open read-only: judgements cannot be stored", 4000)
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
        self.editing.forget_editors()
        self.browser.reload_samples()
        self.show_sample(self.current_sample)
        self.models.masks_changed()

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
        self.window_layout.save()
        self._close_project()
        super().closeEvent(event)
