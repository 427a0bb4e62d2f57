"""The window's layout: what a run's message or a judgement shows never moves the docks, the layout
comes back at the next start, one saved by an earlier release is not restored, and the default
arrangement shows the whole matrix and the browser's default columns."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from gradia_desktop.core.store import Project
from gradia_desktop.qt.models.model_views import DOCK_WIDTH
from gradia_desktop.qt.window.app import WINDOW_SIZE
from gradia_desktop.qt.window.main_window import MainWindow
from gradia_desktop.qt.window.window_layout import SPLITTER_KEY, STATE_KEY, VERSION_KEY

from .test_main_window import add_finished_version

LONG_MESSAGE = ("v2 trained (best epoch 3, validation accuracy 0.912) warning: the validation split holds only four "
                "images, so the best epoch is chosen on very little evidence; warning: 3 images could not be read")


def open_window(qtbot, project_dir, size=WINDOW_SIZE) -> MainWindow:
    window = MainWindow(Project.open(project_dir))
    qtbot.addWidget(window)
    window.resize(*size)
    with qtbot.waitExposed(window):
        window.show()
    settle(qtbot)
    return window


def settle(qtbot) -> None:
    QApplication.processEvents()
    qtbot.wait(50)
    QApplication.processEvents()


def scroll_needed(dock) -> int:
    """How far the dock's contents scroll: 0 when they show whole."""
    return dock.widget().verticalScrollBar().maximum()


def dock_geometries(window) -> dict[str, tuple[int, int, int, int]]:
    return {dock.objectName(): dock.geometry().getRect() for dock in window.models.docks() if dock.isVisible()}


def test_a_run_message_in_the_training_dock_leaves_the_docks_in_place(qtbot, small_project_dir):
    add_finished_version(small_project_dir)
    window = open_window(qtbot, small_project_dir)
    before = dock_geometries(window)
    window.models.training._say(LONG_MESSAGE, "warning")  # what a finished run with warnings shows
    settle(qtbot)
    assert window.models.training.message.isVisible()
    assert dock_geometries(window) == before
    for key in "rdu":
        qtbot.keyClick(window.browser.table, key)
    settle(qtbot)
    assert dock_geometries(window) == before


def test_the_default_arrangement_shows_the_whole_matrix_and_every_default_column(qtbot, small_project_dir):
    add_finished_version(small_project_dir)
    window = open_window(qtbot, small_project_dir)
    matrix_dock, training_dock = window.models.matrix_dock, window.models.training_dock
    assert matrix_dock.width() == DOCK_WIDTH
    assert matrix_dock.height() > training_dock.height() * 0.9  # the matrix is not squeezed by the form
    assert scroll_needed(matrix_dock) == 0, "the matrix needs scrolling at the default size"
    assert scroll_needed(training_dock) == 0, "the Start button is scrolled away at the default size"
    assert window.browser.table.horizontalScrollBar().maximum() == 0


def test_the_first_project_opened_from_the_welcome_page_leaves_the_form_its_height(qtbot, small_project_dir):
    window = MainWindow()  # no tool bar yet: the project's arrives above the docks
    qtbot.addWidget(window)
    window.resize(*WINDOW_SIZE)
    with qtbot.waitExposed(window):
        window.show()
    settle(qtbot)
    form_height = window.models.training_dock.height()
    assert window.open_project_path(small_project_dir, dialog=False)
    settle(qtbot)
    assert window.tools.isVisible()
    assert window.models.training_dock.height() == form_height  # the matrix gave the tool bar its room
    assert scroll_needed(window.models.training_dock) == 0


def test_the_layout_comes_back_at_the_next_start(qtbot, small_project_dir):
    first = open_window(qtbot, small_project_dir)
    first.resizeDocks([first.models.matrix_dock], [380], Qt.Orientation.Horizontal)
    first.resizeDocks([first.models.matrix_dock], [300], Qt.Orientation.Vertical)
    first.splitter.setSizes([600, 400])
    settle(qtbot)
    docks, splitter = dock_geometries(first), first.splitter.sizes()
    first.close()
    second = open_window(qtbot, small_project_dir)
    assert dock_geometries(second) == docks and second.splitter.sizes() == splitter


def test_a_layout_saved_by_an_earlier_release_is_not_restored(qtbot, small_project_dir):
    old = open_window(qtbot, small_project_dir)  # as the last release left it: docks and browser squeezed
    old.resizeDocks([old.models.matrix_dock], [300], Qt.Orientation.Horizontal)
    old.splitter.setSizes([440, 700])
    settle(qtbot)
    splitter, state = old.splitter.saveState(), old.saveState()  # that release saved without a layout version
    old.close()
    settings = QSettings()
    settings.setValue(SPLITTER_KEY, splitter)
    settings.setValue(STATE_KEY, state)
    settings.remove(VERSION_KEY)
    window = open_window(qtbot, small_project_dir)
    assert window.models.matrix_dock.width() == DOCK_WIDTH
    assert window.browser.table.horizontalScrollBar().maximum() == 0  # the default columns all show
