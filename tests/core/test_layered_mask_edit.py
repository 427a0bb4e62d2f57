"""core/layered_mask_edit.py: two layers, the active one edited by every tool, one undo history."""

from __future__ import annotations

import numpy as np
import pytest

from gradia_desktop.core.layered_mask_edit import AVOID, LOOK, LayeredMaskEditor
from gradia_desktop.core.mask_edit import MaskEditor
from gradia_desktop.core.mask_layers import MaskLayers

SHAPE = (20, 30)


def stroke(editor, points, value=True, radius=1.5):
    editor.begin_stroke(value, radius)
    for x, y in points:
        editor.stroke_to(x, y)
    return editor.end_stroke()


def snapshot(editor: LayeredMaskEditor) -> tuple[np.ndarray, np.ndarray]:
    return editor.mask.copy(), editor.avoid_mask.copy()


def same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_every_tool_edits_the_active_layer_only():
    image = np.zeros((*SHAPE, 3), np.uint8)
    image[5:10, 5:10] = 200
    operations = [
        lambda e: stroke(e, [(3, 3), (12, 3)]),
        lambda e: e.flood_fill(1, 1, True),
        lambda e: e.wand_fill(image, 6, 6, 10, True),
        lambda e: e.fill_polygon([(2, 2), (8, 2), (8, 8)], True),
        lambda e: e.invert(),
        lambda e: e.replace(np.eye(*SHAPE, dtype=bool)),
    ]
    for operation in operations:
        for layer in (LOOK, AVOID):
            editor = LayeredMaskEditor(SHAPE)
            editor.set_active_layer(layer)
            assert operation(editor) is not None
            assert editor.changed_layer == layer
            assert editor.active_mask.any() and editor.active_mask is editor.layer(layer).mask
            other = AVOID if layer == LOOK else LOOK
            assert not editor.layer(other).mask.any()


def test_eraser_and_clear_take_away_from_the_active_layer_alone():
    look = np.ones(SHAPE, bool)
    avoid = np.ones(SHAPE, bool)
    editor = LayeredMaskEditor(SHAPE, look, avoid)
    editor.set_active_layer(AVOID)
    stroke(editor, [(5, 5)], value=False)
    assert not editor.avoid_mask[5, 5] and editor.mask.all()
    editor.clear()
    assert not editor.avoid_mask.any() and editor.mask.all()


def test_undo_and_redo_follow_the_order_of_the_edits_across_layers():
    editor = LayeredMaskEditor(SHAPE)
    states = [snapshot(editor)]
    stroke(editor, [(3, 3), (10, 3)])  # look
    states.append(snapshot(editor))
    editor.set_active_layer(AVOID)
    stroke(editor, [(3, 12), (10, 12)])
    states.append(snapshot(editor))
    editor.set_active_layer(LOOK)
    editor.fill_polygon([(20, 2), (28, 2), (28, 10)], True)
    states.append(snapshot(editor))
    editor.set_active_layer(AVOID)
    editor.flood_fill(25, 18, True)
    states.append(snapshot(editor))
    assert editor.undo_depth == 4 and not editor.can_redo

    changed = []
    for expected in reversed(states[:-1]):
        assert editor.undo() is not None
        changed.append(editor.changed_layer)
        assert same(snapshot(editor), expected)
    assert changed == [AVOID, LOOK, AVOID, LOOK]
    assert not editor.can_undo and editor.undo() is None
    for expected in states[1:]:
        assert editor.redo() is not None
        assert same(snapshot(editor), expected)
    assert not editor.can_redo


def test_a_new_edit_on_either_layer_ends_both_layers_redo():
    editor = LayeredMaskEditor(SHAPE)
    stroke(editor, [(3, 3)])  # look
    editor.set_active_layer(AVOID)
    stroke(editor, [(9, 9)])
    editor.undo()
    editor.undo()
    assert editor.can_redo and editor.look.can_redo and editor.avoid.can_redo
    stroke(editor, [(15, 15)])  # avoid, still the active layer
    assert not editor.can_redo and not editor.look.can_redo and not editor.avoid.can_redo
    assert editor.redo() is None
    editor.undo()
    assert not editor.mask.any() and not editor.avoid_mask.any()


def test_an_open_stroke_is_committed_to_its_own_layer_before_anything_else():
    editor = LayeredMaskEditor(SHAPE)
    editor.begin_stroke(True, 1.5)
    editor.stroke_to(4, 4)
    assert editor.can_undo and editor.undo_depth == 0
    editor.set_active_layer(AVOID)  # mid-stroke: the stroke stays a look stroke
    assert editor.mask[4, 4] and not editor.avoid_mask.any() and editor.undo_depth == 1
    editor.begin_stroke(True, 1.5)
    editor.stroke_to(10, 10)
    editor.undo()  # undoes the open avoid stroke whole
    assert not editor.avoid_mask.any() and editor.mask[4, 4]
    with pytest.raises(ValueError):
        editor.stroke_to(1, 1)
    with pytest.raises(ValueError):
        editor.set_active_layer("elsewhere")


def test_version_grows_with_every_change_and_layers_give_look_the_overlap():
    editor = LayeredMaskEditor(SHAPE)
    versions = [editor.version]
    stroke(editor, [(5, 5)])
    versions.append(editor.version)
    editor.set_active_layer(AVOID)
    stroke(editor, [(5, 5), (10, 5)])
    versions.append(editor.version)
    editor.undo()
    versions.append(editor.version)
    editor.redo()
    versions.append(editor.version)
    assert versions == sorted(set(versions))
    layers = editor.layers()
    assert layers.look[5, 5] and not layers.avoid[5, 5] and layers.avoid[5, 10]
    assert editor.avoid_mask[5, 5]  # the editor keeps what was painted; only the saved layers resolve it
    assert editor.avoid_coverage == layers.avoid.sum() / layers.avoid.size


def test_over_adopts_a_mask_editor_as_the_look_layer_with_its_history():
    look = MaskEditor(SHAPE)
    stroke(look, [(2, 2)])
    stroke(look, [(8, 8)])
    look.undo()
    editor = LayeredMaskEditor.over(look)
    assert editor.mask is look.mask and editor.undo_depth == 1 and editor.can_redo
    editor.redo()
    assert look.mask[8, 8]
    editor.set_active_layer(AVOID)
    stroke(editor, [(15, 15)])
    editor.undo(), editor.undo(), editor.undo()
    assert not look.mask.any() and not editor.avoid_mask.any() and not editor.can_undo


def test_the_history_is_bounded_and_stays_in_step_with_the_layers():
    editor = LayeredMaskEditor(SHAPE, max_undo=3)
    for i in range(6):
        editor.set_active_layer(LOOK if i % 2 == 0 else AVOID)
        stroke(editor, [(2 + 4 * i, 5)], radius=1.0)
    assert editor.undo_depth == 3
    for _ in range(3):
        assert editor.undo() is not None
    assert editor.undo() is None
    assert editor.mask[5, 2] and editor.avoid_mask[5, 6] and editor.mask[5, 10]  # the three oldest stay
    assert not editor.avoid_mask[5, 14] and not editor.mask[5, 18] and not editor.avoid_mask[5, 22]


def test_avoid_empty_follows_the_dont_look_layer():
    editor = LayeredMaskEditor(SHAPE)
    assert editor.avoid_empty
    stroke(editor, [(3, 3)])  # look
    assert editor.avoid_empty
    editor.set_active_layer(AVOID)
    stroke(editor, [(9, 9)])
    assert not editor.avoid_empty
    editor.undo()
    assert editor.avoid_empty
    assert not LayeredMaskEditor(SHAPE, avoid=np.ones(SHAPE, bool)).avoid_empty


def test_of_edits_stored_layers_or_starts_empty():
    look = np.zeros(SHAPE, bool)
    look[2:5, 2:5] = True
    avoid = np.zeros(SHAPE, bool)
    avoid[10:12, :] = True
    editor = LayeredMaskEditor.of(SHAPE, MaskLayers.of(look, avoid))
    assert np.array_equal(editor.mask, look) and np.array_equal(editor.avoid_mask, avoid) and not editor.avoid_empty
    two_state = LayeredMaskEditor.of(SHAPE, MaskLayers.of(look))
    assert np.array_equal(two_state.mask, look) and two_state.avoid_empty and not two_state.can_undo
    assert not LayeredMaskEditor.of(SHAPE, None).mask.any()
