"""The sample browser: filters against the store's truth, sorting, quadrant display, keys, refresh."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QPushButton, QSplitter

from gradia_desktop.core.annotation_queue import annotation_queue
from gradia_desktop.core.assessment import assess
from gradia_desktop.core.records import QUADRANTS, Prediction
from gradia_desktop.qt.browser.table_model import (CHECK, CONFIDENCE, DASH, IOU, JUDGED, MASK, MUTED, NAME, PREDICTION,
                                             PRIORITY, QUADRANT, QUADRANT_COLOURS, SAMPLE_ROLE)
from gradia_desktop.qt.browser.sample_browser import SampleBrowser

from gradia_desktop.bench.gui.browser import add_version

FONT, FOREGROUND, TOOLTIP = Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole


@pytest.fixture
def browser(qtbot):
    browser = SampleBrowser()
    qtbot.addWidget(browser)
    browser.resize(900, 500)
    with qtbot.waitActive(browser):
        browser.show()
        browser.activateWindow()
    yield browser
    browser.shutdown()


@pytest.fixture
def version(small_project):
    return add_version(small_project)


def shown_ids(browser) -> list[int]:
    return [browser.proxy.index(r, 0).data(SAMPLE_ROLE).id for r in range(browser.proxy.rowCount())]


def cell(browser, sample_id: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    row = browser.model.row_of(sample_id)
    return browser.model.index(row, column).data(role)


def choose(combo, value) -> None:
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


def test_opens_on_the_first_sample_with_all_rows(browser, small_project, qtbot):
    with qtbot.waitSignal(browser.current_sample_changed) as signal:
        browser.set_project(small_project, None)
    samples = small_project.samples()
    assert shown_ids(browser) == [s.id for s in samples]
    assert signal.args == [samples[0]] and browser.current_sample() == samples[0]
    assert browser.count_label.text() == f"{len(samples)} of {len(samples)} samples"
    assert [cell(browser, samples[0].id, c) for c in (PREDICTION, CONFIDENCE, QUADRANT, IOU)] == [DASH] * 4


@pytest.mark.parametrize("combo, value, truth", [
    ("split_filter", "val", dict(split="val")),
    ("class_filter", 1, dict(class_name="disc")),
    ("mask_filter", True, dict(has_mask=True)),
    ("mask_filter", False, dict(has_mask=False)),
])
def test_sample_filters_match_the_store(browser, small_project, combo, value, truth):
    browser.set_project(small_project, None)
    assert small_project.classes == ["cross", "disc"]
    choose(getattr(browser, combo), value)
    expected = [s.id for s in small_project.samples(**truth)]
    assert shown_ids(browser) == expected and 0 < len(expected) < 48
    assert browser.current_sample().id in expected
    assert browser.count_label.text() == f"{len(expected)} of 48 samples"


def test_name_filter_is_a_case_insensitive_substring(browser, small_project, qtbot):
    browser.set_project(small_project, None)
    browser.set_text_filter("DISC_VAL")
    assert shown_ids(browser) == [s.id for s in small_project.samples(text="disc_val")] != []
    qtbot.keyClicks(browser.text_filter, "_0001")  # typed filters apply after a short pause
    qtbot.waitUntil(lambda: shown_ids(browser) == [s.id for s in small_project.samples(text="disc_val_0001")])


@pytest.mark.parametrize("quadrant", [*QUADRANTS, "unassessed"])
def test_quadrant_filter_matches_the_assessment(browser, small_project, version, quadrant):
    browser.set_project(small_project, version)
    browser.set_quadrant_filter(quadrant)
    expected = [a.sample.id for a in assess(small_project, version) if (a.quadrant or "unassessed") == quadrant]
    assert shown_ids(browser) == expected and expected
    assert browser.quadrant_filter.currentData() == quadrant


def test_judged_and_combined_filters(browser, small_project, version):
    browser.set_project(small_project, version)
    rows = assess(small_project, version)
    choose(browser.judged_filter, True)
    assert shown_ids(browser) == [a.sample.id for a in rows if a.source == "human"] != []
    choose(browser.judged_filter, False)
    choose(browser.split_filter, "train")
    choose(browser.mask_filter, True)
    choose(browser.class_filter, 0)
    browser.set_text_filter("cross")
    expected = [a.sample.id for a in rows if a.source != "human" and a.sample.split == "train"
                and a.sample.has_mask and a.sample.class_idx == 0]
    assert shown_ids(browser) == expected and expected
    browser.clear_filters()
    assert len(shown_ids(browser)) == 48 and not browser.clear_button.isEnabled()


def test_no_match_leaves_no_current_sample(browser, small_project, qtbot):
    browser.set_project(small_project, None)
    with qtbot.waitSignal(browser.current_sample_changed) as signal:
        browser.set_text_filter("no such name")
    assert signal.args == [None] and browser.current_sample() is None
    assert browser.count_label.text() == "0 of 48 samples"
    assert not browser.select_next() and not browser.select_next_unjudged()
    with pytest.raises(ValueError):
        browser.set_quadrant_filter("XY")


@pytest.mark.parametrize("column, field", [(CONFIDENCE, "confidence"), (IOU, "iou")])
def test_sorting_is_numeric_with_missing_values_last(browser, small_project, version, column, field):
    browser.set_project(small_project, version)
    current = browser.current_sample()
    predictions = small_project.predictions(version)
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        browser.table.sortByColumn(column, order)
        values = [getattr(predictions[i], field) for i in shown_ids(browser)]
        present = [v for v in values if v is not None]
        assert present == sorted(present, reverse=order == Qt.SortOrder.DescendingOrder)
        assert values == present + [None] * (len(values) - len(present))
        assert browser.current_sample() == current  # sorting keeps the selection
    assert len(set(present)) > 3 and (field == "confidence" or None in values)  # only IoU has gaps
    assert cell(browser, current.id, CONFIDENCE) == f"{predictions[current.id].confidence:.0%}"


def test_suggested_quadrants_look_different_from_human_ones(browser, small_project, version):
    browser.set_project(small_project, version)
    rows = assess(small_project, version)
    human = next(a for a in rows if a.source == "human" and a.quadrant)
    suggested = next(a for a in rows if a.source == "suggestion")
    unassessed = next(a for a in rows if a.quadrant is None)
    assert cell(browser, human.sample.id, QUADRANT) == human.quadrant
    assert cell(browser, human.sample.id, QUADRANT, FOREGROUND) == QUADRANT_COLOURS[human.quadrant]
    assert not cell(browser, human.sample.id, QUADRANT, FONT)
    assert cell(browser, human.sample.id, QUADRANT, TOOLTIP).startswith("judged by a human")
    assert cell(browser, human.sample.id, JUDGED) == CHECK
    assert cell(browser, suggested.sample.id, QUADRANT) == suggested.quadrant + "?"
    assert cell(browser, suggested.sample.id, QUADRANT, FOREGROUND) == MUTED
    assert cell(browser, suggested.sample.id, QUADRANT, FONT).italic()
    assert cell(browser, suggested.sample.id, QUADRANT, TOOLTIP).startswith(f"suggested: {suggested.quadrant}")
    assert cell(browser, suggested.sample.id, JUDGED) == ""
    assert cell(browser, unassessed.sample.id, QUADRANT) == DASH
    assert cell(browser, human.sample.id, IOU) in (DASH, f"{human.prediction.iou:.2f}")


def test_navigation_keys_wrap_within_the_filter(browser, small_project, version, qtbot):
    browser.set_project(small_project, version)
    choose(browser.split_filter, "train")
    ids = shown_ids(browser)
    browser.table.setFocus()
    assert browser.current_sample().id == ids[0]
    for key, expected in ((Qt.Key.Key_D, ids[1]), (Qt.Key.Key_Right, ids[2]), (Qt.Key.Key_A, ids[1]),
                          (Qt.Key.Key_Left, ids[0]), (Qt.Key.Key_Left, ids[-1]), (Qt.Key.Key_D, ids[0]),
                          (Qt.Key.Key_Down, ids[1]), (Qt.Key.Key_Up, ids[0])):
        qtbot.keyClick(browser.table, key)
        assert browser.current_sample().id == expected, key

    unjudged = [i for i in ids if small_project.judgements(version).get(i) is None]
    qtbot.keyClick(browser.table, Qt.Key.Key_N)
    assert browser.current_sample().id == next(i for i in unjudged if i > ids[0])
    unmasked = [s.id for s in small_project.samples(split="train", has_mask=False)]
    browser.select_sample(unmasked[-1])
    qtbot.keyClick(browser.table, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert browser.current_sample().id == unmasked[0]  # wrapped around


def test_letters_typed_into_the_name_filter_do_not_navigate(browser, small_project, qtbot):
    browser.set_project(small_project, None)
    browser.text_filter.setFocus()
    qtbot.keyClicks(browser.text_filter, "dan")
    qtbot.keyClick(browser.text_filter, Qt.Key.Key_Left)
    assert browser.text_filter.text() == "dan" and browser.text_filter.cursorPosition() == 2
    assert browser.current_sample().id == small_project.samples()[0].id


def test_navigation_actions_work_window_wide_from_a_menu(qtbot, small_project):
    window = QMainWindow()
    qtbot.addWidget(window)
    browser, other = SampleBrowser(), QPushButton("elsewhere")
    splitter = QSplitter()
    splitter.addWidget(browser)
    splitter.addWidget(other)
    window.setCentralWidget(splitter)
    menu = window.menuBar().addMenu("&Go")
    actions = browser.navigation_actions()
    assert [a.text().replace("&", "") for a in actions] == [
        "Next sample", "Previous sample", "Next unjudged sample", "Next sample without mask",
        "Next in the annotation queue"]
    assert [a.shortcut().toString() for a in actions] == ["D", "A", "N", "Shift+N", "Q"]
    for action in actions:
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        menu.addAction(action)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    browser.set_project(small_project, None)
    other.setFocus()
    qtbot.keyClick(other, Qt.Key.Key_D)
    qtbot.keyClick(other, Qt.Key.Key_Right)
    assert browser.current_sample().id == small_project.samples()[2].id
    qtbot.keyClick(other, Qt.Key.Key_A)
    assert browser.current_sample().id == small_project.samples()[1].id
    browser.shutdown()


def test_refresh_updates_just_the_edited_rows(browser, small_project, version, qtbot):
    browser.set_project(small_project, version)
    browser.table.sortByColumn(CONFIDENCE, Qt.SortOrder.AscendingOrder)
    target = next(s for s in small_project.samples(has_mask=False) if s.id % 7)
    browser.select_sample(small_project.samples()[-1].id)
    current, scroll = browser.current_sample(), browser.table.verticalScrollBar().value()
    changed = []
    browser.model.dataChanged.connect(lambda top, bottom, *_: changed.append((top.row(), bottom.row())))

    small_project.write_mask(target, np.ones((target.height, target.width), bool))
    small_project.set_judgement(version, target.id, False)
    assert cell(browser, target.id, MASK) == "" and cell(browser, target.id, JUDGED) == ""
    browser.refresh_samples([target.id])
    row = browser.model.row_of(target.id)
    assert changed == [(row, row)]
    assert cell(browser, target.id, MASK) == CHECK and cell(browser, target.id, JUDGED) == CHECK
    correct = small_project.prediction(version, target.id).pred == target.class_idx
    assert cell(browser, target.id, QUADRANT) == ("UA" if correct else "UI")  # human: no "?"
    assert browser.current_sample() == current
    assert browser.table.verticalScrollBar().value() == scroll


def test_the_edited_current_sample_stays_until_the_user_moves_on(browser, small_project, qtbot):
    browser.set_project(small_project, None)
    choose(browser.mask_filter, False)
    first, second = shown_ids(browser)[:2]
    sample = browser.current_sample()
    assert sample.id == first
    small_project.write_mask(sample, np.ones((sample.height, sample.width), bool))
    browser.refresh_samples([first])
    assert browser.current_sample().has_mask and shown_ids(browser)[:2] == [first, second]
    assert browser.select_next_without_mask()
    assert browser.current_sample().id == second and first not in shown_ids(browser)

    small_project.write_mask(second, np.ones((sample.height, sample.width), bool))
    browser.refresh_samples([second])
    third = shown_ids(browser)[2]
    emitted = []
    browser.current_sample_changed.connect(emitted.append)
    browser.select_sample(third)  # the edited row goes away without a detour through its neighbour
    assert [s.id for s in emitted] == [third] and second not in shown_ids(browser)


def test_a_sample_hidden_by_the_filters_can_still_be_selected(browser, small_project, qtbot):
    browser.set_project(small_project, None)
    choose(browser.split_filter, "test")
    train = small_project.samples(split="train")[3]
    with qtbot.waitSignal(browser.current_sample_changed) as signal:
        assert browser.select_sample(train.id)
    assert signal.args == [train] and train.id in shown_ids(browser)
    assert not browser.select_sample(10_000)


def test_switching_version_keeps_the_selection(browser, small_project, version, qtbot):
    browser.set_project(small_project, version)
    browser.select_sample(5)
    browser.set_version(None)
    assert browser.current_sample().id == 5 and cell(browser, 5, CONFIDENCE) == DASH
    browser.set_version(version)
    assert cell(browser, 5, CONFIDENCE).endswith("%") and cell(browser, 5, NAME)


def test_columns_can_be_hidden(browser, small_project):
    browser.set_project(small_project, None)
    browser.set_column_visible(IOU, False)
    assert browser.table.isColumnHidden(IOU) and not browser.column_actions[IOU].isChecked()
    browser.column_actions[IOU].setChecked(True)
    assert not browser.table.isColumnHidden(IOU) and NAME not in browser.column_actions


def test_nothing_left_to_find_says_so(browser, small_project, qtbot):
    browser.set_project(small_project, None)
    choose(browser.mask_filter, True)
    with qtbot.waitSignal(browser.status_message) as signal:
        browser.navigation_actions()[3].trigger()
    assert "without a mask" in signal.args[0]


def test_priority_column_sorts_by_the_annotation_queue_and_q_follows_it(browser, small_project, version, qtbot):
    browser.set_project(small_project, version)
    queue = annotation_queue(assess(small_project, version))
    browser.table.sortByColumn(PRIORITY, Qt.SortOrder.AscendingOrder)
    assert shown_ids(browser) == [e.assessment.sample.id for e in queue]
    top = queue[0]
    assert cell(browser, top.assessment.sample.id, PRIORITY) == f"{top.kind} {round(100 * top.score)}"
    assert top.reason in cell(browser, top.assessment.sample.id, PRIORITY, TOOLTIP)
    browser.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
    browser.select_sample(top.assessment.sample.id)
    assert browser.select_next_in_queue()  # the current one is skipped: the next most useful
    assert browser.current_sample().id == queue[1].assessment.sample.id
    assert browser.select_next_in_queue() and browser.current_sample().id == top.assessment.sample.id


def test_live_predictions_replace_the_columns_until_the_version_is_set_again(browser, small_project, version):
    browser.set_project(small_project, version)
    sample = small_project.samples(split="val")[0]
    stored = cell(browser, sample.id, PREDICTION)
    other = 1 - small_project.prediction(version, sample.id).pred
    live = Prediction(sample.id, other, 0.51, np.zeros((2, 2), np.float32))
    browser.show_live_predictions([live])
    assert cell(browser, sample.id, PREDICTION) == small_project.classes[other]
    assert cell(browser, sample.id, CONFIDENCE) == "51%"
    browser.set_version(version)
    assert cell(browser, sample.id, PREDICTION) == stored


def test_the_count_follows_a_judgement_at_once_while_the_judged_row_stays_in_view(browser, small_project, version):
    browser.set_project(small_project, version)
    ua = [a.sample.id for a in assess(small_project, version) if a.quadrant == "UA" and a.source != "human"]
    unjudged_unreasonable = ua or [a.sample.id for a in assess(small_project, version)
                                   if a.quadrant == "UI" and a.source != "human"]
    quadrant = "UA" if ua else "UI"
    browser.set_quadrant_filter(quadrant)
    before = len(shown_ids(browser))
    current = browser.current_sample().id
    assert current in unjudged_unreasonable
    small_project.set_judgement(version, current, True)  # R: reasonable, so it leaves the quadrant
    browser.refresh_samples([current])
    assert current in shown_ids(browser)  # kept under the cursor until the user moves on
    assert browser.count_label.text() == f"{before - 1} of 48 samples (+ the current one, no longer matching)"
    browser.select_next()
    assert current not in shown_ids(browser) and browser.count_label.text() == f"{before - 1} of 48 samples"


def test_priority_explains_itself_and_agrees_with_the_quadrant(browser, small_project, version):
    from gradia_desktop.qt.browser.table_model import PRIORITY, QUADRANT

    browser.set_project(small_project, version)
    tip = browser.model.headerData(PRIORITY, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "What to annotate next" in tip and "unjudged" in tip
    for a in assess(small_project, version):
        priority = cell(browser, a.sample.id, PRIORITY)
        kind = priority.split(" ")[0]
        if kind in ("UA", "UI", "RI", "RA"):  # a quadrant named in Priority is the one the Quadrant column shows
            assert a.quadrant == kind and cell(browser, a.sample.id, QUADRANT).startswith(kind), (priority, a)
        assert "unchecked" not in priority
