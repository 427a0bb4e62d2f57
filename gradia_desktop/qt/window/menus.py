"""The main window's menu bar; the actions call the window's methods (nothing is done here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from . import dialogs
from ..transfer import dialogs as transfer_dialogs

if TYPE_CHECKING:
    from .main_window import MainWindow


def build_menus(w: MainWindow) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    w.open_action = file_menu.addAction("&Open project\u2026", QKeySequence.StandardKey.Open, w.choose_project)
    w.new_action = file_menu.addAction("&New project from images\u2026", QKeySequence.StandardKey.New, w.new_project)
    w.demo_action = file_menu.addAction("Open &demo project", w.open_demo)
    w.recent_menu = file_menu.addMenu("Open &recent")
    w.recent_menu.aboutToShow.connect(lambda: _fill_recent_menu(w))
    file_menu.addSeparator()
    w.export_action = file_menu.addAction("&Export masks…", QKeySequence("Ctrl+E"), lambda: _export(w))
    w.import_action = file_menu.addAction("&Import masks…", QKeySequence("Ctrl+Shift+I"), lambda: _import(w))
    file_menu.addSeparator()
    w.file_menu = file_menu
    w.quit_action = file_menu.addAction("&Quit", QKeySequence("Ctrl+Q"), w.close)

    w.view_menu = bar.addMenu("&View")
    w.edit_menu = bar.addMenu("&Edit")
    fill_view_menu(w)

    go_menu = bar.addMenu("&Go")
    for action in w.browser.navigation_actions():
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        go_menu.addAction(action)

    judge_menu = bar.addMenu("&Judge")
    w.reasonable_action = judge_menu.addAction("Attention is &reasonable", QKeySequence("R"), lambda: w.judge(True))
    w.unreasonable_action = judge_menu.addAction("Attention is &unreasonable", QKeySequence("U"),
                                                 lambda: w.judge(False))
    w.clear_judgement_action = judge_menu.addAction("&Clear judgement", QKeySequence("Backspace"),
                                                    lambda: w.judge(None))

    model_menu = bar.addMenu("&Model")
    training = w.models.training
    w.train_action = model_menu.addAction("&Train with these settings", QKeySequence("Ctrl+T"),
                                          lambda: _start_training(w))
    w.cancel_training_action = model_menu.addAction("&Cancel training", training.cancel)
    model_menu.addAction("Training &settings\u2026", lambda: _show_dock(w.models.training_dock))
    model_menu.addAction("Reasonability &Matrix", QKeySequence("Ctrl+M"), lambda: _show_dock(w.models.matrix_dock))
    model_menu.addAction("Model &versions and comparison", lambda: _show_dock(w.models.versions_dock))

    help_menu = bar.addMenu("&Help")
    help_menu.addAction("&Keyboard shortcuts", QKeySequence("F1"), lambda: dialogs.show_cheat_sheet(w))
    help_menu.addAction("&About GRADIA Desktop", lambda: dialogs.show_about(w))


def fill_view_menu(w: MainWindow) -> None:
    """(Re)fill View and Edit: the canvas and tool bar actions change with each project's tool bar."""
    w.view_menu.clear()
    w.edit_menu.clear()
    w.view_menu.addAction("&Fit to window", w.canvas.fit)
    w.view_menu.addAction("&Actual size", w.canvas.actual_size)
    panels = w.view_menu.addMenu("&Panels")
    for dock in w.models.docks():
        panels.addAction(dock.toggleViewAction())
    if w.tools is None:
        return
    for action in w.tools.actions():
        is_view = action in (w.tools.show_heatmap, w.tools.show_mask)
        (w.view_menu if is_view else w.edit_menu).addAction(action)


def _fill_recent_menu(w: MainWindow) -> None:
    w.recent_menu.clear()
    paths = w.recent.paths()
    for path in paths:
        w.recent_menu.addAction(path, lambda p=path: w.open_project_path(p))
    if not paths:
        w.recent_menu.addAction("(none yet)").setEnabled(False)


def _show_dock(dock) -> None:
    dock.show()
    dock.raise_()


def _start_training(w: MainWindow) -> None:
    _show_dock(w.models.training_dock)
    w.models.training.panel.request_start()  # the panel shows why when its form cannot start


def _export(w: MainWindow) -> None:
    if w.project is None:
        return
    if w.autosaver is not None:
        w.autosaver.flush()  # the stroke just painted belongs in the export
    transfer_dialogs.export_interactively(w, w.project, w.version.id if w.version else None)


def _import(w: MainWindow) -> None:
    if w.project is None:
        return
    if w.project.readonly:
        w.statusBar().showMessage("The project is read-only: masks cannot be imported", 5000)
        return
    if w.autosaver is not None:
        w.autosaver.flush()
    if transfer_dialogs.import_interactively(w, w.project):
        w.reload_masks()
