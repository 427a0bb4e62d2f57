"""The manifest of an export: one row per sample, as CSV and as JSON Lines, with a model version's view.

``has_mask`` and ``mask_pixels`` are about the "look here" layer of the sample's mask,
``avoid_pixels`` counts its "don't look here" pixels (core/mask_layers.py; 0 without that layer).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .assessment import Assessment
from .records import Sample

COLUMNS = ("path", "split", "class", "width", "height", "has_mask", "mask_pixels", "avoid_pixels", "version",
           "prediction", "confidence", "correct", "iou", "judgement", "judgement_source", "quadrant")
CSV_NAME, JSONL_NAME = "manifest.csv", "manifest.jsonl"


def manifest_rows(samples: list[Sample], classes: list[str], mask_pixels: dict[int, int],
                  assessed: dict[int, Assessment] | None, version_id: int | None,
                  avoid_pixels: dict[int, int] | None = None) -> list[dict]:
    """Rows in sample order; the prediction and judgement columns are None without a version.
    ``avoid_pixels``: sample id -> "don't look here" pixels (Project.avoid_pixels)."""
    rows = []
    for s in samples:
        row = {"path": s.path, "split": s.split, "class": s.class_name, "width": s.width, "height": s.height,
               "has_mask": s.has_mask, "mask_pixels": mask_pixels.get(s.id, 0) if s.has_mask else 0,
               "avoid_pixels": (avoid_pixels or {}).get(s.id, 0),
               "version": None, "prediction": None, "confidence": None, "correct": None, "iou": None,
               "judgement": None, "judgement_source": None, "quadrant": None}
        a = assessed.get(s.id) if assessed is not None else None
        if version_id is not None:
            row["version"] = f"v{version_id}"
        if a is not None:
            if a.prediction is not None:
                p = a.prediction
                row.update(prediction=classes[p.pred] if 0 <= p.pred < len(classes) else str(p.pred),
                           confidence=round(float(p.confidence), 6), correct=a.correct,
                           iou=None if p.iou is None else round(float(p.iou), 6))
            if a.reasonable is not None:
                row.update(judgement="reasonable" if a.reasonable else "unreasonable", judgement_source=a.source)
            row["quadrant"] = a.quadrant
        rows.append(row)
    return rows


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_manifest(folder: Path, rows: list[dict]) -> list[str]:
    """``manifest.csv`` (empty cell = no value) and ``manifest.jsonl`` (null) in ``folder``."""
    with open(folder / CSV_NAME, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in rows)
    with open(folder / JSONL_NAME, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return [CSV_NAME, JSONL_NAME]
