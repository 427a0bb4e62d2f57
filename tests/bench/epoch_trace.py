"""One efficacy-suite run traced epoch by epoch (a script, not collected by pytest).

    python tests/bench/epoch_trace.py --cell 6 --seed 1             # the suite's baseline, then a guided run
    python tests/bench/epoch_trace.py --cell 6 --seed 1 --ceiling   # the suite's ceiling model instead

For the guided run, after every epoch: test accuracy; test accuracy with each test object (its exact
mask) put on the background plate of a masked training image of its own class ("own") and of another
class ("other") - a gap means the model still reads the background; validation and counterfactual
validation accuracy. At each round of proposed masks: how much of each kept region lies outside the
true object, and how much of the object is kept. For the ceiling (the same model trained from
scratch on the cell generated with the cue random everywhere): test accuracy per epoch. These are
the figures behind docs/algorithm.md's diagnosis of the texture cells; test images are used here for
the study only, never by the product.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

import numpy as np
import torch

import gradia_desktop.bench.efficacy.datasets as datasets
from gradia_desktop.bench.efficacy.suite import BASELINE_EPOCHS, GUIDED_EPOCHS, full_suite
from gradia_desktop.core.project_init import create_project
from gradia_desktop.training import counterfactual
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.data import load_split
from gradia_desktop.training.trainer import Callbacks, train


def _key(rgb: np.ndarray) -> str:
    return hashlib.md5(np.ascontiguousarray(rgb).tobytes()).hexdigest()


def _recording_exact_masks() -> dict[str, np.ndarray]:
    """Every generated image's exact object mask, by its pixels' hash (training images keep only loose masks)."""
    exact: dict[str, np.ndarray] = {}
    make = datasets.make_image

    def recording(*args, **kwargs):
        rgb, mask = make(*args, **kwargs)
        exact[_key(rgb)] = mask
        return rgb, mask
    datasets.make_image = recording
    return exact


def _on_plates(test, train_data, own: bool, generator: torch.Generator) -> torch.Tensor:
    """The test images with each object put on a random masked training image's plate of its own or another class."""
    rng = np.random.default_rng(0)
    plates: dict[int, list[torch.Tensor]] = {}
    for i in torch.nonzero(train_data.has_mask).flatten().tolist():
        rgb, mask = train_data.images[i].permute(1, 2, 0).numpy(), train_data.masks[i].numpy()
        plate = torch.from_numpy(counterfactual.background_plate(rgb, mask, rng)).permute(2, 0, 1)
        plates.setdefault(int(train_data.labels[i]), []).append(plate)
    out = test.images.clone()
    for j, label in enumerate(test.labels.tolist()):
        pool = plates[label] if own else [p for c, ps in plates.items() if c != label for p in ps]
        plate = pool[int(torch.randint(len(pool), (1,), generator=generator))]
        out[j] = torch.where(test.masks[j].bool(), out[j], plate)
    return out


def _accuracy(state, images: torch.Tensor, labels: torch.Tensor) -> float:
    model, was = state.model, state.model.training
    model.eval()
    with torch.no_grad():
        right = model(state.normalise(images)).argmax(1).cpu() == labels
    model.train(was)
    return float(right.float().mean())


def _trace_proposals(exact: dict[str, np.ndarray]) -> None:
    """Print, at each round of proposed masks, the kept regions against the true objects."""
    adopt = counterfactual.CounterfactualBank.adopt

    def traced(bank, images, labels, proposals, progress=None, cancelled=None):
        outside, kept = [], []
        for i, proposal in proposals.items():
            rgb = images[i].permute(1, 2, 0).numpy()
            truth = exact[_key(rgb)]
            region = counterfactual.object_region(rgb, proposal).astype(bool)
            outside.append((region & ~truth).sum() / max(region.sum(), 1))
            kept.append((region & truth).sum() / truth.sum())
        if proposals:
            print(f"proposals taken: {len(proposals)}; share of a kept region outside the object: mean "
                  f"{np.mean(outside):.3f}; share of the object kept: mean {np.mean(kept):.3f}", flush=True)
        return adopt(bank, images, labels, proposals, progress, cancelled)
    counterfactual.CounterfactualBank.adopt = traced


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", type=int, required=True, help="a cell number (gradia bench --efficacy --list-cells)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ceiling", action="store_true", help="trace the ceiling model instead of a guided run")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(1)  # as the suite's and recipe_variants' workers: the runs match theirs
    cell = full_suite()[args.cell - 1]
    exact = _recording_exact_masks()
    common = dict(device=args.device, seed=args.seed, image_size=64)
    with tempfile.TemporaryDirectory(prefix="gradia-trace-") as tmp:
        data = datasets.generate_cell(Path(tmp) / "data", cell, args.seed, shortcut_free=args.ceiling)
        project = create_project(Path(tmp) / "project", data / "images", data / "masks")
        try:
            test = load_split(project, "test", 64)
            if args.ceiling:
                class Ceiling(Callbacks):
                    def epoch_state(self, state):
                        print(f"epoch {state.epoch:2d}: test {_accuracy(state, test.images, test.labels):.3f}", flush=True)
                train(project, TrainConfig(mode="baseline", arch="tiny", epochs=GUIDED_EPOCHS, **common), Ceiling())
                return
            base = train(project, TrainConfig(mode="baseline", arch="tiny", epochs=BASELINE_EPOCHS, **common))
            train_data = load_split(project, "train", 64)
            generator = torch.Generator().manual_seed(0)
            own, other = (_on_plates(test, train_data, flag, generator) for flag in (True, False))
            _trace_proposals(exact)

            class Guided(Callbacks):
                def log(self, message):
                    print(message, flush=True)

                def epoch_state(self, state):
                    m = state.metrics
                    figures = [_accuracy(state, x, test.labels) for x in (test.images, own, other)]
                    cf = "-" if m.val_counterfactual_accuracy is None else f"{m.val_counterfactual_accuracy:.3f}"
                    print(f"epoch {state.epoch:2d}: test {figures[0]:.3f}, on own-class plates {figures[1]:.3f}, "
                          f"on other-class plates {figures[2]:.3f}; val {m.val_accuracy:.3f}, CF val {cf}", flush=True)
            run = train(project, TrainConfig(mode="guided", parent=base.version, epochs=GUIDED_EPOCHS, **common), Guided())
            print(f"kept epoch {run.best_epoch} ({run.selection_rule}): test {run.summaries['test']['accuracy']:.3f}")
        finally:
            project.close()


if __name__ == "__main__":
    main()
