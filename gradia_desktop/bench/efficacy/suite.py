"""Run the efficacy suite: for every cell and seed, a baseline, then each guided recipe trained
from it (as its parent); write a Markdown table of the medians over seeds (and the worst seed) per cell and recipe.

The cells vary one axis at a time around a reference cell (a background tint, shapes at high
contrast, loose masks on 10% of training images); see ``datasets``. Nothing here is tuned to the
product's demo: the generators, sizes and seeds are the suite's own.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ...core.progress import Progress, report
from ...core.project_init import create_project
from ...training.config import RESTART_EPOCHS, TrainConfig, default_batch_size
from ...training.trainer import train
from .datasets import CONTRASTS, MASK_STYLES, OBJECTS, SHORTCUTS, Cell, generate_cell
from .run_record import RunRecord, task_key

REFERENCE = Cell()
RECIPES = {  # name: (mode, counterfactual) of a run with the baseline as its parent, started as the mode does
    "gradia (paper-exact)": ("gradia", False),
    "guided (recommended)": ("guided", True),
}
ORACLE = "ceiling: no shortcut in training"  # a baseline from scratch on the same data with the cue random
# Every recipe (and the ceiling) runs as long as a guided run does by default, in as many optimiser
# steps (the guided run's default batch), so that the paper-exact fine-tune is timed and scored at the
# same length and the ceiling is not held to fewer steps than the run it bounds.
BASELINE_EPOCHS, GUIDED_EPOCHS = 6, RESTART_EPOCHS
QUICK = {"counts": (40, 15, 25), "baseline_epochs": 2, "guided_epochs": 3}  # a smoke check, not a measurement
METRICS = ("test_accuracy", "test_iou", "test_energy", "val_reliance", "test_reliance", "seconds")


def full_suite() -> list[Cell]:
    cells = [REFERENCE.with_(shortcut=s) for s in SHORTCUTS]
    cells += [REFERENCE.with_(shortcut=s, mask_fraction=0.05) for s in SHORTCUTS if s != REFERENCE.shortcut]
    cells += [REFERENCE.with_(objects=o, contrast=c) for o in OBJECTS for c in CONTRASTS
              if (o, c) != (REFERENCE.objects, REFERENCE.contrast)]
    cells += [REFERENCE.with_(mask_fraction=f) for f in (0.02, 0.05, 0.25)]
    cells += [REFERENCE.with_(mask_style=s) for s in MASK_STYLES if s != REFERENCE.mask_style]
    # Added later (cells keep their numbers): the task and the annotation around the reference, and
    # around the whole-background texture, where the recipe is weakest.
    cells += [REFERENCE.with_(shortcut=s, classes=3) for s in ("tint", "texture")]
    cells += [REFERENCE.with_(kinds=2), REFERENCE.with_(cue_rate=0.9)]
    cells += [REFERENCE.with_(shortcut=s, val_masks=False) for s in ("tint", "texture")]
    return cells


TASK_AXES = ("classes", "kinds", "cue_rate", "val_masks")  # the reference's values are the defaults


def _reference_task(cell: Cell) -> bool:
    return all(getattr(cell, a) == getattr(REFERENCE, a) for a in TASK_AXES)


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
    """The baseline, every recipe run from it, and the ceiling, on one cell and seed (under ``workdir``).

    The ceiling is the same model trained from scratch for as many epochs as a recipe, on the same
    cell generated with the cue random in every split: what was learnable had the shortcut never
    been there. A recipe cannot be expected to beat it; the gap to it is what guidance left open.
    """
    data = generate_cell(workdir / "data", cell, seed)
    project = create_project(workdir / "project", data / "images", data / "masks")
    try:
        common = dict(device=device, seed=seed, image_size=64)
        guided_batch = default_batch_size("guided", len(project.samples(split="train")))
        started = time.perf_counter()
        base = train(project, TrainConfig(mode="baseline", arch="tiny", epochs=baseline_epochs, **common))
        out = [_figures(cell, seed, "baseline", base.summaries, time.perf_counter() - started)]
        for name, (mode, counterfactual) in recipes.items():
            started = time.perf_counter()
            run = train(project, TrainConfig(mode=mode, parent=base.version, counterfactual=counterfactual,
                                             epochs=guided_epochs, batch_size=guided_batch, **common))
            out.append(_figures(cell, seed, name, run.summaries, time.perf_counter() - started))
    finally:
        project.close()
    clean = generate_cell(workdir / "clean-data", cell, seed, shortcut_free=True)
    oracle_project = create_project(workdir / "clean-project", clean / "images", clean / "masks")
    try:
        started = time.perf_counter()
        run = train(oracle_project, TrainConfig(mode="baseline", arch="tiny", epochs=guided_epochs,
                                                batch_size=guided_batch, **common))
        out.append(_figures(cell, seed, ORACLE, run.summaries, time.perf_counter() - started))
    finally:
        oracle_project.close()
    return out


def _run_task(cell: Cell, seed: int, device: str, quick: bool, threads: int | None = None,
              epochs: tuple[int, int] | None = None) -> list[RunFigures]:
    if threads:
        import torch

        torch.set_num_threads(threads)
    if epochs:
        lengths = {"baseline_epochs": epochs[0], "guided_epochs": epochs[1]}
    else:
        lengths = {k: v for k, v in QUICK.items() if k != "counts"} if quick else {}
    with tempfile.TemporaryDirectory(prefix="gradia-efficacy-") as tmp:
        return run_cell(cell.with_(counts=QUICK["counts"]) if quick else cell, seed, Path(tmp), device, **lengths)


def _numbered_task(args: tuple) -> tuple[int, list[RunFigures]]:
    k, *rest = args
    return k, _run_task(*rest)


def code_signature() -> str:
    """A digest of the code a pair's figures come from (the training package, the data generator and
    this file, which sets the runs): a recorded pair is not reused once any of them has changed."""
    import hashlib

    files = sorted(Path(train.__code__.co_filename).parent.glob("*.py")) + [Path(generate_cell.__code__.co_filename),
                                                                                  Path(__file__)]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _settings(cell: Cell, device: str, quick: bool, epochs: tuple[int, int] | None) -> dict:
    """What a (cell, seed) pair's figures depend on besides the cell and seed (the run record's key)."""
    if epochs is None:
        epochs = (QUICK["baseline_epochs"], QUICK["guided_epochs"]) if quick else (BASELINE_EPOCHS, GUIDED_EPOCHS)
    return {"counts": list(QUICK["counts"] if quick else cell.counts), "epochs": list(epochs),
            "recipes": {name: list(spec) for name, spec in RECIPES.items()}, "device": device,
            "code": code_signature()}


def run_suite(cells: list[Cell], seeds: int = 3, device: str = "cpu", progress: Progress = None,
              quick: bool = False, jobs: int = 1, epochs: tuple[int, int] | None = None,
              record: RunRecord | None = None) -> list[RunFigures]:
    """Every cell and seed; ``quick`` shrinks the data and epochs (``QUICK``) to check the pipeline only;
    ``epochs`` (baseline, recipes) overrides the epochs alone.

    ``jobs`` > 1 runs that many (cell, seed) pairs at once in worker processes, each with an equal
    share of the CPU threads; the figures do not depend on it, the seconds do (cores are shared).
    With a ``record``, pairs it holds with the same settings are not run again, and each pair that
    finishes is added to it at once.
    """
    tasks = [(c, s) for c in cells for s in range(seeds)]
    keys = [task_key(c.name, s, _settings(c, device, quick, epochs)) for c, s in tasks]
    results: dict[int, list[RunFigures]] = {}
    if record is not None:
        results = {k: [RunFigures(**row) for row in record.done[key]] for k, key in enumerate(keys)
                   if key in record.done}
    pending = [k for k in range(len(tasks)) if k not in results]
    label = "efficacy suite (cells x seeds)"
    if results:
        report(progress, label, len(results), len(tasks))

    def finished(k: int, figures: list[RunFigures]) -> None:
        results[k] = figures
        if record is not None:
            record.add(keys[k], figures)
        report(progress, label, len(results), len(tasks))

    if jobs <= 1 or len(pending) <= 1:
        for k in pending:
            finished(k, _run_task(*tasks[k], device, quick, epochs=epochs))
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        work = [(k, *tasks[k], device, quick, threads, epochs) for k in pending]
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:  # leaving it (Ctrl+C too) stops the workers
            for k, figures in pool.imap_unordered(_numbered_task, work):
                finished(k, figures)
    return [row for k in sorted(results) for row in results[k]]


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


RECOMMENDED = "guided (recommended)"
PAPER = "gradia (paper-exact)"
TARGET_ACCURACY, TARGET_IOU_FACTOR, TARGET_TIME_FACTOR, TARGET_MIN_MASKS = 0.90, 3.0, 2.0, 0.05


def target_checks(rows: list[RunFigures], cells: list[Cell]) -> list[dict]:
    """Per cell with masks on at least 5% of training images, the recommended recipe against its targets.

    Test accuracy >= 0.90 (median and worst seed), never below the baseline of the same seed, test
    IoU >= 3x the baseline's (medians), wall time <= 2x the paper-exact run's (medians); the
    ceiling beside them says what was learnable at all.
    """
    by = {(r.cell, r.recipe, r.seed): r for r in rows}
    out = []
    for cell in cells:
        seeds = sorted(s for (c, recipe, s) in by if c == cell.name and recipe == RECOMMENDED)
        if cell.mask_fraction < TARGET_MIN_MASKS or not seeds:
            continue
        runs = {name: [by[(cell.name, name, s)] for s in seeds if (cell.name, name, s) in by]
                for name in ("baseline", PAPER, RECOMMENDED, ORACLE)}
        guided, base = runs[RECOMMENDED], runs["baseline"]
        accuracy = _median([r.test_accuracy for r in guided])
        worst = min(r.test_accuracy for r in guided)
        gain = min(g.test_accuracy - b.test_accuracy for g, b in zip(guided, base)) if len(base) == len(guided) else None
        iou, base_iou = _median([r.test_iou for r in guided]), _median([r.test_iou for r in base])
        seconds, paper_seconds = _median([r.seconds for r in guided]), _median([r.seconds for r in runs[PAPER]])
        out.append({
            "cell": cell.name, "accuracy": accuracy, "worst": worst, "ceiling": _median([r.test_accuracy for r in runs[ORACLE]]),
            "least_gain": gain, "iou_factor": iou / base_iou if iou is not None and base_iou else None,
            "time_factor": seconds / paper_seconds if seconds is not None and paper_seconds else None})
    return out


def summary_by_shortcut(rows: list[RunFigures], cells: list[Cell]) -> list[dict]:
    """Median test accuracy per shortcut kind and mask share (the reference objects and mask style)."""
    out = []
    for cell in cells:
        if (cell.objects, cell.contrast, cell.mask_style) != (REFERENCE.objects, REFERENCE.contrast,
                                                              REFERENCE.mask_style) or not _reference_task(cell):
            continue
        if cell.mask_fraction not in (0.05, 0.10):
            continue
        entry = {"shortcut": cell.shortcut, "masks": cell.mask_fraction}
        for name in ("baseline", PAPER, RECOMMENDED, ORACLE):
            entry[name] = _median([r.test_accuracy for r in rows if r.cell == cell.name and r.recipe == name])
        out.append(entry)
    return sorted(out, key=lambda e: (SHORTCUTS.index(e["shortcut"]), e["masks"]))


def _mark(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def markdown_table(summary: list[dict], command: str, rows: list[RunFigures] | None = None,
                   cells: list[Cell] | None = None) -> str:
    """The whole report: what the suite is, how it was made, the targets, and one row per cell and recipe."""
    lines = ["| cell | recipe | test acc (median) | worst seed | test IoU | test energy | val reliance | "
             "test reliance | time (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for e in summary:
        lines.append(f"| {e['cell']} | {e['recipe']} | {_f(e['test_accuracy'])} | {_f(e['worst_test_accuracy'])} | "
                     f"{_f(e['test_iou'])} | {_f(e['test_energy'])} | {_f(e['val_reliance'])} | "
                     f"{_f(e['test_reliance'])} | {_f(e['seconds'], 0)} |")
    seeds = summary[0]["seeds"] if summary else 0
    sections = []
    if rows and cells:
        kinds = summary_by_shortcut(rows, cells)
        if kinds:
            table = ["| shortcut | masks | baseline | gradia (paper-exact) | guided (recommended) | ceiling |",
                     "|---|---|---|---|---|---|"]
            table += [f"| {e['shortcut']} | {e['masks']:.0%} | {_f(e['baseline'], 2)} | {_f(e[PAPER], 2)} | "
                      f"**{_f(e[RECOMMENDED], 2)}** | {_f(e[ORACLE], 2)} |" for e in kinds]
            sections.append("## Summary: test accuracy per shortcut kind (medians over seeds)\n\n" + "\n".join(table))
        checks = target_checks(rows, cells)
        if checks:
            table = ["| cell | test acc | worst seed | >= 0.90 | ceiling | never below baseline (least gain) | "
                     "IoU / baseline's (>= 3) | time / paper-exact's (<= 2) |", "|---|---|---|---|---|---|---|---|"]
            for c in checks:
                table.append(
                    f"| {c['cell']} | {_f(c['accuracy'])} | {_f(c['worst'])} | {_mark(c['worst'] >= TARGET_ACCURACY)} | "
                    f"{_f(c['ceiling'])} | {_mark(None if c['least_gain'] is None else c['least_gain'] >= 0)} "
                    f"({_f(c['least_gain'], 3)}) | {_f(c['iou_factor'], 1)} "
                    f"{_mark(None if c['iou_factor'] is None else c['iou_factor'] >= TARGET_IOU_FACTOR)} | "
                    f"{_f(c['time_factor'], 2)} "
                    f"{_mark(None if c['time_factor'] is None else c['time_factor'] <= TARGET_TIME_FACTOR)} |")
            sections.append("## The recommended recipe against its targets (cells with masks on >= 5% of training "
                            "images)\n\n" + "\n".join(table))
    header = f"""# Efficacy suite: does guided retraining fix shortcuts it has never seen?

Produced by `{command}` (this file is written by that command; do not edit it by hand).

Each cell is a generated dataset (64 px, two classes unless named; {REFERENCE.counts[0]} / {REFERENCE.counts[1]} /
{REFERENCE.counts[2]} images per class for train / val / test) in which a shortcut is tied to the
class in train and val and random in test; one axis at a time differs from the reference cell
`{REFERENCE.name}`. The cell name reads shortcut / objects-contrast / masks: share of training
images with a mask and its style (validation carries masks of the same style on at least a fifth
of its images, test exact masks on all, for the metrics only); then what else differs: three
classes, two kinds of object per class (disc or square, cross or ring), the cue on only 90% of the
train and val images (the rest carry the other class's), or no validation masks (only training
images were painted, so the checkpoint is chosen without the shortcut probe). Per cell and seed: a baseline
(`tiny`, {BASELINE_EPOCHS} epochs), then each recipe from it for {GUIDED_EPOCHS} epochs (a guided run's default length), as
`gradia train --from` runs it: the paper-exact mode fine-tunes the baseline's weights, the guided
recipe keeps its architecture but starts again from its initial weights (`--start initial`).
The *ceiling* is the same model trained from scratch for {GUIDED_EPOCHS} epochs on the same cell
generated with the cue random in every split: what was learnable had the shortcut never been
there. Where the ceiling itself is low, the objects are too hard for this model and budget, and
no guidance can reach 0.90 there.

Figures are medians over {seeds} seed(s); *worst seed* is the lowest test accuracy among them.
*Reliance* is the shortcut-reliance score (accuracy on masked images minus accuracy on their
counterfactual copies with swapped backgrounds): on validation it shows the shortcut; on test,
where the shortcut is random, it should be near 0 for every model. Time: seconds per run,
evaluation included (with `--jobs` above 1, runs share the cores, so times are comparable only
within one report)."""
    return "\n\n".join([header, *sections, "## Every cell\n\n" + "\n".join(lines)]) + "\n"
