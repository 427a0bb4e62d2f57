"""core/mask_edit.py: brush/eraser geometry, fills, and the compact undo/redo history."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from gradia_desktop.core.mask_edit import TILE, MaskEditor, mask_from_heatmap


def grid(rows: list[str]) -> np.ndarray:
    """A bool mask drawn as text: '#' is True, '.' is False."""
    return np.array([[c == "#" for c in row] for row in rows], bool)


def stroke(ed: MaskEditor, points, value=True, radius=1.0):
    ed.begin_stroke(value, radius)
    for x, y in points:
        ed.stroke_to(x, y)
    return ed.end_stroke()


def snap(v: float) -> int:
    return math.floor(v + 0.5)


def capsule_reference(shape, a, b, r) -> np.ndarray:
    """Pixels whose centre is within r of segment a-b: brute force over the whole mask."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    if dx == 0 and dy == 0:
        d2 = (xx - ax) ** 2 + (yy - ay) ** 2
    else:
        t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        d2 = (xx - ax - t * dx) ** 2 + (yy - ay - t * dy) ** 2
    return d2 <= r * r + 1e-6


def stroke_reference(mask, points, value, r):
    snapped = [(snap(x), snap(y)) for x, y in points]
    out = mask.copy()
    for a, b in zip(snapped[:1] + snapped[:-1], snapped):
        out[capsule_reference(mask.shape, a, b, r)] = value
    return out


# -- brush geometry (hand-computed) -----------------------------------------------------------

@pytest.mark.parametrize("radius,expected", [
    (0.5, [".....", ".....", "..#..", ".....", "....."]),
    (0.9, [".....", ".....", "..#..", ".....", "....."]),
    (1.0, [".....", "..#..", ".###.", "..#..", "....."]),
    (1.5, [".....", ".###.", ".###.", ".###.", "....."]),
    (2.0, ["..#..", ".###.", "#####", ".###.", "..#.."]),
])
def test_a_dot_covers_the_pixels_within_radius(radius, expected):
    ed = MaskEditor((5, 5))
    ed.begin_stroke(True, radius)
    rect = ed.stroke_to(2, 2)
    want = grid(expected)
    np.testing.assert_array_equal(ed.mask, want)
    ys, xs = np.nonzero(want)
    assert rect == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_a_short_horizontal_stroke_is_a_round_capped_line():
    ed = MaskEditor((6, 9))
    ed.begin_stroke(True, 1.0)
    assert ed.stroke_to(2, 3) == (1, 2, 4, 5)
    assert ed.stroke_to(5, 3) == (3, 2, 7, 5)  # only what this segment newly changed
    assert ed.end_stroke() == (1, 2, 7, 5)
    np.testing.assert_array_equal(ed.mask, grid([
        ".........",
        ".........",
        "..####...",
        ".######..",
        "..####...",
        ".........",
    ]))


def test_points_snap_to_the_nearest_pixel_centre():
    ed = MaskEditor((4, 4))
    ed.begin_stroke(True, 0.5)
    ed.stroke_to(1.49, 0.5)  # -> (1, 1)
    assert ed.stroke_to(1.4, 1.2) is None  # same pixel again: nothing new
    ed.end_stroke()
    ed.begin_stroke(True, 0.5)
    ed.stroke_to(2.5, 3.49)  # -> (3, 3)
    ed.end_stroke()
    np.testing.assert_array_equal(ed.mask, grid(["....", ".#..", "....", "...#"]))


def test_eraser_removes_and_only_touches_its_capsule():
    ed = MaskEditor((5, 7), mask=np.ones((5, 7), bool))
    rect = stroke(ed, [(1, 2), (5, 2)], value=False, radius=0.5)
    assert rect == (1, 2, 6, 3)
    np.testing.assert_array_equal(ed.mask, grid(["#######", "#######", "#.....#", "#######", "#######"]))


def test_segments_match_a_brute_force_capsule_including_long_and_far_off_ones():
    rng = np.random.default_rng(3)
    shape = (190, 300)
    for radius in (0.5, 1.0, 2.5, 7.0, 40.0):
        for _ in range(6):
            pts = [tuple(rng.uniform(-120, 420, 2)) for _ in range(3)]
            ed = MaskEditor(shape)
            stroke(ed, pts, radius=radius)
            np.testing.assert_array_equal(ed.mask, stroke_reference(np.zeros(shape, bool), pts, True, radius))
    far = [(150 - 2e7, 95 - 1e7), (150 + 2e7, 95 + 1e7)]  # crosses the image; clipped, not walked
    ed = MaskEditor(shape)
    stroke(ed, far, radius=3)
    assert ed.mask.any()
    np.testing.assert_array_equal(ed.mask, stroke_reference(np.zeros(shape, bool), far, True, 3))


def test_a_stroke_entirely_outside_changes_nothing():
    ed = MaskEditor((10, 10))
    ed.begin_stroke(True, 2)
    assert ed.stroke_to(-5, -5) is None
    assert ed.stroke_to(-5, 40) is None
    assert ed.end_stroke() is None
    assert not ed.mask.any() and not ed.can_undo and ed.version == 0


# -- history --------------------------------------------------------------------------------

def test_one_stroke_is_one_undo_step_and_undo_redo_restore_exactly():
    start = np.zeros((300, 280), bool)
    start[100:200, 50:90] = True
    ed = MaskEditor(start.shape, mask=start)
    ed.begin_stroke(True, 6)
    for x in range(0, 300, 7):  # crosses several tiles, revisits some
        ed.stroke_to(x, 40 + (x % 50) * 4)
    assert ed.undo_depth == 0 and ed.can_undo  # the open stroke is not a step yet
    ed.end_stroke()
    after = ed.mask.copy()
    assert ed.undo_depth == 1
    assert ed.undo() is not None
    np.testing.assert_array_equal(ed.mask, start)
    assert ed.can_redo and not ed.can_undo
    ed.redo()
    np.testing.assert_array_equal(ed.mask, after)
    assert ed.undo() is not None and ed.undo() is None


def _random_op(rng, shape):
    h, w = shape
    kind = rng.choice(["stroke", "stroke", "stroke", "erase", "fill", "poly", "clear", "invert",
                       "replace", "undo", "undo", "redo"])
    if kind in ("stroke", "erase"):
        pts = [tuple(rng.uniform(-30, max(h, w) + 30, 2)) for _ in range(rng.integers(1, 5))]
        return kind, (pts, kind == "stroke", float(rng.choice([0.5, 1, 3.5, 12, 30])))
    if kind == "fill":
        return kind, (float(rng.integers(0, w)), float(rng.integers(0, h)), bool(rng.integers(2)))
    if kind == "poly":
        pts = [tuple(rng.uniform(-20, max(h, w) + 20, 2)) for _ in range(rng.integers(3, 7))]
        return kind, (pts, bool(rng.integers(2)))
    if kind == "replace":
        return kind, (rng.random(shape) < rng.uniform(0, 0.3) if rng.integers(2) else None,)
    return kind, ()


def _reference_apply(cur, kind, args):
    """The expected mask after an edit, computed independently on a full copy."""
    if kind in ("stroke", "erase"):
        pts, value, r = args
        return stroke_reference(cur, pts, value, r)
    if kind == "fill":
        x, y, value = args
        x, y = int(x), int(y)
        same = (cur == cur[y, x]).astype(np.uint8)
        _, labels = cv2.connectedComponents(same, connectivity=4)
        out = cur.copy()
        out[labels == labels[y, x]] = value
        return out
    if kind == "poly":
        pts, value = args
        inside = np.zeros(cur.shape, np.uint8)
        cv2.fillPoly(inside, [np.array([(snap(x), snap(y)) for x, y in pts], np.int32)], 1, cv2.LINE_8)
        out = cur.copy()
        out[inside.astype(bool)] = value
        return out
    if kind == "clear":
        return np.zeros_like(cur)
    if kind == "invert":
        return ~cur
    return args[0]


def test_random_mixed_operations_match_a_history_of_full_copies():
    shape = (260, 300)  # several 128-px tiles
    for seed in range(3):
        rng = np.random.default_rng(seed)
        ed = MaskEditor(shape)
        history, pos = [ed.mask.copy()], 0
        for _ in range(50):
            kind, args = _random_op(rng, shape)
            version, old_pos = ed.version, pos
            if kind == "undo":
                ed.undo()
                pos = max(pos - 1, 0)
                changed = pos != old_pos
            elif kind == "redo":
                ed.redo()
                pos = min(pos + 1, len(history) - 1)
                changed = pos != old_pos
            else:
                if kind == "replace" and args[0] is None:
                    args = (history[pos].copy(),)  # replace with an equal mask: a no-op
                want = _reference_apply(history[pos], kind, args)
                if kind in ("stroke", "erase"):
                    stroke(ed, *args)
                elif kind == "fill":
                    ed.flood_fill(*args)
                elif kind == "poly":
                    ed.fill_polygon(*args)
                elif kind == "replace":
                    ed.replace(args[0])
                else:
                    getattr(ed, kind)()
                changed = not np.array_equal(want, history[pos])
                if changed:
                    history, pos = history[:pos + 1] + [want], pos + 1
            np.testing.assert_array_equal(ed.mask, history[pos], err_msg=f"seed {seed} after {kind}")
            assert ed.undo_depth == pos and ed.can_undo == (pos > 0)
            assert ed.can_redo == (pos < len(history) - 1)
            assert (ed.version > version) == changed and ed.version >= version
        for k in range(pos, 0, -1):  # all the way back, then all the way forward
            ed.undo()
            np.testing.assert_array_equal(ed.mask, history[k - 1])
        for k in range(1, len(history)):
            ed.redo()
            np.testing.assert_array_equal(ed.mask, history[k])


def test_150_strokes_then_100_undos_each_restore_the_right_state():
    rng = np.random.default_rng(11)
    ed = MaskEditor((200, 260))
    states = [ed.mask.copy()]
    for i in range(150):
        pts = [tuple(rng.uniform(0, 260, 2)) for _ in range(3)]
        stroke(ed, pts, value=bool(i % 4), radius=float(rng.uniform(1, 9)))
        states.append(ed.mask.copy())
    assert ed.undo_depth == sum(not np.array_equal(a, b) for a, b in zip(states, states[1:]))
    distinct = [states[0]] + [b for a, b in zip(states, states[1:]) if not np.array_equal(a, b)]
    for k in range(1, 101):
        ed.undo()
        np.testing.assert_array_equal(ed.mask, distinct[-1 - k], err_msg=f"undo #{k}")
    for k in range(100, 0, -1):
        ed.redo()
        np.testing.assert_array_equal(ed.mask, distinct[-k])


def test_the_history_cap_drops_the_oldest_steps():
    ed = MaskEditor((10, 10), max_undo=3)
    states = []
    for i in range(5):
        stroke(ed, [(i * 2, i * 2)], radius=0.5)
        states.append(ed.mask.copy())
    assert ed.undo_depth == 3
    for _ in range(3):
        ed.undo()
    np.testing.assert_array_equal(ed.mask, states[1])  # steps 1 and 2 are gone for good
    assert not ed.can_undo and ed.undo() is None
    ed = MaskEditor((4, 4), max_undo=0)
    ed.invert()
    assert ed.mask.all() and not ed.can_undo and ed.undo_bytes == 0


def test_a_new_edit_after_undo_clears_redo():
    ed = MaskEditor((6, 6))
    stroke(ed, [(1, 1)], radius=0.5)
    stroke(ed, [(4, 4)], radius=0.5)
    ed.undo()
    assert ed.can_redo
    ed.begin_stroke(True, 0.5)
    ed.stroke_to(3, 0)
    assert not ed.can_redo  # as soon as the stroke changes pixels
    ed.end_stroke()
    assert ed.redo() is None
    np.testing.assert_array_equal(ed.mask, grid(["...#..", ".#....", "......", "......", "......", "......"]))


def test_operations_during_an_open_stroke_commit_it_first():
    ed = MaskEditor((8, 8))
    ed.begin_stroke(True, 0.5)
    ed.stroke_to(1, 1)
    ed.stroke_to(3, 1)
    assert ed.undo() == (1, 1, 4, 2)  # commits the stroke, then undoes it
    assert not ed.mask.any()
    with pytest.raises(ValueError):
        ed.stroke_to(4, 4)  # the stroke is closed
    ed.begin_stroke(True, 0.5)
    ed.stroke_to(0, 0)
    ed.invert()
    assert ed.undo_depth == 2  # the stroke and the invert
    ed.undo()
    np.testing.assert_array_equal(ed.mask, grid(["#......."] + ["........"] * 7))
    ed.begin_stroke(False, 1)  # a new stroke may start after the implicit end
    ed.end_stroke()


def test_no_op_edits_make_no_undo_step_and_keep_the_version():
    full = np.ones((6, 6), bool)
    ed = MaskEditor((6, 6))
    assert ed.clear() is None
    assert stroke(ed, [(2, 2), (4, 4)], value=False, radius=2) is None
    assert ed.flood_fill(3, 3, False) is None
    assert ed.flood_fill(30, 3, True) is None  # outside
    assert ed.fill_polygon([(1, 1), (4, 1), (4, 4)], False) is None
    assert ed.fill_polygon([(10, 10), (20, 10), (20, 20)], True) is None  # outside
    assert ed.replace(np.zeros((6, 6), np.uint8)) is None
    assert ed.undo() is None and ed.redo() is None
    ed.replace(full)
    assert stroke(ed, [(0, 0), (5, 5)], radius=3) is None
    assert ed.undo_depth == 1 and ed.version == 1


def test_version_increments_on_every_change_undo_and_redo():
    ed = MaskEditor((8, 8))
    seen = [ed.version]
    ed.begin_stroke(True, 1)
    ed.stroke_to(2, 2)
    seen.append(ed.version)
    ed.stroke_to(5, 2)
    seen.append(ed.version)
    ed.end_stroke()
    for op in (ed.invert, ed.clear, ed.undo, ed.undo, ed.redo, lambda: ed.flood_fill(3, 2, True),
               lambda: ed.fill_polygon([(1, 1), (5, 1), (5, 5)], False), lambda: ed.replace(np.eye(8, dtype=bool))):
        op()
        seen.append(ed.version)
    assert seen == sorted(set(seen)), seen  # strictly increasing
    before = ed.version
    ed.clear()
    ed.clear()
    assert ed.version == before + 1


# -- fills and whole-mask edits -------------------------------------------------------------

RING = grid([
    "..........",
    ".#######..",
    ".#.....#..",
    ".#.....#..",
    ".#.....#..",
    ".#######..",
    "..........",
])


def test_flood_fill_outside_a_ring_leaves_the_inside():
    ed = MaskEditor(RING.shape, mask=RING)
    rect = ed.flood_fill(9.2, 6.4, True)
    assert rect == (0, 0, 10, 7)
    np.testing.assert_array_equal(ed.mask, grid(["##########", "##########"] + ["##.....###"] * 3 +
                                                ["##########", "##########"]))
    ed.undo()
    np.testing.assert_array_equal(ed.mask, RING)
    assert ed.flood_fill(4, 3, True) == (2, 2, 7, 5)  # inside only
    assert ed.mask[2:5, 2:7].all() and ed.coverage == (20 + 15) / 70


def test_flood_fill_is_4_connected_and_erases_too():
    diagonal = grid(["#...", ".#..", "..#.", "...#"])
    ed = MaskEditor((4, 4), mask=diagonal)
    assert ed.flood_fill(1, 1, False) == (1, 1, 2, 2)  # its diagonal neighbours are not connected
    np.testing.assert_array_equal(ed.mask, grid(["#...", "....", "..#.", "...#"]))
    corner = grid([".#..", "#...", "...."])
    ed = MaskEditor((3, 4), mask=corner)
    assert ed.flood_fill(0, 0, True) == (0, 0, 1, 1)  # walled in 4-connected, open diagonally
    np.testing.assert_array_equal(ed.mask, grid(["##..", "#...", "...."]))
    assert ed.flood_fill(3, 2, True) == (0, 0, 4, 3)
    assert ed.mask.all()


def test_polygon_fill_and_erase_on_a_square():
    ed = MaskEditor((9, 9))
    square = [(2, 2), (6.4, 2), (6, 5.6), (1.6, 6)]  # snaps to the square (2, 2)-(6, 6)
    assert ed.fill_polygon(square, True) == (2, 2, 7, 7)
    want = np.zeros((9, 9), bool)
    want[2:7, 2:7] = True
    np.testing.assert_array_equal(ed.mask, want)
    assert ed.fill_polygon([(4, 4), (20, 4), (20, 20), (4, 20)], False) == (4, 4, 7, 7)  # clipped
    want[4:, 4:] = False
    np.testing.assert_array_equal(ed.mask, want)
    ed.undo()
    ed.undo()
    assert not ed.mask.any()
    huge = [(-1e30, -1e30), (1e30, -1e30), (1e30, 1e30), (-1e30, 1e30)]  # far outside: still the whole mask
    assert ed.fill_polygon(huge, True) == (0, 0, 9, 9) and ed.mask.all()


def test_clear_invert_replace_and_heatmap_start():
    ed = MaskEditor((4, 5))
    assert ed.invert() == (0, 0, 5, 4) and ed.mask.all() and ed.coverage == 1.0
    stroke(ed, [(1, 1)], value=False, radius=0.5)
    assert ed.clear() == (0, 0, 5, 4) and not ed.mask.any() and ed.coverage == 0.0
    cam = np.zeros((4, 5))
    cam[1, 2], cam[2, 3], cam[3, 0] = 0.5, 0.9, 0.49
    new = mask_from_heatmap(cam)
    assert new.dtype == bool and new.sum() == 2 and new[1, 2] and new[2, 3]
    assert mask_from_heatmap(cam, threshold=0.4).sum() == 3
    identity = id(ed.mask)
    assert ed.replace(new) == (2, 1, 4, 3)  # only the box that differs
    np.testing.assert_array_equal(ed.mask, new)
    assert id(ed.mask) == identity  # edited in place: the canvas keeps its reference
    ed.undo()
    ed.undo()
    np.testing.assert_array_equal(ed.mask, ~grid([".....", ".#...", ".....", "....."]))
    assert id(ed.mask) == identity


def test_the_editor_works_on_its_own_copy_of_the_initial_mask():
    initial = np.zeros((3, 3), np.uint8)
    initial[1, 1] = 255
    ed = MaskEditor((3, 3), mask=initial)
    assert ed.mask.dtype == bool and ed.mask[1, 1] and ed.mask.sum() == 1
    ed.invert()
    assert initial[1, 1] == 255 and initial.sum() == 255
    flags = np.zeros((3, 3), bool)
    ed = MaskEditor((3, 3), mask=flags)
    ed.invert()
    assert ed.mask.all() and not flags.any()


# -- memory ---------------------------------------------------------------------------------

def test_undo_memory_stays_proportional_to_the_changed_area():
    ed = MaskEditor((4096, 4096))
    rng = np.random.default_rng(5)
    for _ in range(100):
        x, y = rng.uniform(0, 4096, 2)
        ed.begin_stroke(True, 8)
        for k in range(4):
            ed.stroke_to(x + 5 * k, y + 3 * k)
        assert ed.undo_bytes > 0  # the open stroke's saved tiles count
        ed.end_stroke()
    assert ed.undo_depth == 100
    assert 0 < ed.undo_bytes < 2_000_000
    ed2 = MaskEditor((4096, 4096))
    rect = stroke(ed2, [(100, 100), (140, 120)], radius=8)
    area = (rect[2] - rect[0]) * (rect[3] - rect[1])
    assert ed2.undo_bytes == math.ceil(area / 8)  # just the bbox, 8 pixels a byte; tiles released
    ed2.invert()
    assert ed2.undo_bytes == math.ceil(area / 8) + 4096 * 4096 // 8


def test_copy_on_write_tiles_cover_only_what_the_stroke_touched():
    ed = MaskEditor((4 * TILE, 4 * TILE))
    ed.begin_stroke(True, 3)
    ed.stroke_to(10, 10)
    ed.stroke_to(2 * TILE + 10, 10)
    assert ed.undo_bytes == 3 * TILE * TILE  # three tiles along the top row, not the whole mask
    ed.end_stroke()


# -- errors ---------------------------------------------------------------------------------

def test_bad_calls_raise_value_error():
    ed = MaskEditor((5, 5))
    with pytest.raises(ValueError, match="without begin_stroke"):
        ed.stroke_to(1, 1)
    ed.begin_stroke(True, 1)
    with pytest.raises(ValueError, match="already open"):
        ed.begin_stroke(False, 1)
    with pytest.raises(ValueError, match="finite"):
        ed.stroke_to(float("nan"), 1)
    ed.end_stroke()
    for radius in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="radius"):
            ed.begin_stroke(True, radius)
    with pytest.raises(ValueError, match="shape"):
        ed.replace(np.zeros((5, 6), bool))
    with pytest.raises(ValueError, match="at least 3"):
        ed.fill_polygon([(0, 0), (3, 3)], True)
    with pytest.raises(ValueError, match="shape"):
        MaskEditor((5, 5), mask=np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="shape"):
        MaskEditor((0, 5))
    with pytest.raises(ValueError, match="max_undo"):
        MaskEditor((5, 5), max_undo=-1)
    with pytest.raises(ValueError, match="2-D"):
        mask_from_heatmap(np.zeros((2, 3, 3)))
    assert not ed.mask.any() and ed.version == 0


def test_the_magic_wand_fills_the_object_under_the_click_not_the_whole_background():
    image = np.full((40, 50, 3), (30, 120, 30), np.uint8)  # green background
    image[10:30, 15:35] = (200, 40, 40)  # a red object ...
    image[18:22, 22:28] = (210, 50, 35)  # ... with slightly different shading inside
    editor = MaskEditor((40, 50))
    rect = editor.wand_fill(image, 20, 12, tolerance=32, value=True)
    assert rect == (15, 10, 35, 30)
    assert editor.mask[10:30, 15:35].all() and editor.mask.sum() == 20 * 20  # the shading joins, the background not
    editor.undo()
    assert not editor.mask.any()
    editor.wand_fill(image, 20, 12, tolerance=5, value=True)  # tight: the shading stays out
    assert editor.mask.sum() == 20 * 20 - 4 * 6
    editor.wand_fill(image, 20, 12, tolerance=32, value=False)  # the erasing wand
    assert not editor.mask.any()
    assert editor.wand_fill(image, -3, 12, tolerance=32, value=True) is None  # outside the image
    with pytest.raises(ValueError, match="does not match"):
        editor.wand_fill(image[:10], 1, 1, tolerance=32, value=True)
