"""Run the efficacy suite: for every cell and seed, a baseline, then each guided recipe fine-tuned
from it; write a Markdown table of the medians over seeds (and the worst seed) per cell and recipe.

The cells vary one axis at a time around a reference cell (a background tint, shapes at high
contrast, loose masks on 10% of training images); see ``datasets``. Nothing here is tuned to the
product's demo: the generators, sizes and seeds are the suite's own.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ...core.progress import Progress, report
from ...core.project_init import create_project
from ...training.config import TrainConfig
from ...training.trainer import train
from .datasets import CONTRASTS, MASK_STYLES, OBJECTS, SHORTCUTS, Cell, generate_cell

REFERENCE = Cell()
RECIPES = {  # name: (mode, counterfactual) of a fine-tune from the baseline
    "gradia (paper-exact)": ("gradia", False),
    "gradia-all + counterfactual": ("gradia-all", True),
}
BASELINE_EPOCHS, GUIDED_EPOCHS = 6, 15
QUICK = {"counts": (40, 15, 25), "baseline_epochs": 2, "guided_epochs": 3}  # a smoke check, not a measurement
METRICS = ("test_accuracy", "test_iou", "test_energy", "val_reliance", "test_reliance", "seconds")


def full_suite() -> list[Cell]:
    cells = [REFERENCE.with_(shortcut=s) for s in SHORTCUTS]
    cells += [REFERENCE.with_(objects=o, contrast=c) for o in OBJECTS for c in CONTRASTS
              if (o, c) != (REFERENCE.objects, REFERENCE.contrast)]
    cells += [REFERENCE.with_(mask_fraction=f) for f in (0.02, 0.05, 0.25)]
    cells += [REFERENCE.with_(mask_style=s) for s in MASK_STYLES if s != REFERENCE.mask_style]
    return cells


@dataclass(frozen=True)
class RunFigures:
    cell: str
    seed: int
    recipe: str
    test_accuracy: float
    test_iou: float | None
    test_energy: float | None
    val_reliance: float | None
    test_reliance: float | None
    seconds: float


def _figures(cell: Cell, seed: int, recipe: str, summaries: dict, seconds: float) -> RunFigures:
    test, val = summaries["test"], summaries.get("val", {})
    return RunFigures(cell.name, seed, recipe, test["accuracy"], test["iou"], test["energy"],
                      val.get("shortcut_reliance"), test.get("shortcut_reliance"), round(seconds, 2))


def run_cell(cell: Cell, seed: int, workdir: Path, device: str = "cpu", baseline_epochs: int = BASELINE_EPOCHS,
             guided_epochs: int = GUIDED_EPOCHS, recipes: dict = RECIPES) -> list[RunFigures]:
    """The baseline and every recipe on one cell and seed (the project lives under ``workdir``)."""
    data = generate_cell(workdir / "data", cell, seed)
    project = create_project(workdir / "project", data / "images", data / "masks")
    try:
        common = dict(device=device, seed=seed, image_size=64)
        started = time.perf_counter()
        base = train(project, TrainConfig(mode="baseline", arch="tiny", epochs=baseline_epochs, **common))
        out = [_figures(cell, seed, "baseline", base.summaries, time.perf_counter() - started)]
        for name, (mode, counterfactual) in recipes.items():
            started = time.perf_counter()
            run = train(project, TrainConfig(mode=mode, parent=base.version, counterfactual=counterfactual,
                                             epochs=guided_epochs, **common))
            out.append(_figures(cell, seed, name, run.summaries, time.perf_counter() - started))
        return out
    finally:
        project.close()


def run_suite(cells: list[Cell], seeds: int = 3, device: str = "cpu", progress: Progress = None,
              quick: bool = False) -> list[RunFigures]:
    """Every cell and seed; ``quick`` shrinks the data and epochs (``QUICK``) to check the pipeline only."""
    rows: list[RunFigures] = []
    total = len(cells) * seeds
    epochs = {k: v for k, v in QUICK.items() if k != "counts"} if quick else {}
    for k, (cell, seed) in enumerate(((c, s) for c in cells for s in range(seeds)), 1):
        with tempfile.TemporaryDirectory(prefix="gradia-efficacy-") as tmp:
            rows += run_cell(cell.with_(counts=QUICK["counts"]) if quick else cell, seed, Path(tmp), device,
                             **epochs)
        report(progress, "efficacy suite (cells x seeds)", k, total)
    return rows


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(rows: list[RunFigures]) -> list[dict]:
    """Per cell and recipe: the median of each metric over seeds and the worst seed's test accuracy."""
    groups: dict[tuple[str, str], list[RunFigures]] = {}
    for r in rows:
        groups.setdefault((r.cell, r.recipe), []).append(r)
    out = []
    for (cell, recipe), runs in groups.items():
        entry = {"cell": cell, "recipe": recipe, "seeds": len(runs),
                 "worst_test_accuracy": min(r.test_accuracy for r in runs)}
        entry.update({m: _median([getattr(r, m) for r in runs]) for m in METRICS})
        out.append(entry)
    return out


def _f(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown_table(summary: list[dict], command: str) -> str:
    """The whole report: what the suite is, how it was made, and one row per cell and recipe."""
    lines = ["| cell | recipe | test acc (median) | worst seed | test IoU | test energy | val reliance | "
             "test reliance | time (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for e in summary:
        lines.append(f"| {e['cell']} | {e['recipe']} | {_f(e['test_accuracy'])} | {_f(e['worst_test_accuracy'])} | "
                     f"{_f(e['test_iou'])} | {_f(e['test_energy'])} | {_f(e['val_reliance'])} | "
                     f"{_f(e['test_reliance'])} | {_f(e['seconds'], 0)} |")
    seeds = summary[0]["seeds"] if summary else 0
    header = f"""# Efficacy suite: does guided retraining fix shortcuts it has never seen?

Produced by `{command}` (this file is written by that command; do not edit it by hand).

Each cell is a generated two-class dataset (64 px; {REFERENCE.counts[0]} / {REFERENCE.counts[1]} /
{REFERENCE.counts[2]} images per class for train / val / test) in which a shortcut is tied to the
class in train and val and random in test; one axis at a time differs from the reference cell
`{REFERENCE.name}`. The cell name reads shortcut / objects-contrast / masks: share of training
images with a mask and its style (validation carries masks of the same style on at least a fifth
of its images, test exact masks on all, for the metrics only). Per cell and seed: a baseline
(`tiny`, {BASELINE_EPOCHS} epochs), then each recipe fine-tuned from it for {GUIDED_EPOCHS} epochs.

Figures are medians over {seeds} seed(s); *worst seed* is the lowest test accuracy among them.
*Reliance* is the shortcut-reliance score (accuracy on masked images minus accuracy on their
counterfactual copies with swapped backgrounds): on validation it shows the shortcut; on test,
where the shortcut is random, it should be near 0 for every model. Time: seconds per run,
evaluation included."""
    return header + "\n\n" + "\n".join(lines) + "\n"
