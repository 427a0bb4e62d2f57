"""The training loop: baseline, GRADIA and GRADIA-on-all-masks, with optional counterfactuals.

The trainer knows nothing of Qt or of the command line: it reports through ``Callbacks`` and
asks ``Callbacks.cancelled()`` throughout - per image while loading, per masked image while
preparing counterfactuals, per batch while training, validating and evaluating. Each run creates
a new model version.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.assessment import assess
from ..core.records import Version
from ..core.store import Project
from ..core.training_metrics import BatchLosses, EpochMetrics
from ..errors import Cancelled, GradiaError
from . import distributed
from .checkpoint import ModelSpec, load_checkpoint, read_spec, save_checkpoint
from .feature_layout import layout_of, to_grid
from .config import DEFAULT_BATCH, TrainConfig, default_batch_size
from .counterfactual import CounterfactualBank
from .data import SplitData, load_split, should_stream
from .device import pick_device, place_model
from .distributed import Distributed
from .epoch_loop import EpochState, NonFiniteLoss, RunInputs, fit
from .evaluate import evaluate_and_store
from .gradcam import CamTap
from .loss import avoid_grid, mask_to_grid, tolerance_band
from .pixel_cache import cache_folder, scratch_folder
from .selection import select_best_epoch
from .shortcut_probe import build_probe
from .models import (
    TINY,
    build_model,
    find_cam_layer,
    get_layer,
    imagenet_weights_path,
    load_weights,
)

COMPILE_BACKEND = "inductor"  # torch.compile's default; tests use "aot_eager", which needs no C++ compiler


class Callbacks:
    """Override what you need; the GUI's worker turns these into Qt signals."""

    def progress(self, stage: str, done: int, total: int) -> None: ...

    def batch_end(self, epoch: int, batch: int, batches: int, losses: BatchLosses) -> None: ...

    def epoch_state(self, state: EpochState) -> None:
        """After each epoch, before ``epoch_end``: validation predictions, matrix, and the live model."""

    def epoch_end(self, epoch: int, metrics: EpochMetrics) -> None: ...

    def log(self, message: str) -> None: ...

    def cancelled(self) -> bool:
        """Asked often, on the training thread: True stops the run with ``Cancelled``."""
        return False


@dataclass
class TrainResult:
    version: int
    best_epoch: int
    selection_rule: str  # how the best epoch was chosen (selection.py)
    summaries: dict[str, dict]  # per split: accuracy, iou, energy, pointing, matrix
    epochs: list[EpochMetrics]
    seconds: float
    warnings: list[str] = field(default_factory=list)


def _seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _prepare_model(project: Project, config: TrainConfig, device: torch.device, parent: Version | None):
    """(model, layer name, arch, image size, notes) for a fresh run, a fine-tune or a restart."""
    notes = []
    if parent is not None:
        checkpoint = project.root / parent.checkpoint
        if config.start == "initial":  # the parent's description only: building its model would draw random numbers
            spec = read_spec(checkpoint)
            model, start_notes = _initial_model(project, parent, spec.arch, spec.image_size)
            notes += start_notes
        else:
            model, _, spec = load_checkpoint(checkpoint, "cpu")
        if config.arch and config.arch != spec.arch:
            raise GradiaError(f"--arch {config.arch} differs from the parent v{parent.id}'s {spec.arch}")
        if spec.classes != project.classes:
            raise GradiaError(f"parent v{parent.id} was trained on classes {spec.classes}, the project has {project.classes}")
        arch, size, layer_name = spec.arch, spec.image_size, config.cam_layer or spec.cam_layer
        if config.image_size and config.image_size != size:
            notes.append(f"image size {config.image_size} ignored: fine-tuning keeps the parent's {size} px")
    else:
        arch = config.arch or "tiny"
        size = config.image_size or (64 if arch in TINY else 224)
        model, notes = _fresh_model(arch, len(project.classes), config.pretrained, config.init_weights, size)
        layer_name = config.cam_layer or find_cam_layer(model, size)
    get_layer(model, layer_name)  # a bad path fails here, before anything is written
    return place_model(model, device), layer_name, arch, size, notes


def _fresh_model(arch: str, classes: int, pretrained: bool, init_weights: str | None, image_size: int):
    model = build_model(arch, classes, image_size)
    notes = []
    if pretrained:
        skipped = load_weights(model, imagenet_weights_path(arch))
        notes.append(f"ImageNet weights loaded; new: {', '.join(skipped) or 'nothing'}")
    if init_weights:
        skipped = load_weights(model, init_weights)
        notes.append(f"weights from {init_weights}; left initial: {', '.join(skipped) or 'nothing'}")
    return model, notes


def _initial_model(project: Project, parent: Version, arch: str, image_size: int):
    """The weights the parent's lineage started from (random, ImageNet or a file), for a restart.

    The lineage is followed back to its first version, whose config says how it began; layers that
    began random are drawn again from this run's seed.
    """
    root = parent
    while root.parent_id is not None:
        root = project.version(root.parent_id)
    pretrained, init_weights = bool(root.config.get("pretrained")), root.config.get("init_weights")
    if init_weights and not Path(init_weights).is_file():
        raise GradiaError(f"{init_weights}: the weights file v{root.id} started from is gone, so v{parent.id}'s "
                          f"starting point cannot be rebuilt; restore it, or start from v{parent.id}'s own "
                          "weights (--start parent)")
    model, notes = _fresh_model(arch, len(project.classes), pretrained, init_weights, image_size)
    began = "ImageNet weights" if pretrained else (f"{init_weights}" if init_weights else "random weights")
    if pretrained and init_weights:
        began = f"ImageNet weights and {init_weights}"
    return model, notes + [f"restarted from the weights v{root.id} began with ({began}), keeping v{parent.id}'s "
                           "architecture, layer and image size; its learned weights are not used"]


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
    handle = layer.register_forward_hook(
        lambda _m, _i, out: shape.append(to_grid(out, layout_of(layer)).shape[-2:]))
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size, device=device))
    finally:
        handle.remove()
        model.train(was)
    return tuple(shape[0])


def train(project: Project, config: TrainConfig, callbacks: Callbacks | None = None,
          distributed: Distributed | None = None) -> TrainResult | None:
    """Train a new model version; returns its id, best epoch and per-split summaries.

    ``distributed``: this process's place in a torchrun launch (distributed.py). Every process trains;
    only the first writes to the project and returns a result, the others return None.

    A run that fails or is cancelled leaves no usable version behind (once its row exists - after the
    data and counterfactuals are ready - it is marked failed or cancelled and is listed nowhere);
    running out of accelerator memory says which batch size to try.
    """
    config.validate()
    run_config = config.resolved()
    try:
        with contextlib.ExitStack() as resources:
            return _train(project, run_config, callbacks or Callbacks(), resources, distributed)
    except torch.OutOfMemoryError as exc:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        batch = run_config.batch_size or DEFAULT_BATCH  # None only when memory ran out before the data was read
        raise GradiaError(f"out of {config.device if config.device != 'auto' else 'GPU'} memory at batch size "
                          f"{batch}: try a smaller batch (e.g. --batch-size {max(1, batch // 2)}) or a smaller "
                          "image size; no version was made") from exc


def _train(project: Project, config: TrainConfig, cb: Callbacks, resources: contextlib.ExitStack,
           ddp: Distributed | None) -> TrainResult | None:
    started = time.perf_counter()
    device = distributed.start(ddp, config.device) if ddp else pick_device(config.device)
    if ddp and not ddp.main:
        cb = Callbacks()  # the first process reports for all
    parent = project.resolve_version(config.parent) if config.parent is not None else None
    generator = _seed_everything(config.seed)
    model, layer_name, arch, size, notes = _prepare_model(project, config, device, parent)
    forward_model = distributed.wrap(model, device) if ddp else None
    if forward_model is not None:
        model = forward_model.module  # its BatchNorm layers may have been swapped for synchronised ones
    if config.compile:
        stepping = model if forward_model is None else forward_model
        forward_model = compiled_forward(stepping, get_layer(model, layer_name), resources)
        cb.log("compiling the training step (torch.compile): the first batches take longer while it compiles")
    missing = project.missing_mask_files()
    if missing:  # a damaged project still trains: those samples count as unmasked
        notes.append(f"{len(missing)} mask file{'s are' if len(missing) > 1 else ' is'} missing (e.g. sample "
                     f"{missing[0]}); trained as unmasked; `gradia check --repair` drops their rows")
    for note in notes:
        cb.log(note)
    layer = get_layer(model, layer_name)
    left_out: list[str] = []  # images that can no longer be read: left out, named in the result's warnings

    def leave_out(line: str) -> None:
        left_out.append(line)
        cb.log(line)

    stream = should_stream(config.data, len(project.samples(split="train")) + len(project.samples(split="val")), size)
    if stream:
        cb.log(f"streaming images from the project's pixel cache at {size} px ({cache_folder(project, size)}); "
               "images new or changed since the last run are decoded first")
    first_alone = ddp is not None and stream  # the first process brings the cache up to date, then the rest read it
    if first_alone and not ddp.main:
        ddp.barrier()
    train_data = load_split(project, "train", size, cb.progress, cb.cancelled, leave_out, stream)
    val_data = load_split(project, "val", size, cb.progress, cb.cancelled, leave_out, stream)
    if first_alone and ddp.main:
        ddp.barrier()
    if config.batch_size is None:  # filled in place, so that train()'s out-of-memory message names it
        config.batch_size = default_batch_size(config.mode, len(train_data))
        if config.batch_size != DEFAULT_BATCH:
            cb.log(f"batches of {config.batch_size}: at {DEFAULT_BATCH}, {len(train_data)} training images would give "
                   "a guided run too few optimiser steps (--batch-size sets it)")
    if len(val_data) == 0:
        raise GradiaError(f"{project.root}: no validation images (IMAGES/val/...): the best epoch is chosen on them")
    if config.mode != "baseline" and not bool(train_data.has_mask.any() | train_data.avoid_rows().any()):
        raise GradiaError(f"{project.root}: mode '{config.mode}' learns from masked training images and there are "
                          "none: paint masks on some training images, or train with --mode baseline")
    w_pred, w_att = _sample_weights(project, config, train_data, parent)
    grid_hw = _grid_size(model, layer, size, device)
    grids = torch.zeros((len(train_data), *grid_hw))
    inner_grids = torch.zeros_like(grids) if config.attention_loss == "tolerant" else None
    radius = max(1, round(config.tolerance * size))
    for i in torch.nonzero(train_data.has_mask).flatten().tolist():
        mask = train_data.masks[i].numpy()
        if inner_grids is not None:
            inner, mask = tolerance_band(mask, radius)
            inner_grids[i] = torch.from_numpy(mask_to_grid(inner, grid_hw))
        grids[i] = torch.from_numpy(mask_to_grid(mask, grid_hw))
    avoid_grids = None
    if config.mode != "baseline" and train_data.has_avoid is not None:
        avoid_grids = torch.zeros((len(train_data), *grid_hw))
        for i in torch.nonzero(train_data.has_avoid).flatten().tolist():
            avoid_grids[i] = torch.from_numpy(avoid_grid(train_data.avoid[i].numpy(), grid_hw))
    bank = None
    if config.counterfactual:  # a streamed run keeps the bank's images in files, not in memory
        scratch = resources.enter_context(scratch_folder(project)) if stream else None
        bank = CounterfactualBank(train_data.images, train_data.labels, train_data.masks, train_data.has_mask,
                                  cb.progress, cb.cancelled, scratch, train_data.avoid, train_data.has_avoid,
                                  mosaic_share=config.mosaic_share)
        resources.callback(bank.discard)
    inputs = dict(model=model, cam_layer=layer, config=config, device=device, train_data=train_data,
                  val_data=val_data, mask_grids=grids, w_pred=w_pred, w_att=w_att, counterfactuals=bank,
                  generator=generator, callbacks=cb, distributed=ddp, forward_model=forward_model,
                  avoid_grids=avoid_grids, inner_grids=inner_grids)
    if ddp and not ddp.main:
        distributed.fit_together(fit, RunInputs(**inputs, save_checkpoint=lambda _epoch: None,
                                                record_epoch=lambda _metrics: None))
        return None
    val_probe = build_probe(val_data, cb.progress, cb.cancelled)

    final_config = replace(config, arch=arch, cam_layer=layer_name, image_size=size)
    version = project.create_version(parent.id if parent else None, config.mode, arch, layer_name, size,
                                     final_config.to_dict())
    out_dir = project.models_dir(version)
    spec = ModelSpec(arch, project.classes, layer_name, size)
    try:
        epochs = (distributed.fit_together if ddp else lambda f, i: f(i))(fit, RunInputs(
            **inputs, val_probe=val_probe,
            save_checkpoint=lambda e: save_checkpoint(out_dir / f"epoch_{e:03d}.safetensors", model, spec),
            record_epoch=lambda metrics: project.add_epoch(version, metrics)))
        selection = select_best_epoch(epochs, config.select_tolerance, len(project.classes),
                                      averaged=bool(config.average_epochs))
        best = selection.epoch
        cb.log(f"kept epoch {best}, chosen by {selection.rule}")
        best_path = out_dir / f"epoch_{best:03d}.safetensors"
        for path in out_dir.glob("epoch_*"):
            if path.stem != best_path.stem:
                path.unlink()
        model, layer, _ = load_checkpoint(best_path, device)
        summaries = evaluate_and_store(project, version, model, layer, size, device, progress=cb.progress,
                                       loaded={"train": train_data, "val": val_data}, cancelled=cb.cancelled,
                                       probes={"val": val_probe}, warn=leave_out, stream=stream)
        warnings = _compare_with_parent(parent, summaries)
        for w in warnings:
            cb.log(w)
        metrics = {"best_epoch": best, "selection_rule": selection.rule,
                   "seconds": round(time.perf_counter() - started, 2), **summaries}
        project.finish_version(version, "done", best_path.relative_to(project.root).as_posix(), best, metrics,
                               " ".join(warnings) or None)
        return TrainResult(version, best, selection.rule, summaries, epochs, metrics["seconds"],
                           notes + left_out + warnings)
    except NonFiniteLoss as exc:
        try:
            message = _keep_last_good(project, out_dir, exc)
        except OSError as err:
            message = (f"training stopped: {exc}; no version was made, and the checkpoints could not be tidied "
                       f"({err.filename or out_dir}: {err.strerror or err})")
        _mark_ended(project, version, "failed", message)
        raise GradiaError(message) from exc
    except BaseException as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        status = "cancelled" if isinstance(exc, (Cancelled, KeyboardInterrupt)) else "failed"
        error = _disk_error(exc, out_dir) if isinstance(exc, OSError) else None
        _mark_ended(project, version, status, str(error or exc))
        if error is not None:
            raise error from exc
        raise


def compiled_forward(model: nn.Module, layer: nn.Module, resources: contextlib.ExitStack) -> nn.Module:
    """``model`` compiled for training steps; Grad-CAM reads ``layer`` through a tap kept for the run.

    Only the training forward pass is compiled: validation, evaluation and heatmaps run the same
    weights eagerly (they switch to eval mode and change batch sizes, which would compile again).
    """
    import torch._functorch.config as functorch_config

    # Grad-CAM takes a gradient through the graph after the CAM layer and keeps that graph for the
    # loss's backward; a compiled backward that donates its saved buffers refuses a kept graph.
    functorch_config.donated_buffer = False
    tap = CamTap(layer)
    resources.callback(tap.remove)
    return torch.compile(model, backend=COMPILE_BACKEND)


def _disk_error(exc: OSError, out_dir) -> GradiaError:
    """A file operation that failed mid-run (disk full, read-only, no permission), in one line."""
    return GradiaError(f"{exc.filename or out_dir}: {exc.strerror or exc} (training stopped, no version was made)")


def _mark_ended(project: Project, version: int, status: str, note: str) -> None:
    """Record how the run ended, if the project can still be written.

    On a full disk it often cannot; the error that stopped the run matters more than this one,
    and the row left 'running' is marked failed the next time the project is opened.
    """
    try:
        project.finish_version(version, status, note=note[:500])
    except (GradiaError, OSError):
        pass


def _keep_last_good(project: Project, out_dir, exc: NonFiniteLoss) -> str:
    """Remove all but the last finite epoch's checkpoint; the message says where it is."""
    last_good = out_dir / f"epoch_{exc.epoch - 1:03d}.safetensors"
    for path in out_dir.glob("epoch_*"):
        if path != last_good:
            path.unlink()
    advice = "try a lower learning rate or lambda"
    if exc.epoch == 1:
        shutil.rmtree(out_dir, ignore_errors=True)
        return f"training stopped: {exc}; no epoch finished, so no version was made ({advice})"
    where = last_good.relative_to(project.root).as_posix()
    return (f"training stopped: {exc}; no version was made, the last good checkpoint (epoch {exc.epoch - 1}) "
            f"is kept at {where} ({advice})")


def _compare_with_parent(parent: Version | None, summaries: dict) -> list[str]:
    if parent is None:
        return []
    before = (parent.metrics.get("val") or {}).get("accuracy")
    after = summaries.get("val", {}).get("accuracy")
    if before is not None and after is not None and after < before:
        return [f"warning: validation accuracy fell below the parent v{parent.id}'s ({after:.3f} < {before:.3f})"]
    return []
