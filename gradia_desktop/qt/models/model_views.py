"""The docks about models - Reasonability Matrix, Training, Model versions - and their wiring to
the main window: which version drives the browser, heatmaps and matrix; live updates while a run
trains; comparing two versions."""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QMessageBox, QScrollArea, QWidget

from ...core.assessment import Assessment, rescore_mask, version_matrix
from ...core.cam_method_names import DEFAULT_METHOD
from ...core.cam_method_names import LABELS as CAM_LABELS
from ...core.heatmap_image import blend
from ...core.records import Prediction, Sample, Version
from ...core.store import Project
from ...errors import GradiaError
from ...training.explain import Explainer
from ..browser.sample_browser import SampleBrowser
from ..canvas.canvas_widget import Canvas
from ..canvas.load_problem import load_problem, one_line
from ..canvas.tool_panel import ToolPanel
from .baseline_offer import BaselineOffer
from .faithfulness_job import FaithfulnessJob
from .matrix_panel import MatrixPanel
from .training_dock import TrainingDock
from .training_worker import LiveEpoch
from .version_compare import VersionCompareDialog
from .versions_panel import VersionsPanel

DOCK_WIDTH = 430  # the matrix's four cells stay readable; the canvas keeps the rest


def _dock(window: QMainWindow, title: str, name: str, widget: QWidget, scrolled: bool = False) -> QDockWidget:
    """``scrolled``: the widget sits in a scroll area, so that what it shows (longer captions, a
    line that appears after a judgement or a run) never changes the dock's minimum size and the docks stay
    put. The window's layout (window/window_layout.py) gives them their default sizes."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)  # saveState/restoreState find docks by name
    if scrolled:
        area = QScrollArea()
        area.setObjectName(f"{name}_scroll")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidget(widget)
        widget = area
    dock.setWidget(widget)
    dock.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
                         | Qt.DockWidgetArea.BottomDockWidgetArea)
    return dock


class ModelViewsHost(Protocol):
    """What the model docks read from the window and ask of it."""

    project: Project | None
    version: Version | None  # the selected version
    current_sample: Sample | None
    browser: SampleBrowser
    canvas: Canvas
    tools: ToolPanel | None
    offer: BaselineOffer

    def select_version(self, version_id: int) -> None: ...

    def request_heatmap(self) -> None:
        """Show the selected version's heatmap of the current sample (asking for it if need be)."""


class ModelViews(QObject):
    """The docks in ``window`` (also their dialogs' parent and where messages go), wired to ``host``."""

    def __init__(self, window: QMainWindow, host: ModelViewsHost):
        super().__init__(window)
        self._window = window
        self._host = host
        self.matrix = MatrixPanel()
        self.training = TrainingDock()
        self.versions = VersionsPanel()
        self.matrix_dock = _dock(window, "Reasonability Matrix", "matrix_dock", self.matrix, scrolled=True)
        self.training_dock = _dock(window, "Training", "training_dock", self.training, scrolled=True)
        self.versions_dock = _dock(window, "Model versions", "versions_dock", self.versions)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        window.addDockWidget(right, self.matrix_dock)
        window.addDockWidget(right, self.training_dock)
        window.tabifyDockWidget(self.matrix_dock, self.versions_dock)
        self.matrix_dock.raise_()
        window.resizeDocks([self.matrix_dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
        self.matrix.quadrant_clicked.connect(self._filter_browser)
        self.versions.version_selected.connect(self._on_version_picked)
        self.versions.compare_requested.connect(self.compare)
        self.versions.faithfulness_requested.connect(self.measure_faithfulness)
        self.faithfulness_job: FaithfulnessJob | None = None
        self.training.trained.connect(host.select_version)
        self.training.live_epoch.connect(self._on_live_epoch)
        self.training.run_ended.connect(self._on_run_ended)
        self.training.running_changed.connect(self._on_running_changed)
        host.offer.started.connect(lambda: self._block("A baseline is being trained (see the banner)."))
        host.offer.finished.connect(lambda: self._block(None))

    def docks(self) -> list[QDockWidget]:
        return [self.matrix_dock, self.training_dock, self.versions_dock]

    # ---- the window's project and version -------------------------------------------------------
    def set_project(self) -> None:
        """Show the host's project (or none)."""
        host = self._host
        if host.project is None:
            self.versions.set_versions([], None)
            self.training.set_project(None, [], None, read_only=False)
            self.masks_changed()
            self.matrix.set_source(None, None)
            self.training.plots.clear()
            return
        selected = host.version.id if host.version else None
        self._list_versions(selected)
        self.training.set_project(host.project.root, host.project.versions(), selected, host.project.readonly)
        self.masks_changed()
        self.matrix.set_source(host.project, host.version, self._browser_rows)
        self._show_history()

    def version_changed(self) -> None:
        host = self._host
        selected = host.version.id if host.version else None
        self._list_versions(selected)
        self.training.set_versions(host.project.versions(), selected)
        self.masks_changed()
        if not self.training.is_running():
            self.matrix.set_source(host.project, host.version, self._browser_rows)

    def _list_versions(self, selected: int | None) -> None:
        """Every version in the versions panel, failed, cancelled and unfinished ones too (greyed,
        not selectable); the training form offers only finished ones as parents."""
        self.versions.set_versions(self._host.project.versions(status=None), selected,
                                   training=self.training.is_running())

    def _browser_rows(self) -> list[Assessment]:
        """The selected version's assessed samples, as the browser holds them (no store reads)."""
        return self._host.browser.model.rows()

    def judgements_changed(self) -> None:
        self.samples_changed()

    def samples_changed(self) -> None:
        """Masks or judgements changed (the browser's rows already show it): recount the matrix and
        what a training run would use."""
        self.matrix.refresh()
        self.masks_changed()

    def masks_changed(self) -> None:
        """The training form's count of what a run will use follows every saved stroke and judgement."""
        project = self._host.project
        if project is None:
            self.training.panel.set_inputs(None)
            return
        try:
            self.training.panel.set_inputs(project.count_marked("train"), project.judgement_counts())
        except GradiaError:  # the project went away underneath; the next action says so
            self.training.panel.set_inputs(None)

    def mask_saved(self, sample_id: int, mask: np.ndarray | None) -> Prediction | None:
        """A stroke was saved: the selected version's IoU and suggestion for the sample from its stored
        heatmap (no model run); the host then refreshes the row and calls ``samples_changed``."""
        host = self._host
        updated = None
        if host.project is not None and host.version is not None and not host.project.readonly:
            try:
                if mask is None:
                    mask = host.project.read_mask(host.project.sample(sample_id))
                updated = rescore_mask(host.project, host.version, sample_id, mask)
            except GradiaError as exc:  # e.g. the mask file went away: the figures stay as they were
                self._window.statusBar().showMessage(f"IoU not updated: {exc}", 6000)
        return updated

    def sample_shown(self) -> None:
        host = self._host
        target = host.tools.target() if host.tools is not None else "predicted"
        self.training.set_visible_sample(host.current_sample.id if host.current_sample else None, target)

    def is_training(self) -> bool:
        return self.training.is_running()

    def shutdown(self) -> None:
        self.training.shutdown()

    # ---- reactions ------------------------------------------------------------------------------
    def _on_version_picked(self, version_id: int) -> None:
        self._host.select_version(version_id)
        self._show_history()

    def _show_history(self) -> None:
        """The plots show the selected version's epochs (unless a run is drawing its own)."""
        host = self._host
        if self.training.is_running():
            return
        if host.version is None:
            self.training.plots.clear()
            return
        epochs = host.project.epochs(host.version.id)
        self.training.plots.load_history(epochs, f"{host.version.name}: {len(epochs)} epochs, best "
                                                 f"{host.version.best_epoch}")

    def _block(self, reason: str | None) -> None:
        self.training.blocked_reason = reason

    def _filter_browser(self, split: str | None, quadrant: str) -> None:
        browser = self._host.browser
        browser.set_split_filter(split)
        browser.set_quadrant_filter(quadrant)
        where = f" of the {split} split" if split else ""
        self._window.statusBar().showMessage(f"showing the {quadrant} samples{where}", 4000)

    def _on_running_changed(self, running: bool) -> None:
        self._host.offer.setEnabled(not running)  # one run at a time
        if running:
            self._host.offer.hide()

    def _on_live_epoch(self, live: LiveEpoch) -> None:
        host = self._host
        config = self.training.config
        if host.project is None:
            return
        self.matrix.show_live(live.epoch, config.epochs if config else live.epoch, live.val_matrix,
                              config.parent if config else None)
        host.browser.show_live_predictions(live.val_predictions)
        if live.heatmap is not None and host.current_sample is not None and host.tools is not None:
            sample_id, target, cam = live.heatmap
            if sample_id == host.current_sample.id and target == host.tools.target():
                host.canvas.set_heatmap(cam)

    def _on_run_ended(self, status: str, message: str) -> None:
        host = self._host
        self._window.statusBar().showMessage(message, 8000)
        if host.project is not None:  # a failed or cancelled run is listed too
            self._list_versions(host.version.id if host.version else None)
        if status != "done" and host.project is not None:  # back to the selected version's columns and heatmap
            host.browser.set_version(host.version.id if host.version else None)
            self.matrix.set_source(host.project, host.version, self._browser_rows)
            host.request_heatmap()

    # ---- comparing ------------------------------------------------------------------------------
    def measure_faithfulness(self, version_id: int) -> None:
        host = self._host
        if host.project is None:
            return
        if host.project.readonly:
            QMessageBox.information(self._window, "Faithfulness", "This project is open read-only: the figures could "
                                    "not be recorded (gradia eval --faithfulness shows them without storing).")
            return
        self.faithfulness_job = FaithfulnessJob(host.project, host.project.version(version_id), self._window)
        self.faithfulness_job.recorded.connect(lambda _vid: self.version_changed())
        self.faithfulness_job.start()

    def compare(self, older: int, newer: int) -> None:
        host = self._host
        if host.project is None:
            return
        project, sample = host.project, host.current_sample
        rgb, no_image = None, None
        if sample is not None:
            try:
                rgb = project.load_image(sample)
            except Exception as exc:  # noqa: BLE001 - whatever the decoder raised: said instead of a heatmap
                no_image = load_problem(project.image_path(sample), exc)

        method = host.tools.method() if host.tools is not None else DEFAULT_METHOD  # as the canvas shows it

        def heatmap_for(version_id: int) -> np.ndarray | str | None:
            if rgb is None:
                return no_image
            try:
                cam = Explainer(project, project.version(version_id)).heatmap(rgb, None, method)[0]
            except GradiaError as exc:
                return str(exc)
            except Exception as exc:  # noqa: BLE001 - a model that fails on this image: said, never raised
                return f"cannot compute the heatmap ({type(exc).__name__}: {one_line(str(exc))})"
            return blend(_preview(rgb), cam, host.canvas.colormap())

        dialog = VersionCompareDialog(project.version(older), project.version(newer),
                                      lambda vid, split: version_matrix(project, vid, None if split == "all" else split),
                                      heatmap_for, split=self.matrix.split() or "all",
                                      image_caption=sample.path if sample is not None else "",
                                      parent=self._window, method_label=CAM_LABELS[method])
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()


def _preview(rgb: np.ndarray, longest: int = 320) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(1.0, longest / max(h, w))
    if scale == 1.0:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
