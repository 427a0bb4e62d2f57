"""core/mask_layers.py and its storage: three-state masks ("look here", "don't look here", not marked)."""

from __future__ import annotations

import shutil
import sqlite3

import cv2
import numpy as np
import pytest

from gradia_desktop.core import images
from gradia_desktop.core.mask_layers import AVOID, LOOK, MaskLayers, decode
from gradia_desktop.core.mask_rule import MaskRule
from gradia_desktop.core.schema import DB_NAME, SCHEMA_VERSION
from gradia_desktop.core.store import Project

from .conftest import H, W, square_mask


def _layers() -> tuple[np.ndarray, np.ndarray]:
    look = square_mask()
    avoid = np.zeros((H, W), bool)
    avoid[:4, :4] = True
    return look, avoid


def test_look_wins_where_both_are_painted_and_the_file_values_are_documented():
    look = np.zeros((4, 4), bool)
    look[1, 1] = True
    avoid = np.zeros((4, 4), bool)
    avoid[1, :2] = True
    layers = MaskLayers.of(look, avoid)
    assert layers.avoid.tolist()[1][:2] == [True, False] and layers.three_state
    assert sorted(np.unique(layers.encode()).tolist()) == [0, AVOID, LOOK] == [0, 64, 255]
    assert decode(np.array([[0, 255], [64, 3]], np.uint8)) is None  # not three-state: read as two-state


def test_a_three_state_file_round_trips_and_a_two_state_reader_sees_only_look_here(tmp_path):
    look, avoid = _layers()
    path = tmp_path / "m.png"
    images.write_mask_png(path, look, avoid=avoid)
    layers = images.read_mask_layers(path)
    assert np.array_equal(layers.look, look) and np.array_equal(layers.avoid, avoid & ~look)
    assert np.array_equal(images.read_mask(path), look)
    assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED) > 127, look)  # "above 127" tools
    # an explicit rule reads the file as two-state, as the user asked
    assert np.array_equal(images.read_mask(path, MaskRule(threshold=0)), look | avoid)


def test_the_store_keeps_both_layers_and_counts_them_apart(project):
    look, avoid = _layers()
    project.write_mask(7, look, avoid=avoid)
    layers = project.read_mask_layers(7)
    assert np.array_equal(layers.look, look) and np.array_equal(layers.avoid, avoid & ~look)
    assert project.mask_pixels()[7] == look.sum() and project.avoid_pixels() == {7: int((avoid & ~look).sum())}
    project.write_mask(7, look)  # written again without the layer: it is gone
    assert project.avoid_pixels() == {} and not project.read_mask_layers(7).avoid.any()


def test_a_mask_that_only_says_dont_look_here_is_no_look_here_mask(project):
    _, avoid = _layers()
    split = project.sample(7).split
    masked_before, marked_before = project.count_masked(split), project.count_marked(split)
    project.write_mask(7, np.zeros((H, W), bool), avoid=avoid)
    assert project.read_mask(7) is None and not project.sample(7).has_mask
    assert 7 not in project.mask_pixels() and project.avoid_pixels() == {7: int(avoid.sum())}
    assert project.count_masked(split) == masked_before - 1
    assert project.count_marked(split) == marked_before  # a mask of either layer still counts here
    assert np.array_equal(project.read_mask_layers(7).avoid, avoid)
    project.write_mask(7, np.zeros((H, W), bool))  # nothing in either layer: the mask goes
    assert project.read_mask_layers(7) is None and project.avoid_pixels() == {}


def test_a_version_2_project_is_upgraded_and_read_only_it_reads_as_it_is(project_template, tmp_path):
    root = tmp_path / "v2"
    shutil.copytree(project_template, root)
    conn = sqlite3.connect(root / DB_NAME)
    conn.executescript("DROP TABLE mask_avoid; UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.close()
    with Project.open(root, readonly=True) as p:
        assert p.avoid_pixels() == {} and p.read_mask(7) is not None
    with Project.open(root) as p:
        look, avoid = _layers()
        p.write_mask(7, look, avoid=avoid)
    conn = sqlite3.connect(root / DB_NAME)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert conn.execute("SELECT sample_id FROM mask_avoid").fetchall() == [(7,)]
    finally:
        conn.close()


@pytest.mark.parametrize("shape", [(H, W + 1), (H,)])
def test_a_dont_look_layer_of_the_wrong_size_is_refused(project, shape):
    with pytest.raises(Exception, match="mask is"):
        project.write_mask(7, square_mask(), avoid=np.ones(shape, bool))
