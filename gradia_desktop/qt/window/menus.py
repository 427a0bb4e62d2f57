"""The main window's menu bar; the actions call the window's methods (nothing is done here)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow

from ...core.autosave import MaskAutosaver
from ...core.records import Version
from ...core.store import Project
from ..browser.sample_browser import SampleBrowser
from ..canvas.canvas_widget import Canvas
from ..canvas.tool_panel import ToolPanel
from ..models.model_views import ModelViews
from ..transfer import dialogs as transfer_dialogs
from . import dialogs
from .recent_projects import RecentProjects


class MenuHost(Protocol):
    """What the menus act on: the window's commands, its parts, and the state export and import need."""

    project: Project | None
    version: Version | None
    autosaver: MaskAutosaver | None
    recent: RecentProjects
    browser: SampleBrowser
    canvas: Canvas
    models: ModelViews

    def choose_project(self) -> None: ...

    def new_project(self) -> None: ...

    def open_demo(self) -> None: ...

    def open_project_path(self, folder: str | Path) -> bool: ...

    def judge(self, reasonable: bool | None) -> None: ...

    def reload_masks(self) -> None: ...


class WindowMenus:
    """The menu bar of ``window`` (also the dialogs' parent); the actions call ``host``."""

    def __init__(self, window: QMainWindow, host: MenuHost):
        self._window = window
        self._host = host
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = file_menu.addAction("&Open project\u2026", QKeySequence.StandardKey.Open,
                                               host.choose_project)
        self.new_action = file_menu.addAction("&New project from images\u2026", QKeySequence.StandardKey.New,
                                              host.new_project)
        self.demo_action = file_menu.addAction("Open &demo project", host.open_demo)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self.export_action = file_menu.addAction("&Export masks…", QKeySequence("Ctrl+E"), self._export)
        self.import_action = file_menu.addAction("&Import masks…", QKeySequence("Ctrl+Shift+I"), self._import)
        file_menu.addSeparator()
        self.file_menu = file_menu
        self.quit_action = file_menu.addAction("&Quit", QKeySequence("Ctrl+Q"), window.close)

        self.view_menu = bar.addMenu("&View")
        self.edit_menu = bar.addMenu("&Edit")
        self.fill_view_menu(None)

        go_menu = bar.addMenu("&Go")
        for action in host.browser.navigation_actions():
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            go_menu.addAction(action)

        judge_menu = bar.addMenu("&Judge")
        self.reasonable_action = judge_menu.addAction("Attention is &reasonable", QKeySequence("R"),
                                                      lambda: host.judge(True))
        self.unreasonable_action = judge_menu.addAction("Attention is &unreasonable", QKeySequence("U"),
                                                        lambda: host.judge(False))
        self.clear_judgement_action = judge_menu.addAction("&Clear judgement", QKeySequence("Backspace"),
                                                           lambda: host.judge(None))

        model_menu = bar.addMenu("&Model")
        models = host.models
        self.train_action = model_menu.addAction("&Train with these settings", QKeySequence("Ctrl+T"),
                                                 self._start_training)
        self.cancel_training_action = model_menu.addAction("&Cancel training", models.training.cancel)
        model_menu.addAction("Training &settings\u2026", lambda: _show_dock(models.training_dock))
        model_menu.addAction("Reasonability &Matrix", QKeySequence("Ctrl+M"), lambda: _show_dock(models.matrix_dock))
        model_menu.addAction("Model &versions and comparison", lambda: _show_dock(models.versions_dock))

        help_menu = bar.addMenu("&Help")
        help_menu.addAction("&Keyboard shortcuts", QKeySequence("F1"), lambda: dialogs.show_cheat_sheet(window))
        help_menu.addAction("&About GRADIA Desktop", lambda: dialogs.show_about(window))

    def fill_view_menu(self, tools: ToolPanel | None) -> None:
        """(Re)fill View and Edit: the canvas and tool bar actions change with each project's tool bar."""
        self.view_menu.clear()
        self.edit_menu.clear()
        canvas = self._host.canvas
        self.view_menu.addAction("&Fit to window", canvas.fit)
        self.view_menu.addAction("&Actual size", canvas.actual_size)
        panels = self.view_menu.addMenu("&Panels")
        for dock in self._host.models.docks():
            panels.addAction(dock.toggleViewAction())
        if tools is None:
            return
        self.edit_menu.addAction(tools.layer_switch.action)
        for action in tools.actions():
            is_view = action in (tools.show_heatmap, tools.show_mask)
            (self.view_menu if is_view else self.edit_menu).addAction(action)

    def enable_judging(self, enabled: bool) -> None:
        for action in (self.reasonable_action, self.unreasonable_action, self.clear_judgement_action):
            action.setEnabled(enabled)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self._host.recent.paths()
        for path in paths:
            self.recent_menu.addAction(path, lambda p=path: self._host.open_project_path(p))
        if not paths:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _start_training(self) -> None:
        models = self._host.models
        _show_dock(models.training_dock)
        models.training.panel.request_start()  # the panel shows why when its form cannot start

    def _export(self) -> None:
        host = self._host
        if host.project is None:
            return
        if host.autosaver is not None:
            host.autosaver.flush()  # the stroke just painted belongs in the export
        transfer_dialogs.export_interactively(self._window, host.project, host.version.id if host.version else None)

    def _import(self) -> None:
        host = self._host
        if host.project is None:
            return
        if host.project.readonly:
            self._window.statusBar().showMessage("The project is read-only: masks cannot be imported", 5000)
            return
        if host.autosaver is not None:
            host.autosaver.flush()
        if transfer_dialogs.import_interactively(self._window, host.project):
            host.reload_masks()


def _show_dock(dock: QDockWidget) -> None:
    dock.show()
    dock.raise_()
