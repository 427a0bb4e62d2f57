"""A stored mask whose size differs from its image (the New project dialog: test_new_project_dialog.py)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from gradia_desktop.core.images import write_mask_png
from gradia_desktop.core.store import Project
from gradia_desktop.qt.window import project_dialogs
from gradia_desktop.qt.window.main_window import MainWindow


def _plant_wrong_size_mask(project_dir):
    with Project.open(project_dir) as project:
        sample = project.samples(has_mask=False)[0]
    wrong = np.zeros((10, 12), bool)
    wrong[2:5, 3:9] = True
    write_mask_png(project_dir / "masks" / f"{sample.id}.png", wrong)
    conn = sqlite3.connect(project_dir / "project.sqlite")
    conn.execute("INSERT INTO masks VALUES (?, ?, 'import', 0)", (sample.id, int(wrong.sum())))
    conn.commit()
    conn.close()
    return sample


@pytest.mark.parametrize("choice", ["resize", "discard", "leave"])
def test_a_mask_of_the_wrong_size_is_flagged_and_can_be_resized_or_discarded(qtbot, small_project_dir,
                                                                          monkeypatch, choice):
    sample = _plant_wrong_size_mask(small_project_dir)
    asked = []
    monkeypatch.setattr(project_dialogs, "ask_mask_size_choice", lambda parent, text: asked.append(text) or choice)
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    window.browser.select_sample(sample.id)
    assert asked and "12\u00d710" in asked[0] and "64\u00d764" in asked[0]
    stored = window.project.read_mask(sample)
    if choice == "resize":
        assert stored.shape == (64, 64) and stored.any()
        assert np.array_equal(window.canvas.editor().mask, stored)
    elif choice == "discard":
        assert stored is None and not window.canvas.editor().mask.any()
    else:  # left as it is: hidden, and painting is off so that no stroke overwrites it
        assert stored.shape == (10, 12) and window.canvas.editor() is None
        assert window.canvas.is_read_only() and "left as it is" in window.canvas.problem()
        window.canvas.invert_mask()
        window.autosaver.flush()
        assert window.project.read_mask(sample).shape == (10, 12)
