"""bench/annotation.py: the simulated annotator behind `gradia bench --annotate`."""

from __future__ import annotations

import json

import cv2
import numpy as np

from gradia_desktop.bench import annotation
from gradia_desktop.bench.efficacy import datasets
from gradia_desktop.bench.efficacy.datasets import generate_cell
from gradia_desktop.core.demo import generate_demo
from gradia_desktop.bench.annotation import CAP, brush_stroke, interactions_needed, next_interaction
from tests.cli.cli_run import run


def _disc_scene(size: int = 64):
    rng = np.random.default_rng(0)
    rgb = np.clip(np.array((60, 160, 200), np.float32) + rng.normal(0, 10, (size, size, 3)), 0, 255).astype(np.uint8)
    truth = np.zeros((size, size), np.uint8)
    cv2.circle(truth, (30, 34), 12, 1, -1)
    rgb[truth > 0] = (230, 230, 225)
    return rgb, truth.astype(bool)


def test_the_next_click_goes_inside_the_largest_error_and_says_which_kind():
    _, truth = _disc_scene()
    x, y, positive = next_interaction(np.zeros_like(truth), truth)
    assert positive and (x, y) == (30, 34)  # the object's deepest point
    spill = truth.copy()
    spill[0:20, 40:64] = True  # a large wrongly included block
    x, y, positive = next_interaction(spill, truth)
    assert not positive and 40 <= x < 64 and 0 <= y < 20
    assert next_interaction(truth, truth) is None


def test_click_to_mask_needs_one_click_for_a_clear_object_and_a_brush_many_strokes():
    rgb, truth = _disc_scene()
    assert interactions_needed(rgb, truth, "click") == {0.85: 1, 0.90: 1}
    brush = interactions_needed(rgb, truth, "brush")
    assert brush[0.85] is None or brush[0.85] > 3  # a 2 px brush paints a 12 px disc in several strokes


def test_a_brush_stroke_stays_inside_a_region_it_fits_and_spills_a_dab_where_it_does_not():
    _, truth = _disc_scene()
    stroke = brush_stroke(np.zeros_like(truth), truth, 30, 34, True, 2)
    assert stroke.sum() > 40 and not (stroke & ~truth).any()
    thin = np.zeros_like(truth)
    thin[10, 5:30] = True  # one pixel wide: too thin for the brush
    dab = brush_stroke(np.zeros_like(truth), thin, 15, 10, True, 2)
    assert dab[10, 15] and (dab & ~thin).any() and dab.sum() <= 25


def test_cli_reports_noc_per_set_and_annotator(capsys, monkeypatch):
    monkeypatch.setattr(annotation, "SUITE_SETS", ("tint/glyphs-low",))  # one generated set is enough here
    small = {"train": 1, "val": 2, "test": 1}
    monkeypatch.setattr(annotation, "generate_demo", lambda out, seed: generate_demo(out, seed, counts=small))
    monkeypatch.setattr(datasets, "generate_cell",
                        lambda out, cell, seed: generate_cell(out, cell.with_(counts=(1, 1, 2)), seed))
    code, out, err = run(capsys, "bench", "--annotate", "--images", "2", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["cap"] == CAP and set(result["sets"]) == {"demo", "tint/glyphs-low"}
    demo = result["sets"]["demo"]
    assert demo["click"]["images"] == 2 and 1 <= demo["click"]["noc@90"] <= CAP
    assert demo["brush"]["noc@90"] >= demo["click"]["noc@90"]
