"""Does "don't look here" work? A measurement on a generated set where a small tag gives the class away.

In training and validation a coloured 7 x 7 tag at a random place says the class (yellow with the
disc, magenta with the cross); in test its colour is random. The expert paints nothing but "don't look
here" on the tag (a box one pixel wider) of a few training images. The baseline learns the tag;
guided retraining from it, with those masks alone, should move test accuracy up and the heatmaps off
the tag.

Per seed and run: test accuracy, and the share of the predicted class's Grad-CAM that lies on the tag,
averaged over the test images (a heatmap spread evenly would put 1.2% there, the tag's area).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.atomic import staged_directory
from ...core.images import read_rgb, write_rgb_png
from ...core.progress import Progress, report
from ...core.project_init import create_project
from ...training.config import RESTART_EPOCHS, TrainConfig
from ...training.explain import Explainer
from ...training.trainer import train
from .datasets import SIZE, Cell, make_image

CELL = Cell(shortcut="mark", mask_fraction=0.05)
MARGIN = 1  # the painted box is this much wider than the tag on every side
BASELINE_EPOCHS, GUIDED_EPOCHS = 6, RESTART_EPOCHS  # as the efficacy suite runs them
QUICK = {"counts": (40, 15, 25), "baseline_epochs": 2, "guided_epochs": 3}  # checks the pipeline only
# The control: a baseline from scratch as long as the guided run, so that what guidance changes is
# not mistaken for what more epochs change.
RUNS = ("baseline", "baseline, as long as the guided run", "guided, \"don't look here\" only")

Box = tuple[int, int, int, int]  # y0, y1, x0, x1, end-exclusive


@dataclass(frozen=True)
class AvoidFigures:
    seed: int
    run: str
    test_accuracy: float
    cam_on_tag: float  # mean share of the predicted class's heatmap on the tag, test images
    seconds: float
    version: int = 0  # in the seed's project


def generate(out_dir: Path, seed: int, cell: Cell = CELL) -> tuple[Path, dict[str, Box], list[str]]:
    """Images under ``out_dir/images/{split}/{class}/``; (images folder, each image's tag box by its
    path relative to that folder, the training images whose tag the expert marks)."""
    rng = np.random.default_rng(seed)
    boxes: dict[str, Box] = {}
    marked: list[str] = []
    with staged_directory(out_dir) as stage:
        for split, per_class in zip(("train", "val", "test"), cell.counts):
            n_marked = max(1, round(per_class * cell.mask_fraction)) if split == "train" else 0
            for cls, class_name in enumerate(cell.class_names):
                chosen = set(rng.choice(per_class, size=n_marked, replace=False).tolist())
                for i in range(per_class):
                    cue = cls if split != "test" else int(rng.integers(2))
                    found: list = []
                    rgb, _ = make_image(rng, cell, cls, cue, found)
                    rel = f"{split}/{class_name}/{class_name}_{split}_{i:04d}.png"
                    write_rgb_png(stage / "images" / rel, rgb, atomic=False)
                    if found and found[0] is not None:
                        boxes[rel] = found[0]
                        if i in chosen:
                            marked.append(rel)
    return out_dir / "images", boxes, marked


def avoid_layer(box: Box, margin: int = MARGIN) -> np.ndarray:
    y0, y1, x0, x1 = box
    layer = np.zeros((SIZE, SIZE), bool)
    layer[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin] = True
    return layer


def cam_on_tag(explainer: Explainer, images: Path, boxes: dict[str, Box]) -> float:
    """Mean over the test images of the predicted class's heatmap share that lies on the tag."""
    shares = []
    for rel, (y0, y1, x0, x1) in sorted(boxes.items()):
        if not rel.startswith("test/"):
            continue
        cam = explainer.heatmap(read_rgb(images / rel))[0]
        total = float(cam.sum())
        shares.append(float(cam[y0:y1, x0:x1].sum()) / total if total > 0 else 0.0)
    return float(np.mean(shares))


def run_seed(seed: int, workdir: Path, device: str = "cpu", counts: tuple[int, int, int] = CELL.counts,
             baseline_epochs: int = BASELINE_EPOCHS, guided_epochs: int = GUIDED_EPOCHS) -> list[AvoidFigures]:
    """The baseline and a guided run from it whose only guidance is "don't look here" on the tag."""
    images, boxes, marked = generate(workdir / "data", seed, CELL.with_(counts=counts))
    project = create_project(workdir / "project", images)
    try:
        by_path = {s.path: s for s in project.samples(split="train")}
        for rel in marked:
            project.write_mask(by_path[rel], np.zeros((SIZE, SIZE), bool), avoid=avoid_layer(boxes[rel]))
        common = dict(device=device, seed=seed, image_size=64)
        configs = [TrainConfig(mode="baseline", arch="tiny", epochs=baseline_epochs, **common),
                   TrainConfig(mode="baseline", arch="tiny", epochs=guided_epochs, **common)]
        out = []
        for run in RUNS:
            started = time.perf_counter()
            config = configs.pop(0) if configs else TrainConfig(mode="guided", parent=out[0].version,
                                                                epochs=guided_epochs, **common)
            result = train(project, config)
            seconds = time.perf_counter() - started
            explainer = Explainer(project, project.version(result.version), device)
            out.append(AvoidFigures(seed, run, result.summaries["test"]["accuracy"],
                                    cam_on_tag(explainer, images, boxes), round(seconds, 2), result.version))
        return out
    finally:
        project.close()


def run_study(seeds: int = 3, device: str = "cpu", quick: bool = False, progress: Progress = None) -> list[AvoidFigures]:
    lengths = ({"counts": QUICK["counts"], "baseline_epochs": QUICK["baseline_epochs"],
                "guided_epochs": QUICK["guided_epochs"]} if quick else {})
    rows: list[AvoidFigures] = []
    for seed in range(seeds):
        report(progress, "don't-look-here study (seeds)", seed, seeds)
        with tempfile.TemporaryDirectory(prefix="gradia-avoid-") as tmp:
            rows += run_seed(seed, Path(tmp), device, **lengths)
    report(progress, "don't-look-here study (seeds)", seeds, seeds)
    return rows


def markdown(rows: list[AvoidFigures], command: str) -> str:
    marked = f"{CELL.mask_fraction:.0%}"
    lines = [f"Tag shortcut, shapes at high contrast; \"don't look here\" painted on the tag of {marked} of the "
             f"training images, nothing else. Median (worst seed) over {len({r.seed for r in rows})} seeds. "
             f"`{command}`", "",
             "| run | test accuracy | heatmap on the tag |", "|---|---|---|"]
    for run in RUNS:
        acc = [r.test_accuracy for r in rows if r.run == run]
        tag = [r.cam_on_tag for r in rows if r.run == run]
        if acc:
            lines.append(f"| {run} | {statistics.median(acc):.3f} ({min(acc):.3f}) | "
                         f"{statistics.median(tag):.1%} ({max(tag):.1%}) |")
    return "\n".join(lines) + "\n"
