"""The training loop: baseline, GRADIA and GRADIA-on-all-masks, with optional counterfactuals.

The trainer knows nothing of Qt or of the command line: it reports through ``Callbacks`` and
checks ``Callbacks.cancelled()`` between batches. Each run creates a new model version.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from ..core.assessment import assess
from ..core.records import Version
from ..core.store import Project
from ..errors import Cancelled, GradiaError
from .checkpoint import ModelSpec, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .counterfactual import CounterfactualBank
from .data import Normalizer, SplitData, load_split
from .device import autocast, needs_grad_scaler, pick_device
from .evaluate import evaluate_and_store, predict_split
from .gradcam import training_cam
from .loss import gradia_loss, mask_to_grid
from .models import build_model, find_cam_layer, get_layer, imagenet_weights_path, load_weights


class Callbacks:
    """Override what you need; the GUI's worker turns these into Qt signals."""

    def progress(self, stage: str, done: int, total: int) -> None: ...

    def epoch_end(self, epoch: int, metrics: dict) -> None: ...

    def log(self, message: str) -> None: ...

    def cancelled(self) -> bool:
        return False


@dataclass
class TrainResult:
    version: int
    best_epoch: int
    summaries: dict[str, dict]  # per split: accuracy, iou, energy, pointing, matrix
    epochs: list[dict]
    seconds: float
    warnings: list[str] = field(default_factory=list)


def select_best_epoch(epochs: list[dict], tolerance: float) -> int:
    """The epoch (1-based) to keep, chosen on the validation split only.

    Rule: among epochs whose validation accuracy is within ``tolerance`` of the best, take the
    one with the highest attention energy inside the masks of the validation images; without
    validation masks, the highest accuracy (the later epoch on ties). Accuracy alone cannot tell a
    shortcut model from a sound one when validation carries the shortcut; attention can.
    """
    best_acc = max(e["val_accuracy"] for e in epochs)
    candidates = [e for e in epochs if e["val_accuracy"] >= best_acc - tolerance]
    if all(e.get("val_energy") is not None for e in candidates):
        return max(candidates, key=lambda e: (e["val_energy"], e["val_accuracy"], e["epoch"]))["epoch"]
    return max(candidates, key=lambda e: (e["val_accuracy"], e["epoch"]))["epoch"]


def _seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _prepare_model(project: Project, config: TrainConfig, device: torch.device, parent: Version | None):
    """(model, layer name, arch, image size, notes) for a fresh or fine-tuned run."""
    notes = []
    if parent is not None:
        model, _, spec = load_checkpoint(project.root / parent.checkpoint, "cpu")
        if config.arch and config.arch != spec.arch:
            raise GradiaError(f"--arch {config.arch} differs from the parent v{parent.id}'s {spec.arch}")
        if spec.classes != project.classes:
            raise GradiaError(f"parent v{parent.id} was trained on classes {spec.classes}, the project has {project.classes}")
        arch, size, layer_name = spec.arch, spec.image_size, config.cam_layer or spec.cam_layer
        if config.image_size and config.image_size != size:
            notes.append(f"image size {config.image_size} ignored: fine-tuning keeps the parent's {size} px")
    else:
        arch = config.arch or "tiny"
        size = config.image_size or (64 if arch == "tiny" else 224)
        model = build_model(arch, len(project.classes))
        if config.pretrained:
            skipped = load_weights(model, imagenet_weights_path(arch))
            notes.append(f"ImageNet weights loaded; new: {', '.join(skipped) or 'nothing'}")
        if config.init_weights:
            skipped = load_weights(model, config.init_weights)
            notes.append(f"weights from {config.init_weights}; left initial: {', '.join(skipped) or 'nothing'}")
        layer_name = config.cam_layer or find_cam_layer(model, size)
    get_layer(model, layer_name)  # a bad path fails here, before anything is written
    return model.to(device), layer_name, arch, size, notes


def _sample_weights(project: Project, config: TrainConfig, data: SplitData, parent: Version | None):
    """(w_pred, w_att) per training sample, by mode and - for 'gradia' - the parent's quadrants."""
    table = config.weights
    n = len(data)
    w = np.tile(np.array(table["unmasked"], np.float32), (n, 1))
    if config.mode == "baseline":
        w[:] = (1.0, 0.0)
        return torch.from_numpy(w[:, 0].copy()), torch.from_numpy(w[:, 1].copy())
    quadrants = {}
    if config.mode == "gradia":
        quadrants = {a.sample.id: a.quadrant for a in assess(project, parent.id, data.samples)}
    for i, sample in enumerate(data.samples):
        if data.has_mask[i]:
            w[i] = table.get(quadrants.get(sample.id) or "masked", table["masked"])
    return torch.from_numpy(w[:, 0].copy()), torch.from_numpy(w[:, 1].copy())


def _grid_size(model, layer, size: int, device: torch.device) -> tuple[int, int]:
    shape = []
    handle = layer.register_forward_hook(lambda _m, _i, out: shape.append(out.shape[-2:]))
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size, device=device))
    finally:
        handle.remove()
        model.train(was)
    return tuple(shape[0])


def _epoch_order(n: int, bank: CounterfactualBank | None, share: float, generator: torch.Generator) -> torch.Tensor:
    if bank is None or len(bank) == 0 or len(bank) == n:
        return torch.randperm(n, generator=generator)
    weights = torch.full((n,), (1 - share) / (n - len(bank)))
    weights[bank.index] = share / len(bank)
    return torch.multinomial(weights, n, replacement=True, generator=generator)


def train(project: Project, config: TrainConfig, callbacks: Callbacks | None = None) -> TrainResult:
    """Train a new model version; returns its id, best epoch and per-split summaries."""
    cb = callbacks or Callbacks()
    config.validate()
    started = time.perf_counter()
    device = pick_device(config.device)
    parent = project.resolve_version(config.parent) if config.parent is not None else None
    generator = _seed_everything(config.seed)
    model, layer_name, arch, size, notes = _prepare_model(project, config, device, parent)
    for note in notes:
        cb.log(note)
    layer = get_layer(model, layer_name)
    train_data = load_split(project, "train", size, cb.progress)
    val_data = load_split(project, "val", size, cb.progress)
    if len(val_data) == 0:
        raise GradiaError(f"{project.root}: no validation images (IMAGES/val/...): the best epoch is chosen on them")
    w_pred, w_att = _sample_weights(project, config, train_data, parent)
    grid_hw = _grid_size(model, layer, size, device)
    grids = torch.zeros((len(train_data), *grid_hw))
    for i in torch.nonzero(train_data.has_mask).flatten().tolist():
        grids[i] = torch.from_numpy(mask_to_grid(train_data.masks[i].numpy(), grid_hw))
    bank = CounterfactualBank(train_data.images, train_data.labels, train_data.masks, train_data.has_mask,
                              cb.progress) if config.counterfactual else None

    final_config = replace(config, arch=arch, cam_layer=layer_name, image_size=size)
    version = project.create_version(parent.id if parent else None, config.mode, arch, layer_name, size,
                                     final_config.to_dict())
    out_dir = project.models_dir(version)
    spec = ModelSpec(arch, project.classes, layer_name, size)
    try:
        epochs = _fit(model, layer, config, device, train_data, val_data, grids, w_pred, w_att, bank,
                      generator, cb, lambda e: save_checkpoint(out_dir / f"epoch_{e:03d}.safetensors", model, spec),
                      lambda e, m: project.add_epoch(version, e, m))
        best = select_best_epoch(epochs, config.select_tolerance)
        best_path = out_dir / f"epoch_{best:03d}.safetensors"
        for path in out_dir.glob("epoch_*"):
            if path.stem != best_path.stem:
                path.unlink()
        model, layer, _ = load_checkpoint(best_path, device)
        summaries = evaluate_and_store(project, version, model, layer, size, device, progress=cb.progress,
                                       loaded={"train": train_data, "val": val_data})
        warnings = _compare_with_parent(parent, summaries)
        for w in warnings:
            cb.log(w)
        metrics = {"best_epoch": best, "seconds": round(time.perf_counter() - started, 2), **summaries}
        project.finish_version(version, "done", best_path.relative_to(project.root).as_posix(), best, metrics,
                               " ".join(warnings) or None)
        return TrainResult(version, best, summaries, epochs, metrics["seconds"], notes + warnings)
    except BaseException as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        status = "cancelled" if isinstance(exc, (Cancelled, KeyboardInterrupt)) else "failed"
        project.finish_version(version, status, note=str(exc)[:500])
        raise


def _compare_with_parent(parent: Version | None, summaries: dict) -> list[str]:
    if parent is None:
        return []
    before = (parent.metrics.get("val") or {}).get("accuracy")
    after = summaries.get("val", {}).get("accuracy")
    if before is not None and after is not None and after < before:
        return [f"warning: validation accuracy fell below the parent v{parent.id}'s ({after:.3f} < {before:.3f})"]
    return []


def _fit(model, layer, config, device, train_data, val_data, grids, w_pred, w_att, bank, generator, cb,
         save, record) -> list[dict]:
    normalise = Normalizer(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scaler = torch.amp.GradScaler("cuda") if needs_grad_scaler(device) else None
    n, history = len(train_data), []
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = _epoch_order(n, bank, config.counterfactual_share, generator)
        sums = {"loss": 0.0, "ce": 0.0, "attention": 0.0, "correct": 0, "seen": 0}
        batches = (n + config.batch_size - 1) // config.batch_size
        for b in range(batches):
            if cb.cancelled():
                raise Cancelled("training cancelled")
            idx = order[b * config.batch_size:(b + 1) * config.batch_size]
            images, masks_grid = train_data.images[idx], grids[idx]
            if bank is not None:
                images = bank.apply(idx, images, generator)
            if config.flip:
                flip = torch.rand(len(idx), generator=generator) < 0.5
                images = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
                masks_grid = torch.where(flip.view(-1, 1, 1), masks_grid.flip(-1), masks_grid)
            x, y = normalise(images), train_data.labels[idx].to(device)
            wp, wa = w_pred[idx].to(device), w_att[idx].to(device)
            with autocast(device):
                if bool((wa > 0).any()):
                    fwd = training_cam(model, layer, x, y, config.differentiable_weights)
                    parts = gradia_loss(fwd.logits, y, fwd.cam, masks_grid.to(device), wp, wa, config.lam)
                    logits, loss, ce, att = fwd.logits, parts.total, parts.ce, parts.attention
                else:
                    logits = model(x)
                    loss = (wp * F.cross_entropy(logits.float(), y, reduction="none")).mean()
                    ce, att = loss.detach(), torch.zeros(())
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward(); scaler.step(optimizer); scaler.update()
            else:
                loss.backward(); optimizer.step()
            k = len(idx)
            sums["loss"] += float(loss.detach()) * k; sums["ce"] += float(ce) * k; sums["attention"] += float(att) * k
            sums["correct"] += int((logits.argmax(1) == y).sum()); sums["seen"] += k
            cb.progress(f"epoch {epoch}/{config.epochs}", b + 1, batches)
        val = predict_split(model, layer, val_data, device, progress=None)
        att_means = val.attention_means()
        metrics = {"epoch": epoch, "loss": sums["loss"] / sums["seen"], "ce": sums["ce"] / sums["seen"],
                   "attention": sums["attention"] / sums["seen"], "train_accuracy": sums["correct"] / sums["seen"],
                   "val_accuracy": val.accuracy(val_data.labels), "val_iou": att_means["iou"],
                   "val_energy": att_means["energy"], "val_pointing": att_means["pointing"],
                   "seconds": round(time.perf_counter() - t0, 2)}
        save(epoch)
        record(epoch, metrics)
        history.append(metrics)
        cb.epoch_end(epoch, metrics)
    return history
