"""The Priority column on the real main window: each cell says how its score was made, and names a
quadrant only when the Quadrant column shows that quadrant (before and after a judgement)."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from gradia_desktop.bench.gui.browser import add_version as add_varied_version
from gradia_desktop.core.records import QUADRANTS
from gradia_desktop.core.store import Project
from gradia_desktop.qt.browser.table_model import DASH, PRIORITY, QUADRANT, SCORE_FORMULA

from ..helpers_qt import open_main_window


def add_version(project_dir) -> int:
    """A finished version with varied answers: wrong ones without a quadrant, suggestions, judgements."""
    with Project.open(project_dir) as project:
        return add_varied_version(project)


def priority_cells(window) -> list[tuple[str, str, str]]:
    """(Priority text, its tooltip, Quadrant text) of every row."""
    model = window.browser.model
    return [(model.index(row, PRIORITY).data(), model.index(row, PRIORITY).data(Qt.ItemDataRole.ToolTipRole),
             model.index(row, QUADRANT).data()) for row in range(model.rowCount())]


def test_every_priority_cell_explains_its_score(qtbot, small_project_dir):
    add_version(small_project_dir)
    window = open_main_window(qtbot, small_project_dir)
    kinds = set()
    for text, tip, _quadrant in priority_cells(window):
        if text == DASH:
            assert "nothing to annotate" in tip
            continue
        kind, score = text.rsplit(" ", 1)
        kinds.add(kind)
        assert tip.startswith(f"{text}: ") and f"score {score} of 100 = {SCORE_FORMULA[kind]}" in tip, tip
        assert re.search(r"train \u00d71, val \u00d70\.8, test \u00d70\.5", tip)
    assert "wrong" in kinds and kinds & set(QUADRANTS)


def test_priority_names_the_quadrant_the_quadrant_column_shows_before_and_after_a_judgement(qtbot, small_project_dir):
    add_version(small_project_dir)
    window = open_main_window(qtbot, small_project_dir)
    wrong = next(a.sample for a in window.browser.model.rows() if a.quadrant is None and a.correct is False)
    window.browser.select_sample(wrong.id)
    row = window.browser.model.row_of(wrong.id)
    assert window.browser.model.index(row, PRIORITY).data().startswith("wrong ")
    qtbot.keyClick(window.browser.table, "u")  # judged unreasonable: now UI, by a human
    assert window.browser.assessment(wrong.id).quadrant == "UI"
    for text, _tip, quadrant in priority_cells(window):
        kind = text.rsplit(" ", 1)[0]
        if kind in QUADRANTS:
            assert quadrant.startswith(kind), (text, quadrant)
        elif kind in ("wrong", "unjudged"):
            assert quadrant == DASH, (text, quadrant)
    assert window.browser.model.index(row, PRIORITY).data().startswith("UI ")
