"""The browser's columns: a default set that fits the default window, chosen columns remembered, a reset."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from gradia_desktop.qt.browser.columns import HIDDEN_BY_DEFAULT, SETTINGS_KEY
from gradia_desktop.qt.browser.sample_browser import SampleBrowser
from gradia_desktop.qt.browser.table_model import (CLASS, COLUMNS, CONFIDENCE, IOU, JUDGED, MASK, NAME, PREDICTION,
                                                   PRIORITY, QUADRANT, SPLIT)
from gradia_desktop.qt.window.app import WINDOW_SIZE

from ..helpers_qt import open_main_window

SHOWN_BY_DEFAULT = {NAME, CLASS, PREDICTION, QUADRANT, IOU, PRIORITY}


def shown(table) -> set[int]:
    return {c for c in range(len(COLUMNS)) if not table.isColumnHidden(c)}


def test_the_default_columns_fit_the_default_window_without_scrolling_sideways(qtbot, small_project_dir):
    window = open_main_window(qtbot, small_project_dir, size=WINDOW_SIZE)
    QApplication.processEvents()
    table = window.browser.table
    assert shown(table) == SHOWN_BY_DEFAULT and HIDDEN_BY_DEFAULT == {SPLIT, CONFIDENCE, JUDGED, MASK}
    assert table.horizontalScrollBar().maximum() == 0  # every shown column is on screen
    assert all(table.columnWidth(c) >= table.fontMetrics().horizontalAdvance(COLUMNS[c]) for c in shown(table))


def test_a_column_choice_is_remembered_and_reset_brings_the_defaults_back(qtbot):
    first = SampleBrowser()
    qtbot.addWidget(first)
    first.set_column_visible(SPLIT, True)
    first.set_column_visible(IOU, False)
    assert set(QSettings().value(SETTINGS_KEY)) == {COLUMNS[c] for c in HIDDEN_BY_DEFAULT - {SPLIT} | {IOU}}
    second = SampleBrowser()  # the next start
    qtbot.addWidget(second)
    assert SPLIT in shown(second.table) and IOU not in shown(second.table)
    assert second.column_actions[SPLIT].isChecked() and not second.column_actions[IOU].isChecked()
    second.columns.reset_action.trigger()
    assert shown(second.table) == SHOWN_BY_DEFAULT and QSettings().value(SETTINGS_KEY) is None


def test_showing_every_column_is_remembered_too(qtbot):
    first = SampleBrowser()
    qtbot.addWidget(first)
    for column in HIDDEN_BY_DEFAULT:
        first.set_column_visible(column, True)
    second = SampleBrowser()
    qtbot.addWidget(second)
    assert shown(second.table) == set(range(len(COLUMNS)))


def test_the_header_menu_lists_every_column_but_name_and_a_reset(qtbot):
    browser = SampleBrowser()
    qtbot.addWidget(browser)
    texts = [a.text() for a in browser.table.horizontalHeader().actions() if not a.isSeparator()]
    assert texts == [*COLUMNS[1:], "Reset columns"]
