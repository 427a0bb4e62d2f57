"""VersionCompareDialog: matrices per split through the callable, metrics table, heatmaps, robust to gaps."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gradia_desktop.errors import GradiaError
from gradia_desktop.qt.models.matrix_view import BAD, GOOD
from gradia_desktop.qt.models.version_compare import VersionCompareDialog
from .test_matrix_view import matrix
from .test_versions_panel import make_version

OLDER = make_version(1, val=(0.9, 0.2))
NEWER = make_version(2, parent=1, mode="gradia-all", counterfactual=True, val=(0.95, 0.5))


@pytest.fixture
def calls():
    return []


@pytest.fixture
def dialog(qtbot, calls):
    def matrix_for(version_id, split):
        calls.append((version_id, split))
        if split == "test" and version_id == 1:
            return None
        if split == "train":
            raise GradiaError("no predictions stored for train")
        return matrix(ra=400 + 50 * (version_id - 1), ua=200 - 50 * (version_id - 1))

    heat = {1: np.full((64, 48, 3), (200, 30, 30), np.uint8), 2: None}
    d = VersionCompareDialog(OLDER, NEWER, matrix_for, heat.get, split="val", image_caption="train/cat/001.png")
    qtbot.addWidget(d)
    d.show()
    return d


def test_matrices_come_from_the_callable_with_deltas(dialog, calls):
    assert calls == [(1, "val"), (2, "val")]
    old, new = dialog.matrices[1], dialog.matrices[2]
    assert "400" in old.text_of("RA") and "\u2191" not in old.text_of("RA")
    assert "450" in new.text_of("RA") and "\u2191 50" in new.text_of("RA") and "\u2193 50" in new.text_of("UA")
    assert "v2" in new.title.text() and "val" in new.title.text()


def test_split_change_asks_again(dialog, calls):
    calls.clear()
    dialog.split_combo.setCurrentIndex(dialog.split_combo.findData("test"))
    assert calls == [(1, "test"), (2, "test")] and dialog.split() == "test"
    assert dialog.matrices[1].stack.currentWidget() is dialog.matrices[1].empty
    assert "\u2191" not in dialog.matrices[2].text_of("RA")  # no older matrix: no delta
    dialog.set_split("train")
    assert "no predictions stored" in dialog.matrices[1].empty.text()
    dialog.set_split("all")
    assert calls[-1] == (2, "all") and "all splits" in dialog.matrices[2].title.text()


def test_metrics_table(dialog):
    t = dialog.metrics_table
    rows = [t.verticalHeaderItem(r).text() for r in range(t.rowCount())]
    r = rows.index("val accuracy")
    assert [t.item(r, c).text() for c in range(3)] == ["0.900", "0.950", "+0.050"]
    r = rows.index("val IoU")
    assert t.item(r, 2).text() == "+0.300"
    assert "test pointing" in rows and "train energy" in rows


def test_heatmaps_side_by_side(dialog):
    left, right = dialog.heatmaps[1], dialog.heatmaps[2]
    assert left.source().size().toTuple() == (48, 64)
    shown = left.pixmap()
    assert not shown.isNull() and shown.height() > 64  # scaled up to the label, aspect kept
    assert abs(shown.width() / shown.height() - 48 / 64) < 0.05
    assert right.text() == "no heatmap" and right.source().isNull()
    assert dialog.image_caption.text() == "train/cat/001.png"
    image = left.pixmap().toImage()
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    assert (colour.red(), colour.green(), colour.blue()) == (200, 30, 30)
    assert left.geometry().center().x() < right.geometry().center().x()


def test_missing_metrics_and_no_heatmap_callable(qtbot):
    failed = make_version(3, status="failed")
    d = VersionCompareDialog(OLDER, failed, lambda vid, split: None)
    qtbot.addWidget(d)
    t = d.metrics_table
    assert t.item(0, 1).text() == "\u2013" and t.item(0, 2).text() == "\u2013"
    assert d.heatmaps[3].text() == "no heatmap"


def test_quadrant_clicks_are_passed_on(dialog, qtbot):
    with qtbot.waitSignal(dialog.quadrant_clicked) as blocker:
        qtbot.mouseClick(dialog.matrices[2].cell("UA"), Qt.MouseButton.LeftButton)
    assert blocker.args == [2, "UA"]


def metric_rows(table):
    """Row label -> (older, newer, change) texts and the change's colour (None when uncoloured)."""
    rows = {}
    for r in range(table.rowCount()):
        change = table.item(r, 2)
        colour = None if change.foreground().style() == Qt.BrushStyle.NoBrush else change.foreground().color().name()
        rows[table.verticalHeaderItem(r).text()] = ([table.item(r, c).text() for c in range(3)], colour)
    return rows


def compare(qtbot, older, newer):
    d = VersionCompareDialog(older, newer, lambda vid, split: None)
    qtbot.addWidget(d)
    return d


def test_probe_rows_are_coloured_by_which_way_is_better(qtbot):
    older = make_version(1, val=(0.9, 0.2), val_probe=(40, 0.9, 0.6, 0.3), test_probe=(38, 0.88, 0.7, 0.18))
    newer = make_version(2, parent=1, val=(0.95, 0.5), val_probe=(40, 0.95, 0.85, 0.1),
                         test_probe=(38, 0.9, 0.65, 0.25))
    rows = metric_rows(compare(qtbot, older, newer).metrics_table)
    assert rows["val accuracy"] == (["0.900", "0.950", "+0.050"], GOOD)
    assert rows["val CF accuracy"] == (["0.600", "0.850", "+0.250"], GOOD)
    assert rows["val shortcut reliance"] == (["0.300", "0.100", "-0.200"], GOOD)  # lower is better
    assert rows["test CF accuracy"] == (["0.700", "0.650", "-0.050"], BAD)
    assert rows["test shortcut reliance"] == (["0.180", "0.250", "+0.070"], BAD)
    labels = list(rows)
    assert labels.index("val CF accuracy") == labels.index("val pointing") + 1
    assert labels.index("val shortcut reliance") == labels.index("val CF accuracy") + 1
    assert "train CF accuracy" not in rows and "train shortcut reliance" not in rows


def test_probe_rows_only_where_a_version_was_probed(dialog, qtbot):
    assert not any("CF accuracy" in label or "reliance" in label for label in metric_rows(dialog.metrics_table))
    probed = make_version(3, parent=1, val_probe=(40, 0.95, 0.85, 0.1))
    rows = metric_rows(compare(qtbot, OLDER, probed).metrics_table)
    assert rows["val CF accuracy"] == (["\u2013", "0.850", "\u2013"], None)
    assert rows["val shortcut reliance"] == (["\u2013", "0.100", "\u2013"], None)
    assert "test CF accuracy" not in rows


def test_unchanged_reliance_is_not_coloured(qtbot):
    older = make_version(1, val_probe=(40, 0.9, 0.8, 0.1))
    newer = make_version(2, parent=1, val_probe=(40, 0.9, 0.8, 0.1))
    rows = metric_rows(compare(qtbot, older, newer).metrics_table)
    assert rows["val shortcut reliance"] == (["0.100", "0.100", "\u00b10"], None)


def test_a_heatmap_that_cannot_be_made_says_why(qtbot):
    reasons = {1: "model v1 has no checkpoint (its run ended failed)", 2: None}
    d = VersionCompareDialog(OLDER, NEWER, lambda vid, split: None, lambda vid: reasons[vid])
    qtbot.addWidget(d)
    assert d.heatmaps[1].text() == f"no heatmap: {reasons[1]}" and d.heatmaps[1].toolTip() == reasons[1]
    assert d.heatmaps[2].text() == "no heatmap"


def test_faithfulness_rows_where_it_was_measured_lower_deletion_is_better(qtbot):
    older, newer = make_version(1), make_version(2, parent=1)
    older.metrics["val"].update(deletion_auc=0.62, insertion_auc=0.55)
    newer.metrics["val"].update(deletion_auc=0.41, insertion_auc=0.71)
    rows = metric_rows(compare(qtbot, older, newer).metrics_table)
    assert rows["val deletion AUC"] == (["0.620", "0.410", "-0.210"], GOOD)
    assert rows["val insertion AUC"] == (["0.550", "0.710", "+0.160"], GOOD)
    assert "test deletion AUC" not in rows
