"""The docks stay where they are: judging, longer texts in the matrix and another project never move them."""

from __future__ import annotations

import shutil

from PySide6.QtWidgets import QApplication

from gradia_desktop.core.store import Project
from gradia_desktop.qt.window.main_window import MainWindow

from .test_main_window import add_finished_version


def dock_geometries(window) -> dict[str, tuple[int, int, int, int]]:
    QApplication.processEvents()
    return {dock.objectName(): dock.geometry().getRect() for dock in window.models.docks() if dock.isVisible()}


def open_window(qtbot, project_dir):
    window = MainWindow(Project.open(project_dir))
    qtbot.addWidget(window)
    window.resize(1400, 900)
    with qtbot.waitExposed(window):
        window.show()
    return window


def test_judging_and_a_longer_matrix_caption_leave_the_docks_in_place(qtbot, small_project_dir):
    add_finished_version(small_project_dir)
    window = open_window(qtbot, small_project_dir)
    before = dock_geometries(window)
    assert {"matrix_dock", "training_dock"} <= set(before)
    for key in "rdudr":
        qtbot.keyClick(window.browser.table, key)
    assert dock_geometries(window) == before
    smallest = window.models.matrix_dock.minimumSizeHint()
    window.models.matrix.caption.setText("\n".join(f"caption line {i}" for i in range(40)))  # content grows
    assert dock_geometries(window) == before
    assert window.models.matrix_dock.minimumSizeHint() == smallest  # the dock never asks for more room


def test_another_project_opens_with_the_same_dock_sizes(qtbot, small_project_dir, tmp_path):
    other = tmp_path / "other-project"
    shutil.copytree(small_project_dir, other)
    add_finished_version(small_project_dir)
    window = open_window(qtbot, small_project_dir)
    before = dock_geometries(window)
    assert window.open_project_path(other, dialog=False)
    assert window.project.root == other.resolve()
    assert dock_geometries(window) == before


def test_the_training_forms_wrapped_texts_show_whole(qtbot, small_project_dir):
    """A wrapped label in the form once got the height of a guess and showed only its middle lines."""
    add_finished_version(small_project_dir)
    window = open_window(qtbot, small_project_dir)
    window.resize(1440, 900)
    panel = window.models.training.panel
    panel.mode.setCurrentIndex(panel.mode.findData("guided"))
    panel.reason.setText("a long reason why the run cannot start yet, " * 4)
    panel.reason.show()
    QApplication.processEvents()
    for label in (panel.mode_summary, panel.inputs, panel.reason):
        assert label.text()
        assert label.height() >= label.heightForWidth(label.width()), label.text()
