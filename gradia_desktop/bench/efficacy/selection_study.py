"""How much does the choice of epoch cost? Paired comparison of selection rules on suite runs.

For each cell and seed: the baseline, then the recommended recipe with the test split scored after
every epoch (for this study only; products never look at test). Each rule picks an epoch from the
run's validation figures alone, and the table shows the test accuracy of each pick beside the
last epoch's and the best epoch's (what a perfect rule would get). Same run, so the differences
are the rules' alone.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from ...core.progress import Progress, report
from ...core.project_init import create_project
from ...core.training_metrics import EpochMetrics
from ...training.config import RECOMMENDED_MODE, TrainConfig
from ...training.data import load_split
from ...training.selection import select_best_epoch
from ...training.trainer import Callbacks, train
from .datasets import Cell, generate_cell
from .suite import BASELINE_EPOCHS, GUIDED_EPOCHS


Rule = Callable[[list[EpochMetrics], int], int]  # (a run's epochs, its number of classes) -> kept epoch


def _counterfactual_within(guard: float) -> Rule:
    """The rule before 2026-12 (guard 0.05): the best counterfactual validation accuracy among the
    epochs whose ordinary validation accuracy lies within ``guard`` of the best."""
    def pick(epochs: list[EpochMetrics], classes: int) -> int:
        best = max(e.val_accuracy for e in epochs)
        return max((e for e in epochs if e.val_accuracy >= best - guard),
                   key=lambda e: (e.val_counterfactual_accuracy or 0.0, e.val_energy or 0.0, e.val_accuracy,
                                  e.epoch)).epoch
    return pick


def _lower_of_two(epochs: list[EpochMetrics], classes: int) -> int:
    """The rule of 2026-12-05: the lower of validation and counterfactual validation accuracy. A model
    that has learnt nothing (chance on both) beats one that reads the shortcut, so baselines kept
    untrained epochs."""
    return max(epochs, key=lambda e: (min(e.val_accuracy, e.val_counterfactual_accuracy or 0.0),
                                      e.val_counterfactual_accuracy or 0.0, e.val_energy or 0.0, e.epoch)).epoch


def _worse_of_copies(epochs: list[EpochMetrics], classes: int) -> int:
    """Worst group on the same images: the lower of the masked validation images' accuracy and their copies'."""
    return max(epochs, key=lambda e: (min(e.val_masked_accuracy or 0.0, e.val_counterfactual_accuracy or 0.0),
                                      e.val_accuracy, e.epoch)).epoch


def _mean_of_two(epochs: list[EpochMetrics], classes: int) -> int:
    """Ordinary and counterfactual validation accuracy weighed alike."""
    return max(epochs, key=lambda e: (e.val_accuracy + (e.val_counterfactual_accuracy or 0.0), e.epoch)).epoch


RULES: dict[str, Rule] = {
    "current rule": lambda epochs, classes: select_best_epoch(epochs, TrainConfig().select_tolerance, classes).epoch,
    "2026-12-05: lower of val and CF val": _lower_of_two,
    "before 2026-12: CF within 0.05 of best val": _counterfactual_within(0.05),
    "CF within 0.15 of best val": _counterfactual_within(0.15),
    "worse of masked val and its copies": _worse_of_copies,
    "mean of val and CF val": _mean_of_two,
    "validation accuracy": lambda epochs, classes: max(epochs, key=lambda e: (e.val_accuracy, e.epoch)).epoch,
    "last epoch": lambda epochs, classes: epochs[-1].epoch,
    "averaged runs' rule: last epoch unless 0.05 below the best": lambda epochs, classes: select_best_epoch(
        epochs, TrainConfig().select_tolerance, classes, averaged=True).epoch,
}


class TestScores(Callbacks):
    """Test accuracy after every epoch, by epoch (for studies only: the product never looks at test).

    Scoring in eval mode under no_grad touches neither the weights, the BatchNorm statistics nor
    any random generator, so a scored run follows the same path as an unscored one."""

    def __init__(self, project, image_size: int = 64):
        self.test = load_split(project, "test", image_size)
        self.scores: dict[int, float] = {}

    def epoch_state(self, state) -> None:
        model, was = state.model, state.model.training
        model.eval()
        with torch.no_grad():
            logits = model(state.normalise(self.test.images)).cpu()
        model.train(was)
        self.scores[state.epoch] = float((logits.argmax(1) == self.test.labels).float().mean())


def study_run(cell: Cell, seed: int, workdir: Path, device: str = "cpu", baseline_epochs: int = BASELINE_EPOCHS,
              guided_epochs: int = GUIDED_EPOCHS) -> dict:
    """{"cell", "seed", "test_by_epoch": {epoch: accuracy}, "picks": {rule: epoch}} for one run."""
    data = generate_cell(workdir / "data", cell, seed)
    project = create_project(workdir / "project", data / "images", data / "masks")
    try:
        common = dict(device=device, seed=seed, image_size=64)
        base = train(project, TrainConfig(mode="baseline", arch="tiny", epochs=baseline_epochs, **common))
        scorer = TestScores(project)
        run = train(project, TrainConfig(mode=RECOMMENDED_MODE, parent=base.version, epochs=guided_epochs, **common),
                    scorer)
        scores = scorer.scores
    finally:
        project.close()
    return {"cell": cell.name, "seed": seed, "test_by_epoch": scores,
            "picks": {name: rule(run.epochs, cell.classes) for name, rule in RULES.items()}}


def run_study(cells: list[Cell], seeds: int, progress: Progress = None, device: str = "cpu",
              **lengths) -> list[dict]:
    """``study_run`` for every cell and seed, one after another (per-epoch test scoring is cheap)."""
    tasks = [(c, s) for c in cells for s in range(seeds)]
    out = []
    for k, (cell, seed) in enumerate(tasks, 1):
        with tempfile.TemporaryDirectory(prefix="gradia-selection-") as tmp:
            out.append(study_run(cell, seed, Path(tmp), device, **lengths))
        report(progress, "selection study (cells x seeds)", k, len(tasks))
    return out


def markdown(results: list[dict], command: str) -> str:
    names = list(RULES)
    lines = ["# Epoch selection: test accuracy of each rule's pick, on the same runs", "",
             f"Produced by `{command}`. The recommended recipe with the suite's baseline as its parent, as "
             "`gradia train --from` runs it; test accuracy after every epoch is recorded for this study only.", "",
             "| cell | seed | " + " | ".join(names) + " | best epoch |", "|---|---|" + "---|" * (len(names) + 1)]
    for r in results:
        scores = r["test_by_epoch"]
        cells = [f"{scores[r['picks'][n]]:.3f} (ep {r['picks'][n]})" for n in names]
        best = max(scores, key=lambda e: (scores[e], e))
        lines.append(f"| {r['cell']} | {r['seed']} | " + " | ".join(cells) + f" | {scores[best]:.3f} (ep {best}) |")
    lines += ["", "| rule | mean test accuracy of its picks | mean shortfall from the best epoch | worst pick |",
              "|---|---|---|---|"]
    for n in names:
        picked = [r["test_by_epoch"][r["picks"][n]] for r in results]
        short = [max(r["test_by_epoch"].values()) - p for r, p in zip(results, picked)]
        lines.append(f"| {n} | {sum(picked) / len(picked):.3f} | {sum(short) / len(short):.3f} | {min(picked):.3f} |")
    return "\n".join(lines) + "\n"
