"""What to annotate next: samples ranked by how much an expert's minute there is likely to fix.

GRADIA learns from human masks on samples whose attention is wrong, above all UA (right answer,
wrong evidence: the hidden shortcut). So the queue puts first the samples a human has not yet
settled, in this order of kinds, and within a kind by a score in [0, 1]:

1. ``UA``  - correct but attending elsewhere; score: confidence x (1 - IoU). A confident model
   looking away from the object is the strongest sign of a shortcut.
2. ``unjudged`` - predicted correctly with no mask and no judgement, so nobody knows where it
   looks; score: confidence (confident shortcuts hide here).
3. ``UI`` / ``RI`` - wrong answers; score: (1 - IoU) for UI, confidence for RI; ``wrong`` where the
   quadrant is unknown (no mask, no judgement), ranked with UI.
4. ``RA`` suggested - probably fine; score: 1 - confidence (the least sure first).
Then what a human has settled (judged, and masked unless judged reasonable), then samples
without a prediction. Training images weigh most (their masks train the model), then validation
(their masks choose the best epoch), then test (masks there only measure).
"""

from __future__ import annotations

from dataclasses import dataclass

from .assessment import Assessment

KIND_RANK = {"UA": 5, "unjudged": 4, "UI": 3, "wrong": 3, "RI": 2, "RA": 1, "settled": 0, "no prediction": -1}
SPLIT_WEIGHT = {"train": 1.0, "val": 0.8, "test": 0.5}


@dataclass(frozen=True)
class QueueEntry:
    assessment: Assessment
    kind: str
    score: float  # within the kind, 0..1
    priority: float  # sortable: higher first
    reason: str


def _settled(a: Assessment) -> bool:
    return a.source == "human" and (a.sample.has_mask or bool(a.reasonable))


def queue_entry(a: Assessment) -> QueueEntry:
    """Where one sample stands in the annotation queue, and why."""
    p = a.prediction
    if p is None:
        return QueueEntry(a, "no prediction", 0.0, KIND_RANK["no prediction"], "no prediction from this version")
    if _settled(a):
        return QueueEntry(a, "settled", 0.0, 0.0, "judged by a human" + (" and masked" if a.sample.has_mask else ""))
    miss = 1.0 - (p.iou if p.iou is not None else 0.5)
    q = a.quadrant
    if q == "UA":
        kind, score = "UA", p.confidence * miss
        reason = f"right for the wrong reason? confidence {p.confidence:.0%}, IoU {_iou(p.iou)}"
    elif q is None and a.correct:
        kind, score = "unjudged", p.confidence
        reason = f"correct at {p.confidence:.0%} but nobody has checked where it looks: judge it, paint a mask"
    elif q is None:
        kind, score = "wrong", miss  # no quadrant to name (the Quadrant column shows none); ranked as UI
        reason = f"wrong answer, not judged yet (no quadrant): confidence {p.confidence:.0%}"
    elif q in ("UI", "RI"):
        kind, score = q, miss if q == "UI" else p.confidence
        reason = f"wrong answer ({q}): confidence {p.confidence:.0%}, IoU {_iou(p.iou)}"
    else:
        kind, score = "RA", 1.0 - p.confidence
        reason = f"probably fine (suggested RA): confidence {p.confidence:.0%}"
    priority = KIND_RANK[kind] + 0.99 * score * SPLIT_WEIGHT.get(a.sample.split, 0.5)
    return QueueEntry(a, kind, score, priority, reason)


def _iou(iou: float | None) -> str:
    return "unknown (no mask)" if iou is None else f"{iou:.2f}"


def annotation_queue(rows: list[Assessment]) -> list[QueueEntry]:
    """All rows, most useful to annotate first (ties by sample id)."""
    return sorted((queue_entry(a) for a in rows), key=lambda e: (-e.priority, e.assessment.sample.id))
