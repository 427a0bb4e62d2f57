"""The issue's end-to-end check: paint, erase, fill, undo, redo, move away and back, all on disk."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradia_desktop.core.images import read_mask
from gradia_desktop.core.mask_edit import MaskEditor

from ..helpers_qt import open_main_window

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


@pytest.fixture
def window(qtbot, small_project_dir):
    return open_main_window(qtbot, small_project_dir, (1100, 750))


def _pos(window, x, y):
    return window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))


def _drag(window, points):
    vp = window.canvas.viewport()
    QTest.mousePress(vp, LEFT, NONE, _pos(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, _pos(window, *p))
    QTest.mouseRelease(vp, LEFT, NONE, _pos(window, *points[-1]))


def _on_disk(window, sample):
    window.autosaver.flush()
    path = window.project.mask_path(sample.id)
    return read_mask(path) if path.exists() else np.zeros((sample.height, sample.width), bool)


def test_paint_erase_fill_undo_redo_and_come_back(window, qtbot):
    # A sample without a mask, so every pixel on disk comes from this test.
    while window.current_sample.has_mask:
        window.browser.select_next()
    sample = window.current_sample
    shape = (sample.height, sample.width)
    expected = MaskEditor(shape)

    window.canvas.set_tool("brush")
    window.canvas.set_brush_radius(3)
    ring = [(20, 20), (40, 20), (40, 40), (20, 40), (20, 20)]
    _drag(window, ring)
    expected.begin_stroke(True, 3)
    for p in ring:
        expected.stroke_to(*p)
    expected.end_stroke()
    assert np.array_equal(_on_disk(window, sample), expected.mask)
    assert window.status.status_line.save_label.text() in ("saved", "saving\u2026")

    window.canvas.set_tool("eraser")
    _drag(window, [(20, 30), (30, 30)])
    expected.begin_stroke(False, 3)
    expected.stroke_to(20, 30), expected.stroke_to(30, 30)
    expected.end_stroke()
    assert np.array_equal(_on_disk(window, sample), expected.mask)

    window.canvas.set_tool("fill")
    QTest.mouseClick(window.canvas.viewport(), LEFT, NONE, _pos(window, 5, 5))  # the outside
    expected.flood_fill(5, 5, True)
    assert np.array_equal(_on_disk(window, sample), expected.mask)

    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    expected.undo()
    assert np.array_equal(_on_disk(window, sample), expected.mask)
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    expected.redo()
    painted = expected.mask.copy()
    assert np.array_equal(_on_disk(window, sample), painted)

    window.browser.select_next()
    assert window.current_sample.id != sample.id
    window.browser.select_sample(sample.id)
    assert np.array_equal(window.canvas.editor().mask, painted)
    qtbot.waitUntil(lambda: window.browser.current_sample().has_mask, timeout=5000)  # refreshed after the save
    assert np.array_equal(window.project.read_mask(sample), painted)


def test_the_training_form_counts_a_new_mask_as_soon_as_the_stroke_is_saved(window, qtbot):
    panel = window.models.training.panel
    assert panel.inputs.text() == "Uses the labels only: no masks"  # no model yet: a baseline form
    panel.mode.setCurrentIndex(panel.mode.findData("guided"))
    before = window.project.count_masked("train")
    assert panel.inputs.text().startswith(f"Uses {before} masked training image")
    sample = window.project.samples(split="train", has_mask=False)[0]
    window.browser.select_sample(sample.id)
    qtbot.waitUntil(lambda: window.current_sample is not None and window.current_sample.id == sample.id)
    window.canvas.set_tool("brush")
    window.canvas.set_brush_radius(3)
    _drag(window, [(20, 20), (30, 20)])
    window.autosaver.flush()
    qtbot.waitUntil(lambda: panel.inputs.text().startswith(f"Uses {before + 1} masked training images"))


def test_a_new_mask_gets_its_iou_and_suggestion_at_once_and_the_matrix_counts_it(qtbot, small_project_dir):
    from gradia_desktop.core.store import Project
    from gradia_desktop.qt.browser.table_model import IOU, QUADRANT
    from gradia_desktop.training.config import TrainConfig
    from gradia_desktop.training.trainer import train

    with Project.open(small_project_dir) as project:
        train(project, TrainConfig(mode="baseline", epochs=1, batch_size=8, image_size=32, device="cpu"))
    window = open_main_window(qtbot, small_project_dir, (1100, 750))
    matrix = window.models.matrix
    matrix.set_split("train")
    placed_before = sum(matrix.view._matrix[q] for q in ("RA", "UA", "RI", "UI"))
    sample = window.project.samples(split="train", has_mask=False)[0]
    window.browser.select_sample(sample.id)
    qtbot.waitUntil(lambda: window.current_sample is not None and window.current_sample.id == sample.id)
    model = window.browser.model
    row = model.row_of(sample.id)
    assert model.index(row, IOU).data() in ("\u2014", "", None)  # no mask, no IoU yet
    window.canvas.set_tool("brush")
    window.canvas.set_brush_radius(6)
    _drag(window, [(10, 10), (40, 10), (40, 40), (10, 40)])
    window.autosaver.flush()
    qtbot.waitUntil(lambda: window.project.prediction(window.version.id, sample.id).iou is not None)
    stored = window.project.prediction(window.version.id, sample.id)
    assert model.index(model.row_of(sample.id), IOU).data() == f"{stored.iou:.2f}"
    assert model.index(model.row_of(sample.id), QUADRANT).data() not in ("\u2014", "", None)  # a suggestion now
    assert window.predictions[sample.id].iou == stored.iou
    assert sum(matrix.view._matrix[q] for q in ("RA", "UA", "RI", "UI")) == placed_before + 1  # counted at once


def test_click_to_mask_on_the_main_window_masks_the_object_undoes_and_saves(window, qtbot):
    while not window.current_sample.has_mask or window.current_sample.split == "train":
        window.browser.select_next()  # a validation or test sample: its stored mask is the exact object
    sample = window.current_sample
    exact = _on_disk(window, sample)
    window.tools.clear.trigger()  # from here on the mask comes from the clicks
    assert not _on_disk(window, sample).any()
    QTest.keyClick(window.canvas, Qt.Key.Key_C)
    assert window.canvas.tool() == "click"
    depth = cv2.distanceTransform(np.pad(exact, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    QTest.mouseClick(window.canvas.viewport(), LEFT, NONE, _pos(window, x, y))
    clicked = _on_disk(window, sample)  # autosaved
    assert (clicked & exact).sum() / (clicked | exact).sum() > 0.9
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not _on_disk(window, sample).any()  # one click, one undo step
