"""VersionsPanel: rows from Version records, selection signals only for the user, Compare on two rows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from gradia_desktop.core.records import Version
from gradia_desktop.qt.models.versions_panel import COLUMNS, VersionsPanel


def summary(acc, iou):
    return {"n": 100, "accuracy": acc, "n_masked": 50, "iou": iou, "energy": 0.5, "pointing": 0.8, "matrix": {}}


def probed(split_summary, n, masked_acc, cf_acc, reliance):
    """A split summary with the shortcut probe's figures (reliance given, so no float rounding is involved)."""
    return {**split_summary, "n_counterfactual": n, "masked_accuracy": masked_acc, "counterfactual_accuracy": cf_acc,
            "shortcut_reliance": reliance}


def make_version(vid, parent=None, mode="baseline", status="done", note=None, counterfactual=False, val=(0.9, 0.2),
                 test_acc=0.85, val_probe=None, test_probe=None, selection_rule=None):
    """``val_probe`` / ``test_probe``: (n, masked accuracy, counterfactual accuracy, reliance) or None (an older
    version, trained before the probe existed)."""
    metrics = {} if status != "done" else {"best_epoch": 6, "seconds": 42.0, "train": summary(0.99, 0.3),
                                           "val": summary(*val), "test": summary(test_acc, 0.25)}
    if val_probe is not None:
        metrics["val"] = probed(metrics["val"], *val_probe)
    if test_probe is not None:
        metrics["test"] = probed(metrics["test"], *test_probe)
    if selection_rule is not None:
        metrics["selection_rule"] = selection_rule
    return Version(id=vid, parent_id=parent, created=1_764_000_000.0 + vid * 60, status=status, mode=mode,
                   arch="tiny", cam_layer="features.6", image_size=64,
                   config={"epochs": 8, "counterfactual": counterfactual}, checkpoint="m.safetensors",
                   best_epoch=6 if status == "done" else None, metrics=metrics, note=note)


VERSIONS = [make_version(1), make_version(2, parent=1, mode="gradia-all", counterfactual=True, val=(0.998, 0.563),
                                          test_acc=0.995),
            make_version(3, parent=2, status="failed", note="CUDA out of memory")]


@pytest.fixture
def panel(qtbot):
    w = VersionsPanel()
    qtbot.addWidget(w)
    w.resize(700, 250)
    w.show()
    return w


def cell(panel, row, name):
    return panel.table.item(row, COLUMNS.index(name)).text()


def test_rows_show_the_versions_newest_first(panel):
    panel.set_versions(VERSIONS, 2)
    assert panel.table.rowCount() == 3
    assert [cell(panel, r, "Version") for r in range(3)] == ["v3", "v2", "v1"]
    assert cell(panel, 1, "Parent") == "v1" and cell(panel, 2, "Parent") == "\u2013"
    assert cell(panel, 1, "Mode") == "gradia-all+cf" and cell(panel, 2, "Mode") == "baseline"
    assert cell(panel, 1, "Val acc") == "0.998" and cell(panel, 1, "Val IoU") == "0.563"
    assert cell(panel, 1, "Test acc") == "0.995" and cell(panel, 1, "Epochs") == "6/8"
    assert cell(panel, 0, "Status") == "failed: CUDA out of memory" and cell(panel, 0, "Val acc") == "\u2013"
    assert cell(panel, 1, "Created").startswith("20")
    assert "test: accuracy 0.995" in panel.table.item(1, 0).toolTip()
    assert "compare" in panel.hint.text()


def test_programmatic_selection_is_silent(panel, qtbot):
    with qtbot.assertNotEmitted(panel.version_selected):
        panel.set_versions(VERSIONS, 2)
        panel.set_versions(VERSIONS, 1)
    assert panel.selected_version() == 1


def test_user_selection_emits(panel, qtbot):
    panel.set_versions(VERSIONS, 2)
    rect = panel.table.visualItemRect(panel.table.item(2, 0))  # v1
    with qtbot.waitSignal(panel.version_selected) as blocker:
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [1] and panel.selected_version() == 1
    panel.table.setFocus()
    with qtbot.waitSignal(panel.version_selected) as blocker:
        qtbot.keyClick(panel.table, Qt.Key.Key_Up)
    assert blocker.args == [2]


def test_compare_needs_two_rows_and_sends_older_first(panel, qtbot):
    panel.set_versions(VERSIONS, 2)
    assert not panel.compare_button.isEnabled()
    rect = panel.table.visualItemRect(panel.table.item(2, 0))  # v1
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     rect.center())
    assert panel.compare_button.isEnabled() and panel.selected_pair() == (1, 2)
    with qtbot.waitSignal(panel.compare_requested) as blocker:
        qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [1, 2]
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    panel.table.selectionModel().select(panel.table.model().index(0, 0), flags)  # v3 failed: not selectable
    assert panel.compare_button.isEnabled() and panel.selected_pair() == (1, 2)
    panel.set_versions([*VERSIONS, make_version(4, parent=2)], 2)
    for row in (0, 3):  # v4 and v1
        panel.table.selectionModel().select(panel.table.model().index(row, 0), flags)
    assert not panel.compare_button.isEnabled()  # three rows


def test_empty(panel):
    panel.set_versions([], None)
    assert panel.table.rowCount() == 0 and "No model versions" in panel.hint.text()
    assert panel.selected_version() is None and not panel.compare_button.isEnabled()


RULE = "counterfactual validation accuracy, among epochs within 0.05 of the best validation accuracy"
PROBED = make_version(4, parent=2, mode="gradia", val=(0.97, 0.41), test_acc=0.93, val_probe=(40, 0.975, 0.825, 0.15),
                      test_probe=(38, 0.947, 0.684, 0.263), selection_rule=RULE)


def test_probe_columns_show_the_validation_figures(panel):
    panel.set_versions([*VERSIONS, PROBED], 4)
    assert cell(panel, 0, "Version") == "v4"
    assert cell(panel, 0, "Val CF acc") == "0.825" and cell(panel, 0, "Val reliance") == "0.150"
    assert cell(panel, 0, "Val acc") == "0.970" and cell(panel, 0, "Test acc") == "0.930"
    for row in (1, 2, 3):  # trained before the probe, or failed
        assert cell(panel, row, "Val CF acc") == "\u2013" and cell(panel, row, "Val reliance") == "\u2013"
    for name in ("Val CF acc", "Val reliance"):
        item = panel.table.item(0, COLUMNS.index(name))
        assert item.textAlignment() & Qt.AlignmentFlag.AlignRight
        assert panel.table.horizontalHeaderItem(COLUMNS.index(name)).toolTip()
    assert "lower is better" in panel.table.horizontalHeaderItem(COLUMNS.index("Val reliance")).toolTip()


def test_negative_reliance_is_shown_with_its_sign(panel):
    v = make_version(5, val_probe=(12, 0.75, 0.833, -0.083))
    panel.set_versions([v], 5)
    assert cell(panel, 0, "Val CF acc") == "0.833" and cell(panel, 0, "Val reliance") == "-0.083"


def test_tooltip_carries_the_probe_and_the_selection_rule(panel):
    panel.set_versions([*VERSIONS, PROBED], 4)
    tip = panel.table.item(0, COLUMNS.index("Status")).toolTip()
    assert ("val shortcut probe on 40 masked images: accuracy 0.975, with swapped backgrounds 0.825, "
            "reliance 0.150") in tip
    assert ("test shortcut probe on 38 masked images: accuracy 0.947, with swapped backgrounds 0.684, "
            "reliance 0.263") in tip
    assert f"epoch 6 kept, chosen by {RULE}" in tip
    assert "train shortcut probe" not in tip
    old_tip = panel.table.item(3, 0).toolTip()  # v1
    assert "shortcut probe" not in old_tip and "chosen by" not in old_tip


UNFINISHED = [make_version(1), make_version(2, parent=1, status="failed", note="loss became NaN at epoch 2"),
              make_version(3, parent=1, status="cancelled", note="cancelled by the user"),
              make_version(4, parent=1, status="running")]


def test_unfinished_versions_are_listed_greyed_with_their_reason_and_cannot_be_selected(panel, qtbot):
    panel.set_versions(UNFINISHED, 1)
    assert [cell(panel, r, "Version") for r in range(4)] == ["v4", "v3", "v2", "v1"]
    assert cell(panel, 0, "Status") == "unfinished"
    assert cell(panel, 1, "Status") == "cancelled: cancelled by the user"
    assert cell(panel, 2, "Status") == "failed: loss became NaN at epoch 2"
    assert "loss became NaN at epoch 2" in panel.table.item(2, 0).toolTip()
    assert "Another process is training it" in panel.table.item(0, 0).toolTip()
    for row in range(3):
        item = panel.table.item(row, 0)
        assert not item.flags() & Qt.ItemFlag.ItemIsSelectable and item.font().italic()
    with qtbot.assertNotEmitted(panel.version_selected):
        for row in range(3):
            rect = panel.table.visualItemRect(panel.table.item(row, 0))
            qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.selected_version() in (None, 1)
    panel.set_versions(UNFINISHED, 4)  # never shown as the selected one
    assert panel.selected_version() is None
    panel.set_versions(UNFINISHED, 1, training=True)
    assert cell(panel, 0, "Status") == "running"


def test_only_unfinished_versions_say_so(panel):
    panel.set_versions(UNFINISHED[1:3], None)
    assert "No finished model version" in panel.hint.text()


def test_faithfulness_columns_show_what_eval_measured(panel):
    measured = make_version(4, parent=1)
    measured.metrics["val"].update(deletion_auc=0.412, insertion_auc=0.733)
    panel.set_versions([make_version(1), measured], 4)
    assert cell(panel, 0, "Val deletion") == "0.412" and cell(panel, 0, "Val insertion") == "0.733"
    assert cell(panel, 1, "Val deletion") == "\u2013"
    assert "val faithfulness: deletion AUC 0.412" in panel.table.item(0, 0).toolTip()
