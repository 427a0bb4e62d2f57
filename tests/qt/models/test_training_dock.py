"""The Training dock remembers the form per project and opens a new project on a form that can start."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from gradia_desktop.qt.models.training_dock import TrainingDock, form_key

from .test_training_form import version


@pytest.fixture
def dock(qtbot):
    d = TrainingDock()
    qtbot.addWidget(d)
    d.show()
    return d


def test_each_project_keeps_its_own_form_and_a_new_one_starts_valid(dock, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    dock.set_project(a, [version(1)], 1, read_only=False)
    panel = dock.panel
    assert panel.config().mode == "guided" and panel.config().parent == 1 and panel.start_button.isEnabled()
    panel.mode.setCurrentIndex(panel.mode.findData("gradia"))
    panel.epochs.setValue(5)
    panel.save_settings(QSettings(), form_key(a))  # what Start does

    dock.set_project(b, [], None, read_only=False)  # no model yet: a baseline form, not a red error
    assert panel.config().mode == "baseline" and panel.config().parent is None
    assert panel.start_button.isEnabled() and not panel.reason.isVisible()

    dock.set_project(a, [version(1)], 1, read_only=False)
    c = panel.config()
    assert (c.mode, c.epochs, c.parent) == ("gradia", 5, 1)


def test_form_keys_differ_per_project_and_are_stable(tmp_path):
    assert form_key(tmp_path / "a") == form_key(tmp_path / "a" / ".." / "a") != form_key(tmp_path / "b")
    assert form_key(tmp_path / "a").startswith("training/projects/")
