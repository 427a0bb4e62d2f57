"""Interactions per mask: a simulated annotator against exact masks (``gradia bench --annotate``).

The standard interactive-segmentation protocol: each next interaction goes to the largest error
region (missed object or wrongly included background, whichever is larger), at its interior point
farthest from the region's border - positive on missed object, negative on wrongly included
background. Counted until the mask's IoU with the exact mask reaches 0.85 and 0.90 (NoC@85, NoC@90),
at most ``CAP`` (a mask that never gets there counts ``CAP``, and is counted as a failure too).

Two annotators:
- ``click``: the clicks go to click-to-mask (core/click_segmentation.py), which refines the mask
  after each;
- ``brush``: each interaction is one straight stroke of a fixed round brush (radius 1/32 of the
  image's shorter side: 2 px at 64 px) through the error region's point along the region's long
  axis, as far as the brush fits inside the region - a steady hand - or, where the region is too thin
  for the brush, one dab at the point, which spills over its border.

The images: the demo's validation images (exact masks, as ``gradia demo`` generates them, seed 0), and
the validation images of a few efficacy-suite cells whose objects are harder to cut out (low contrast,
letters, a textured background) - the demo alone would flatter any method.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ..core.click_segmentation import ClickSegmenter
from ..core.demo import generate_demo
from ..core.images import read_mask, read_rgb
from ..core.progress import Progress, report

CAP = 20
THRESHOLDS = (0.85, 0.90)
BRUSH_SHARE = 1 / 32  # the brush annotator's radius, as a share of the image's shorter side
SUITE_SETS = ("texture/shapes-high", "tint/shapes-low", "tint/glyphs-low")


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def next_interaction(mask: np.ndarray, truth: np.ndarray) -> tuple[int, int, bool] | None:
    """(x, y, positive) at the interior of the largest error region, or None where there is no error."""
    best = None
    for positive, error in ((True, truth & ~mask), (False, mask & ~truth)):
        count, parts, stats, _ = cv2.connectedComponentsWithStats(error.astype(np.uint8), connectivity=8)
        for k in range(1, count):
            area = int(stats[k, cv2.CC_STAT_AREA])
            if best is None or area > best[0]:
                best = (area, positive, parts == k)
    if best is None:
        return None
    _, positive, region = best
    depth = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(x), int(y), positive


def brush_stroke(mask: np.ndarray, truth: np.ndarray, x: int, y: int, positive: bool, radius: int) -> np.ndarray:
    """The pixels one careful straight stroke of a round brush paints (or erases) in the error region
    under (x, y): through that point along the region's long axis, as far as the brush fits inside the
    region; where the region is too thin for the brush, one dab at the point, which spills over."""
    error = (truth & ~mask) if positive else (mask & ~truth)
    _, parts = cv2.connectedComponents(error.astype(np.uint8), connectivity=8)
    region = parts == parts[y, x]
    depth = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    ys, xs = np.nonzero(region)
    centres = np.zeros(region.shape, np.uint8)
    if len(xs) > 2:
        coords = np.stack([xs - xs.mean(), ys - ys.mean()])
        axis = np.linalg.eigh(coords @ coords.T)[1][:, -1]  # the long axis
        off_line = np.abs((xs - x) * axis[1] - (ys - y) * axis[0])  # distance from the stroke's line
        on = (off_line <= 0.5) & (depth[ys, xs] >= radius)
        centres[ys[on], xs[on]] = 1
    if not centres.any():
        centres[y, x] = 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(centres, disc).astype(bool)


def interactions_needed(rgb: np.ndarray, truth: np.ndarray, annotator: str) -> dict[float, int | None]:
    """Per threshold, the interactions after which the mask's IoU first reached it (None: not within ``CAP``)."""
    truth = truth.astype(bool)
    needed: dict[float, int | None] = dict.fromkeys(THRESHOLDS)
    mask = np.zeros(truth.shape, bool)
    segmenter = ClickSegmenter(rgb) if annotator == "click" else None
    radius = max(1, round(min(truth.shape) * BRUSH_SHARE))
    for n in range(1, CAP + 1):
        step = next_interaction(mask, truth)
        if step is None:
            break
        x, y, positive = step
        if segmenter is not None:
            mask = segmenter.add_click(x, y, positive)
        else:
            painted = brush_stroke(mask, truth, x, y, positive, radius)
            mask = mask | painted if positive else mask & ~painted
        score = iou(mask, truth)
        for t in THRESHOLDS:
            if needed[t] is None and score >= t:
                needed[t] = n
        if None not in needed.values():
            break
    return needed


def _pairs(images_dir: Path, masks_dir: Path, limit: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for mask_path in sorted(masks_dir.rglob("*.png"))[:limit]:
        image_path = images_dir / mask_path.relative_to(masks_dir)
        out.append((read_rgb(image_path), read_mask(mask_path) > 0))
    return out


def image_sets(limit: int | None = None) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """The demo's validation images with their exact masks, and the same from ``SUITE_SETS`` (seed 0)."""
    from .efficacy.datasets import Cell, generate_cell

    sets = {}
    with tempfile.TemporaryDirectory(prefix="gradia-annotate-") as tmp:
        demo = generate_demo(Path(tmp) / "demo", seed=0)
        sets["demo"] = _pairs(demo / "images" / "val", demo / "masks" / "val", limit)
        for name in SUITE_SETS:
            shortcut, objects = name.split("/")
            kind, contrast = objects.split("-")
            cell = Cell(shortcut=shortcut, objects=kind, contrast=contrast, mask_style="exact")
            data = generate_cell(Path(tmp) / name.replace("/", "_"), cell, seed=0)
            sets[name] = _pairs(data / "images" / "test", data / "masks" / "test", limit)  # test: exact masks on all
    return sets


def run_annotation_bench(limit: int | None = None, progress: Progress = None) -> dict:
    """NoC@85 / NoC@90 (means), failures and seconds per click, per image set and annotator."""
    sets = image_sets(limit)
    total = sum(len(v) for v in sets.values()) * 2
    done = 0
    results = {}
    for name, pairs in sets.items():
        for annotator in ("click", "brush"):
            started = time.perf_counter()
            runs = []
            for rgb, truth in pairs:
                runs.append(interactions_needed(rgb, truth, annotator))
                done += 1
                report(progress, "simulated annotation", done, total)
            seconds = time.perf_counter() - started
            counted = [{t: CAP if n is None else n for t, n in r.items()} for r in runs]
            interactions = sum(max(r.values()) for r in counted)
            results.setdefault(name, {})[annotator] = {
                "images": len(runs),
                **{f"noc@{round(t * 100)}": round(statistics.mean(r[t] for r in counted), 2) for t in THRESHOLDS},
                **{f"failed@{round(t * 100)}": sum(r[t] is None for r in runs) for t in THRESHOLDS},
                "seconds_per_interaction": round(seconds / max(interactions, 1), 4),
            }
    return {"cap": CAP, "brush_radius_share": BRUSH_SHARE, "sets": results}


def markdown(result: dict) -> str:
    lines = ["| images | annotator | NoC@85 | NoC@90 | failed @90 | ms per interaction |", "|---|---|---|---|---|---|"]
    for name, by in result["sets"].items():
        for annotator, r in by.items():
            label = "click-to-mask" if annotator == "click" else "brush only"
            lines.append(f"| {name} ({r['images']}) | {label} | {r['noc@85']:.2f} | {r['noc@90']:.2f} | "
                         f"{r['failed@90']} | {1000 * r['seconds_per_interaction']:.1f} |")
    return "\n".join(lines)
