"""core/annotation_queue.py: UA with high confidence and low IoU first, settled samples last."""

from __future__ import annotations

import numpy as np

from gradia_desktop.core.annotation_queue import annotation_queue, queue_entry
from gradia_desktop.core.assessment import Assessment
from gradia_desktop.core.records import Prediction, Sample

CAM = np.zeros((2, 2), np.float32)


def row(sid, *, correct=True, reasonable=None, source=None, confidence=0.9, iou=None, has_mask=False,
        split="train", predicted=True) -> Assessment:
    sample = Sample(sid, f"s{sid}.png", 0, "a", split, 8, 8, has_mask)
    pred = Prediction(sid, 0 if correct else 1, confidence, CAM, iou) if predicted else None
    return Assessment(sample, pred, reasonable, source)


def test_order_of_kinds_and_scores():
    rows = [
        row(1, reasonable=True, source="suggestion", confidence=0.6, iou=0.8, has_mask=True),  # RA suggested
        row(2, reasonable=False, source="suggestion", confidence=0.99, iou=0.05, has_mask=True),  # UA, strong
        row(3, reasonable=False, source="suggestion", confidence=0.7, iou=0.4, has_mask=True),  # UA, weaker
        row(4, confidence=0.95),  # correct, never checked
        row(5, correct=False, reasonable=False, source="suggestion", iou=0.1, has_mask=True),  # UI
        row(6, reasonable=False, source="human", has_mask=True),  # UA but a human judged and masked it: settled
        row(7, predicted=False),
        row(8, reasonable=True, source="human"),  # judged reasonable, no mask needed: settled
    ]
    queue = annotation_queue(rows)
    assert [e.assessment.sample.id for e in queue] == [2, 3, 4, 5, 1, 6, 8, 7]
    assert [e.kind for e in queue] == ["UA", "UA", "unjudged", "UI", "RA", "settled", "settled", "no prediction"]
    assert "confidence 99%" in queue[0].reason and "IoU 0.05" in queue[0].reason


def test_a_human_ua_without_a_mask_still_needs_its_mask():
    entry = queue_entry(row(1, reasonable=False, source="human", iou=None))
    assert entry.kind == "UA" and "unknown" in entry.reason


def test_training_images_come_before_test_images_of_the_same_kind():
    train = queue_entry(row(1, reasonable=False, source="suggestion", iou=0.1, has_mask=True, split="train"))
    test = queue_entry(row(2, reasonable=False, source="suggestion", iou=0.1, has_mask=True, split="test"))
    weaker = queue_entry(row(3, reasonable=False, source="suggestion", iou=0.9, confidence=0.5, has_mask=True))
    assert train.priority > test.priority > weaker.priority
    assert int(test.priority) == int(train.priority)  # a kind's rank is never crossed by the score


def test_a_wrong_answer_without_a_quadrant_is_not_called_ui():
    entry = queue_entry(row(1, correct=False))  # no mask, no judgement: the Quadrant column shows none
    assert entry.kind == "wrong" and "no quadrant" in entry.reason
    ui = queue_entry(row(2, correct=False, reasonable=False, source="suggestion", iou=0.5, has_mask=True))
    assert ui.kind == "UI" and int(entry.priority) == int(ui.priority)  # ranked together
