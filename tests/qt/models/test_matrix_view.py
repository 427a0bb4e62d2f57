"""MatrixView: counts, shares, sources and deltas per quadrant; empty state; clicks and keys emit the quadrant."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from gradia_desktop.qt.models.matrix_view import BAD, GOOD, MatrixView, delta_text


def matrix(ra=402, ua=212, ri=71, ui=65, unassessed=12, human=None):
    by_source = {q: {"human": n // 10, "suggestion": n - n // 10}
                 for q, n in (("RA", ra), ("UA", ua), ("RI", ri), ("UI", ui))}
    judged = sum(s["human"] for s in by_source.values())
    suggested = sum(s["suggestion"] for s in by_source.values())
    return {"RA": ra, "UA": ua, "RI": ri, "UI": ui, "human": judged if human is None else human,
            "suggestion": suggested, "unassessed": unassessed, "unjudged": suggested + unassessed,
            "by_source": by_source}


@pytest.fixture
def view(qtbot):
    w = MatrixView()
    qtbot.addWidget(w)
    w.resize(350, 320)
    w.show()
    return w


def test_counts_shares_and_sources(view):
    view.set_matrix(matrix(), title="v1 \u00b7 validation")
    assert view.title.text() == "v1 \u00b7 validation"
    ra = view.text_of("RA")
    assert "RA" in ra and "Reasonable Accurate" in ra and "402" in ra
    assert "53.6%" in ra  # 402 / 750
    assert "40\u00a0judged \u00b7 362\u00a0suggested" in ra
    ua = view.text_of("UA")
    assert "212" in ua and "28.3%" in ua and "Unreasonable Accurate" in ua
    assert "\u2191" not in ra and "\u2193" not in ra  # no parent: no delta
    summary = view.text_of("unassessed")
    assert "750 placed" in summary and "12 cannot be placed" in summary
    assert view.cell("unassessed").isEnabled()


def test_layout_follows_the_paper(view):
    view.set_matrix(matrix())
    pos = {q: view.cell(q).geometry().center() for q in ("RA", "RI", "UA", "UI")}
    assert pos["RA"].x() < pos["RI"].x() and pos["UA"].x() < pos["UI"].x()
    assert pos["RA"].y() < pos["UA"].y() and pos["RI"].y() < pos["UI"].y()


def test_deltas_against_the_parent(view):
    view.set_matrix(matrix(ra=450, ua=150, ri=71, ui=79), previous=matrix())
    assert "\u2191 48" in view.text_of("RA")
    assert "\u2193 62" in view.text_of("UA")
    assert "\u00b1 0" in view.text_of("RI")
    assert "\u2191 14" in view.text_of("UI")
    assert view.cell("RA").delta.styleSheet().count(GOOD)
    assert view.cell("UA").delta.styleSheet().count(GOOD)
    assert view.cell("UI").delta.styleSheet().count(BAD)


@pytest.mark.parametrize("q, d, colour", [("RA", 3, GOOD), ("RA", -3, BAD), ("UA", -1, GOOD), ("UA", 2, BAD),
                                          ("RI", -2, GOOD), ("UI", 5, BAD), ("UI", 0, None)])
def test_delta_colours(q, d, colour):
    assert delta_text(q, d)[1] == colour


def test_empty_state(view):
    view.set_matrix(None)
    assert view.stack.currentWidget() is view.empty and view.empty.isVisible()
    assert "no model version yet" in view.empty.text().lower()
    assert not view.cell("RA").isEnabled() and not view.cell("unassessed").isEnabled()
    view.set_matrix(matrix())
    assert view.stack.currentWidget() is not view.empty and view.cell("RA").isVisible()


def test_zero_placed_shows_no_share(view):
    view.set_matrix(matrix(0, 0, 0, 0, unassessed=0))
    assert "%" not in view.text_of("RA")
    assert not view.cell("unassessed").isEnabled()


def test_clicks_and_keys_emit_the_quadrant(view, qtbot):
    view.set_matrix(matrix())
    for q in ("RA", "UA", "RI", "UI", "unassessed"):
        with qtbot.waitSignal(view.quadrant_clicked) as blocker:
            qtbot.mouseClick(view.cell(q), Qt.MouseButton.LeftButton)
        assert blocker.args == [q]
    view.cell("UA").setFocus()
    with qtbot.waitSignal(view.quadrant_clicked) as blocker:
        qtbot.keyClick(view.cell("UA"), Qt.Key.Key_Space)
    assert blocker.args == ["UA"]
    assert view.cell("UA").focusPolicy() & Qt.FocusPolicy.TabFocus


def test_cells_are_never_squeezed_below_their_text(qtbot):
    from PySide6.QtWidgets import QTableWidget, QVBoxLayout, QWidget

    host = QWidget()  # a dock-like column: the matrix above a table that wants more room than there is
    layout = QVBoxLayout(host)
    view = MatrixView()
    layout.addWidget(view, 1)
    layout.addWidget(QTableWidget(30, 3), 3)
    qtbot.addWidget(host)
    view.set_matrix(matrix(), matrix())
    host.resize(330, view.minimumSizeHint().height() + 120)
    with qtbot.waitExposed(host):
        host.show()
    qtbot.wait(20)  # pending layout requests
    for q in ("RA", "UA", "RI", "UI"):
        cell = view.cell(q)
        assert 0 < cell.heightForWidth(cell.width()) <= cell.height(), q
