"""A stroke snapped to regions (MaskEditor.end_stroke(snap_to)) and one region filled (fill_region):
each one undo step that restores exactly what was there."""

from __future__ import annotations

import numpy as np
import pytest

from gradia_desktop.core.layered_mask_edit import AVOID, LOOK, LayeredMaskEditor
from gradia_desktop.core.mask_edit import TILE, MaskEditor


def quadrants(h: int, w: int) -> np.ndarray:
    """Labels 0..3: top-left, top-right, bottom-left, bottom-right."""
    labels = np.zeros((h, w), np.int32)
    labels[:, w // 2:] += 1
    labels[h // 2:, :] += 2
    return labels


def stroke(editor, points, value=True, radius=1.0, snap_to=None):
    editor.begin_stroke(value, radius)
    for x, y in points:
        editor.stroke_to(x, y)
    return editor.end_stroke(snap_to)


def test_a_snapped_stroke_becomes_the_regions_it_touched_in_one_undo_step():
    labels = quadrants(20, 30)
    editor = MaskEditor((20, 30))
    rect = stroke(editor, [(5, 4), (18, 4)], snap_to=labels)  # from the top-left into the top-right quadrant
    assert np.array_equal(editor.mask, labels <= 1) and rect == (0, 0, 30, 10)
    assert editor.undo_depth == 1
    editor.undo()
    assert not editor.mask.any() and not editor.can_undo
    editor.redo()
    assert np.array_equal(editor.mask, labels <= 1)


def test_a_snapped_eraser_stroke_erases_whole_regions_and_undo_restores_every_pixel():
    h = w = TILE + 60  # the stroke's saved tiles and the grown box cross tile borders
    labels = quadrants(h, w)
    rng = np.random.default_rng(0)
    before = rng.random((h, w)) > 0.3
    editor = MaskEditor((h, w), before)
    stroke(editor, [(40, 40), (60, 40)], value=False, radius=3, snap_to=labels)
    assert np.array_equal(editor.mask, before & (labels != 0))
    editor.undo()
    assert np.array_equal(editor.mask, before)


def test_a_stroke_that_changed_nothing_grows_nothing():
    labels = quadrants(20, 30)
    editor = MaskEditor((20, 30), labels == 0)
    assert stroke(editor, [(3, 3), (6, 3)], snap_to=labels) is None  # over painted pixels only
    assert np.array_equal(editor.mask, labels == 0) and editor.undo_depth == 0


def test_labels_of_another_shape_are_refused_and_the_stroke_stays_open():
    editor = MaskEditor((20, 30))
    editor.begin_stroke(True, 1)
    editor.stroke_to(5, 5)
    with pytest.raises(ValueError, match="labels shape"):
        editor.end_stroke(np.zeros((10, 10), np.int32))
    assert editor.end_stroke() is not None and editor.mask.sum() == 5


def test_fill_region_is_one_step_and_nothing_to_change_is_no_step():
    editor = MaskEditor((20, 30))
    region = quadrants(20, 30) == 3
    assert editor.fill_region(region, True) == (15, 10, 30, 20)
    assert np.array_equal(editor.mask, region)
    assert editor.fill_region(region, True) is None and editor.undo_depth == 1
    editor.fill_region(region, False)
    assert not editor.mask.any()
    editor.undo()
    assert np.array_equal(editor.mask, region)
    with pytest.raises(ValueError):
        editor.fill_region(np.ones((3, 3), bool), True)


def test_the_layered_editor_snaps_and_fills_the_active_layer_in_its_one_history():
    labels = quadrants(20, 30)
    editor = LayeredMaskEditor((20, 30))
    editor.set_active_layer(AVOID)
    editor.begin_stroke(True, 1)
    editor.stroke_to(20, 15)
    assert editor.stroke_open
    editor.end_stroke(labels)
    assert not editor.stroke_open and np.array_equal(editor.avoid_mask, labels == 3) and not editor.mask.any()
    editor.set_active_layer(LOOK)
    editor.fill_region(labels == 0, True)
    assert np.array_equal(editor.mask, labels == 0) and editor.undo_depth == 2
    editor.undo()
    editor.undo()
    assert not editor.mask.any() and not editor.avoid_mask.any()
