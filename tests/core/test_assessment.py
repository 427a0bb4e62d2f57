"""core/assessment.py: human judgement over suggestion, quadrants, the matrix and split summaries."""

from __future__ import annotations

import numpy as np
import pytest

from gradia_desktop.core.assessment import (Assessment, assess, filter_assessed, matrix_delta,
                                             reasonability_matrix, split_summary, version_matrix)
from gradia_desktop.core.records import Prediction

CAM = np.zeros((2, 2), np.float32)

# `project` ids: 1-3 train/cat, 4-6 train/dog, 7 val/cat, 8 val/dog, 9 test/cat, 10 test/dog; masks on 1, 7, 10.
# cat = class 0, dog = class 1.
PREDICTIONS = [
    Prediction(1, 0, 0.9, CAM, iou=0.5, energy=0.6, pointing=True),  # correct, suggested reasonable -> RA
    Prediction(2, 1, 0.8, CAM),  # wrong, no mask, no judgement -> unassessed
    Prediction(3, 0, 0.7, CAM),  # correct, human: unreasonable -> UA
    Prediction(4, 1, 0.6, CAM),  # correct, human: reasonable -> RA
    Prediction(5, 0, 0.6, CAM),  # wrong, human: unreasonable -> UI
    # 6: no prediction, but a human judgement
    Prediction(7, 1, 0.55, CAM, iou=0.8, energy=0.9, pointing=True),  # wrong, suggested reasonable -> RI
    Prediction(8, 1, 0.99, CAM),  # correct, nothing to judge by -> unassessed
    # 9: no prediction, no judgement
    Prediction(10, 1, 0.5, CAM, iou=0.0, energy=0.1, pointing=False),  # suggestion says no, human says yes -> RA
]
HUMAN = {3: False, 4: True, 5: False, 6: True, 10: True}
EXPECTED = {  # id: (reasonable, source, correct, quadrant)
    1: (True, "suggestion", True, "RA"),
    2: (None, None, False, None),
    3: (False, "human", True, "UA"),
    4: (True, "human", True, "RA"),
    5: (False, "human", False, "UI"),
    6: (True, "human", None, None),
    7: (True, "suggestion", False, "RI"),
    8: (None, None, True, None),
    9: (None, None, None, None),
    10: (True, "human", True, "RA"),
}


@pytest.fixture
def judged(project):
    """(project, v1, v2): v1 holds PREDICTIONS and HUMAN; v2 has one judgement and no predictions."""
    v1 = project.create_version(None, "baseline", "resnet18", "layer4", 64, {})
    project.finish_version(v1, "done")
    v2 = project.create_version(v1, "gradia", "resnet18", "layer4", 64, {})
    project.finish_version(v2, "done")
    project.save_predictions(v1, PREDICTIONS)
    for sid, verdict in HUMAN.items():
        project.set_judgement(v1, sid, verdict)
    project.set_judgement(v2, 2, True)
    return project, v1, v2


def _table(rows):
    return {r.sample.id: (r.reasonable, r.source, r.correct, r.quadrant) for r in rows}


def test_assess_every_case(judged):
    project, v1, _ = judged
    rows = assess(project, v1)
    assert [r.sample.id for r in rows] == list(range(1, 11))
    assert all(isinstance(r, Assessment) for r in rows)
    assert _table(rows) == EXPECTED
    by_id = {r.sample.id: r for r in rows}
    assert by_id[6].prediction is None and by_id[9].prediction is None
    assert by_id[1].prediction.energy == pytest.approx(0.6)


def test_human_judgement_overrides_suggestion_and_clearing_restores_it(judged):
    project, v1, _ = judged
    assert _table(assess(project, v1))[10] == (True, "human", True, "RA")
    project.set_judgement(v1, 10, None)
    # energy 0.1 / peak outside: the suggestion says unreasonable
    assert _table(assess(project, v1))[10] == (False, "suggestion", True, "UA")
    project.set_judgement(v1, 1, False)  # overrule a 'reasonable' suggestion
    assert _table(assess(project, v1))[1] == (False, "human", True, "UA")


def test_judgements_belong_to_their_version(judged):
    project, _, v2 = judged
    rows = assess(project, v2)
    table = _table(rows)
    assert table[2] == (True, "human", None, None)  # judged in v2, but v2 has no prediction for it
    assert all(v == (None, None, None, None) for k, v in table.items() if k != 2)


def test_assess_a_subset_of_samples(judged):
    project, v1, _ = judged
    rows = assess(project, v1, project.samples(split="val"))
    assert _table(rows) == {7: EXPECTED[7], 8: EXPECTED[8]}
    assert assess(project, v1, []) == []


def test_filter_assessed(judged):
    project, v1, _ = judged
    rows = assess(project, v1)

    def ids(rs):
        return [r.sample.id for r in rs]

    assert ids(filter_assessed(rows)) == list(range(1, 11))
    assert ids(filter_assessed(rows, quadrant="RA")) == [1, 4, 10]
    assert ids(filter_assessed(rows, quadrant="UA")) == [3]
    assert ids(filter_assessed(rows, quadrant="RI")) == [7]
    assert ids(filter_assessed(rows, quadrant="UI")) == [5]
    assert ids(filter_assessed(rows, judged=True)) == [3, 4, 5, 6, 10]
    assert ids(filter_assessed(rows, judged=False)) == [1, 2, 7, 8, 9]
    assert ids(filter_assessed(rows, quadrant="RA", judged=False)) == [1]
    assert ids(filter_assessed(rows, quadrant="RA", judged=True)) == [4, 10]


def test_reasonability_matrix(judged):
    project, v1, _ = judged
    counts = reasonability_matrix(assess(project, v1))
    by_source = counts.pop("by_source")
    assert counts == {"RA": 3, "UA": 1, "RI": 1, "UI": 1, "human": 4, "suggestion": 2, "unassessed": 4,
                      "unjudged": 4}  # 1, 2, 7, 8 are predicted but not judged by a human
    assert by_source == {"RA": {"human": 2, "suggestion": 1}, "UA": {"human": 1, "suggestion": 0},
                         "RI": {"human": 0, "suggestion": 1}, "UI": {"human": 1, "suggestion": 0}}
    assert counts["RA"] + counts["UA"] + counts["RI"] + counts["UI"] == counts["human"] + counts["suggestion"]


def test_reasonability_matrix_empty():
    empty = reasonability_matrix([])
    assert empty.pop("by_source") == {q: {"human": 0, "suggestion": 0} for q in ("RA", "UA", "RI", "UI")}
    assert empty == {"RA": 0, "UA": 0, "RI": 0, "UI": 0, "human": 0, "suggestion": 0, "unassessed": 0,
                     "unjudged": 0}


def test_matrix_delta():
    assert matrix_delta({"RA": 5, "UA": 1, "RI": 0, "UI": 2}, None) is None
    assert matrix_delta({"RA": 5, "UA": 1, "RI": 0, "UI": 2}, {"RA": 2, "UA": 4, "RI": 0, "UI": 3}) == \
        {"RA": 3, "UA": -3, "RI": 0, "UI": -1}


def test_split_summary_all(judged):
    project, v1, _ = judged
    s = split_summary(assess(project, v1))
    assert s["n"] == 8  # samples 6 and 9 have no prediction
    assert s["accuracy"] == pytest.approx(5 / 8)  # 1, 3, 4, 8, 10 correct
    assert s["n_masked"] == 3
    assert s["iou"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert s["energy"] == pytest.approx((0.6 + 0.9 + 0.1) / 3)
    assert s["pointing"] == pytest.approx(2 / 3)
    s["matrix"].pop("by_source")
    assert s["matrix"] == {"RA": 3, "UA": 1, "RI": 1, "UI": 1, "human": 4, "suggestion": 2, "unassessed": 2,
                           "unjudged": 4}


def test_split_summary_per_split(judged):
    project, v1, _ = judged
    val = split_summary(assess(project, v1, project.samples(split="val")))
    assert (val["n"], val["accuracy"], val["n_masked"]) == (2, 0.5, 1)
    assert val["iou"] == pytest.approx(0.8) and val["pointing"] == 1.0
    test = split_summary(assess(project, v1, project.samples(split="test")))
    assert (test["n"], test["accuracy"], test["n_masked"]) == (1, 1.0, 1)
    assert test["pointing"] == 0.0 and test["matrix"]["RA"] == 1 and test["matrix"]["human"] == 1


def test_split_summary_without_predictions(judged):
    project, _, v2 = judged
    s = split_summary(assess(project, v2))
    s["matrix"].pop("by_source")
    assert s == {"n": 0, "accuracy": None, "n_masked": 0, "iou": None, "energy": None, "pointing": None,
                 "matrix": {"RA": 0, "UA": 0, "RI": 0, "UI": 0, "human": 0, "suggestion": 0, "unassessed": 0,
                            "unjudged": 0}}


def test_version_matrix_per_split(judged):
    project, v1, _ = judged
    # Counted by hand from EXPECTED: train holds ids 1-6, val 7-8, test 9-10.
    expected = {None: {"RA": 3, "UA": 1, "RI": 1, "UI": 1}, "train": {"RA": 2, "UA": 1, "RI": 0, "UI": 1},
                "val": {"RA": 0, "UA": 0, "RI": 1, "UI": 0}, "test": {"RA": 1, "UA": 0, "RI": 0, "UI": 0}}
    for split, counts in expected.items():
        matrix = version_matrix(project, v1, split)
        assert {q: matrix[q] for q in counts} == counts, split


def test_a_new_mask_gets_its_figures_from_the_stored_heatmap_at_once(project):
    from gradia_desktop.core.assessment import rescore_mask
    from gradia_desktop.core.metrics import attention_against, resize_mask

    vid = project.create_version(None, "baseline", "tiny", "layer4", 32, {})
    project.finish_version(vid, "done")
    version, sample = project.version(vid), project.sample(2)  # a training image without a mask
    cam = np.zeros((4, 4), np.float32)
    cam[:2, :2] = 1.0  # hot in the top-left quarter
    project.save_predictions(vid, [Prediction(sample.id, sample.class_idx, 0.9, cam)])
    assert project.prediction(vid, sample.id).iou is None  # unmasked: no figures, no suggestion
    mask = np.zeros((sample.height, sample.width), bool)
    mask[: sample.height // 2, : sample.width // 2] = True  # where the stored CAM is hot
    updated = rescore_mask(project, version, sample.id, mask)
    stored = project.prediction(vid, sample.id)
    assert stored.iou == updated.iou > 0.3 and stored.pointing is True
    assert (stored.iou, stored.energy, stored.pointing) == attention_against(stored.cam, mask, 32)
    a = assess(project, vid, [sample])[0]
    assert a.source == "suggestion" and a.reasonable is True  # the suggestion follows
    rescore_mask(project, version, sample.id, ~mask)
    assert assess(project, vid, [sample])[0].reasonable is False
    rescore_mask(project, version, sample.id, None)  # the mask was cleared
    assert project.prediction(vid, sample.id).iou is None
    assert rescore_mask(project, version, 3, mask) is None  # no prediction stored: nothing to update
    assert resize_mask(mask, 8).shape == (8, 8)
