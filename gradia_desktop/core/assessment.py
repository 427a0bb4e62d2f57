"""Where each sample stands under a model version: correct or not, judged or suggested, quadrant.

The human judgement is the truth; the automatic suggestion fills in only where no human judged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .metrics import attention_against, mean_or_none, quadrant, suggest_reasonable
from .records import QUADRANTS, UNASSESSED, Prediction, Sample, Version
from .store import Project


@dataclass(frozen=True)
class Assessment:
    sample: Sample
    prediction: Prediction | None
    reasonable: bool | None
    source: str | None  # 'human', 'suggestion' or None (nothing to judge by)

    @property
    def correct(self) -> bool | None:
        return None if self.prediction is None else self.prediction.pred == self.sample.class_idx

    @property
    def quadrant(self) -> str | None:
        if self.prediction is None:
            return None
        return quadrant(self.correct, self.reasonable)


def assessment_of(sample: Sample, prediction: Prediction | None, human: dict[int, bool]) -> Assessment:
    """One sample's standing, from its prediction and the version's human judgements."""
    if sample.id in human:
        return Assessment(sample, prediction, human[sample.id], "human")
    suggestion = None if prediction is None else suggest_reasonable(prediction.energy, prediction.pointing)
    return Assessment(sample, prediction, suggestion, None if suggestion is None else "suggestion")


def assess(project: Project, version_id: int, samples: list[Sample] | None = None,
           predictions: dict[int, Prediction] | None = None) -> list[Assessment]:
    """``predictions``: the version's predictions when they were not stored (a read-only project)."""
    samples = project.samples() if samples is None else samples
    predictions = project.predictions(version_id) if predictions is None else predictions
    human = project.judgements(version_id)
    return [assessment_of(s, predictions.get(s.id), human) for s in samples]


def rescore_mask(project: Project, version: Version, sample_id: int, mask: np.ndarray | None) -> Prediction | None:
    """After an edit of a sample's mask: its IoU, energy and pointing under ``version`` from the stored
    heatmap (no model run), stored, so the suggestion and the matrix follow at once. ``mask`` is the
    mask now saved (None or empty: no mask, no figures). Returns the updated prediction, if any."""
    prediction = project.prediction(version.id, sample_id)
    if prediction is None:
        return None
    if mask is None or not np.asarray(mask).any():
        figures = (None, None, None)
    else:
        figures = attention_against(prediction.cam, mask, version.image_size)
    project.set_attention(version.id, sample_id, *figures)
    return replace(prediction, iou=figures[0], energy=figures[1], pointing=figures[2])


def filter_assessed(rows: list[Assessment], quadrant: str | None = None, judged: bool | None = None) -> list[Assessment]:
    """Filter by quadrant and by whether a human has judged (the filters that need a version)."""
    if quadrant is not None:
        rows = [r for r in rows if r.quadrant == quadrant]
    if judged is not None:
        rows = [r for r in rows if (r.source == "human") == judged]
    return rows


def reasonability_matrix(rows: list[Assessment]) -> dict:
    """Counts per quadrant, plus how many were judged by a human, suggested, or not assessable.

    ``by_source`` splits each quadrant into human judgements and automatic suggestions;
    ``unjudged`` counts predicted samples without a human judgement (``suggestion`` of them carry
    a suggestion, the rest cannot be placed: no mask to suggest from).
    """
    counts: dict = {q: 0 for q in QUADRANTS}
    counts.update({"human": 0, "suggestion": 0, UNASSESSED: 0, "unjudged": 0})
    by_source = {q: {"human": 0, "suggestion": 0} for q in QUADRANTS}
    for r in rows:
        q = r.quadrant
        if r.prediction is not None and r.source != "human":
            counts["unjudged"] += 1
        if q is None:
            counts[UNASSESSED] += 1
        else:
            counts[q] += 1
            counts[r.source] += 1
            by_source[q][r.source] += 1
    counts["by_source"] = by_source
    return counts


def matrix_delta(current: dict, previous: dict | None) -> dict[str, int] | None:
    """Per-quadrant change from ``previous`` to ``current`` (None without a previous matrix)."""
    if previous is None:
        return None
    return {q: int(current.get(q, 0)) - int(previous.get(q, 0)) for q in QUADRANTS}


def split_summary(rows: list[Assessment]) -> dict:
    """Accuracy, mean attention metrics over masked samples, and the matrix for a set of rows."""
    predicted = [r for r in rows if r.prediction is not None]
    masked = [r.prediction for r in predicted if r.prediction.iou is not None]
    return {
        "n": len(predicted),
        "accuracy": (sum(bool(r.correct) for r in predicted) / len(predicted)) if predicted else None,
        "n_masked": len(masked),
        "iou": mean_or_none([p.iou for p in masked]),
        "energy": mean_or_none([p.energy for p in masked]),
        "pointing": mean_or_none([float(p.pointing) for p in masked]),
        "matrix": reasonability_matrix(predicted),
    }


def stored_metric(version: Version, split: str, key: str):
    """A figure the version's run recorded for ``split`` (None where it recorded none)."""
    return ((version.metrics or {}).get(split) or {}).get(key)


def version_matrix(project: Project, version_id: int, split: str | None = None) -> dict:
    """The Reasonability Matrix of one version over one split (None: all samples)."""
    return reasonability_matrix(assess(project, version_id, project.samples(split=split)))
