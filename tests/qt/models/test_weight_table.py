"""WeightTable: the paper's weights in and out, edits signal, bad cells are a one-line error, unused rows grey."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from gradia_desktop.errors import GradiaError
from gradia_desktop.qt.models.weight_table import WEIGHT_ROWS, WeightTable
from gradia_desktop.training.config import DEFAULT_WEIGHTS


@pytest.fixture
def table(qtbot):
    t = WeightTable()
    qtbot.addWidget(t)
    t.set_weights(DEFAULT_WEIGHTS)
    t.show()
    return t


def test_round_trip_and_display(table):
    assert table.weights() == DEFAULT_WEIGHTS
    assert [table.verticalHeaderItem(r).text() for r in range(table.rowCount())][:4] == ["UA", "UI", "RI", "RA"]
    assert table.itemDelegate().displayText(1.0, table.locale()) == "1.00"
    assert len(WEIGHT_ROWS) == len(DEFAULT_WEIGHTS)


def test_edits_signal_and_reach_the_weights(table, qtbot):
    with qtbot.waitSignal(table.weights_changed):
        table.item(2, 1).setData(Qt.ItemDataRole.EditRole, 0.5)
    assert table.weights()["RI"] == (0.8, 0.5)


def test_text_cell_is_an_error(table):
    table.item(1, 0).setData(Qt.ItemDataRole.EditRole, "x")
    with pytest.raises(GradiaError, match="UI"):
        table.weights()


def test_unused_rows_are_greyed_but_kept(table, qtbot):
    with qtbot.assertNotEmitted(table.weights_changed):
        table.set_used_rows(["masked", "unmasked"])
    assert not table.item(0, 0).flags() & Qt.ItemFlag.ItemIsEnabled
    assert table.item(4, 1).flags() & Qt.ItemFlag.ItemIsEnabled
    assert table.weights() == DEFAULT_WEIGHTS


def test_every_row_is_visible(table):
    assert table.sizeHint().height() >= table.horizontalHeader().height() + table.verticalHeader().length()
