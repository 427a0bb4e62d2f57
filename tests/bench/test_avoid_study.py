"""bench/efficacy/avoid_study.py: does "don't look here" work (`gradia bench --avoid`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradia_desktop.bench.efficacy import avoid_study
from gradia_desktop.bench.efficacy.avoid_study import CELL, RUNS, avoid_layer, generate, run_study
from gradia_desktop.core.images import read_rgb
from tests.cli.cli_run import run


def test_the_tag_is_where_its_box_says_and_the_marked_images_are_a_share_of_training(tmp_path):
    images, boxes, marked = generate(tmp_path / "d", 0, CELL.with_(counts=(20, 4, 6)))
    assert len(marked) == 2 and all(rel.startswith("train/") for rel in marked)
    for rel, (y0, y1, x0, x1) in list(boxes.items())[:10]:
        rgb = read_rgb(images / rel)
        tag = rgb[y0:y1, x0:x1].reshape(-1, 3)
        assert (tag == tag[0]).all() and tuple(tag[0]) in ((235, 215, 30), (200, 40, 210))
    layer = avoid_layer(boxes[marked[0]])
    assert layer.sum() == 9 * 9  # the 7 x 7 tag and a pixel around it


def test_the_study_runs_end_to_end_and_reports_every_run(capsys):
    """--quick: a few images and epochs, the pipeline only (the measurement is the slow test below)."""
    code, out, err = run(capsys, "bench", "--avoid", "--seeds", "1", "--quick", "--json")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["run"] for r in runs] == list(RUNS)
    assert all(0 <= r["test_accuracy"] <= 1 and 0 <= r["cam_on_tag"] <= 1 for r in runs)


@pytest.mark.heavy
def test_dont_look_here_alone_moves_accuracy_and_attention_off_the_tag_where_the_baseline_does_not():
    """The README's figures: `gradia bench --avoid --seeds 3` (about 4 minutes on two cores, so only when
    asked for: `pytest -m heavy tests/bench/test_avoid_study.py`)."""
    rows = run_study(3)
    by_run = {name: [r for r in rows if r.run == name] for name in RUNS}
    base, longer, guided = (by_run[name] for name in RUNS)
    for b, l, g in zip(base, longer, guided):
        assert g.test_accuracy > max(b.test_accuracy, l.test_accuracy) + 0.05
        assert g.cam_on_tag < min(b.cam_on_tag, l.cam_on_tag)
    assert np.median([g.test_accuracy for g in guided]) >= 0.7
