"""One training run's epochs: batches, the GRADIA loss, and the validation pass after each epoch.

Kept apart from ``trainer`` (which prepares data, model and version) so each stays readable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.assessment import assessment_of, reasonability_matrix
from ..core.records import Prediction
from ..core.training_metrics import EPOCH_MATRIX_COUNTS, BatchLosses, EpochMetrics
from ..errors import Cancelled, GradiaError
from .averaging import WeightAverage, step_decay
from .batches import read_batches
from .config import TrainConfig
from .counterfactual import CounterfactualBank
from .data import Normalizer, SplitData
from .device import autocast, needs_grad_scaler
from .distributed import Distributed
from .evaluate import predict_split, to_predictions
from .explain import explain_image
from .gradcam import training_cam, training_cam_with_evidence
from .loss import avoid_attention, gradia_loss, known_cells, outside_evidence
from .mask_propagation import propose_masks
from .shortcut_probe import ProbeSet, measure_reliance

if TYPE_CHECKING:  # the trainer imports this module
    from .trainer import Callbacks


class NonFiniteLoss(GradiaError):
    """The loss became NaN or infinite; ``epoch`` is the one that failed (1-based)."""

    def __init__(self, epoch: int, batch: int, value: float):
        super().__init__(f"the loss became {value} in epoch {epoch}, batch {batch}")
        self.epoch, self.batch = epoch, batch


@dataclass(frozen=True)
class RunInputs:
    """Everything one run's epochs need: model, data, per-sample weights, callbacks and where results go."""

    model: nn.Module
    cam_layer: nn.Module
    config: TrainConfig
    device: torch.device
    train_data: SplitData
    val_data: SplitData
    mask_grids: torch.Tensor  # (N, h, w): each training sample's mask on the CAM grid, zeros without one
    w_pred: torch.Tensor  # (N,) weight of each training sample's classification loss
    w_att: torch.Tensor  # (N,) weight of its attention loss
    counterfactuals: CounterfactualBank | None
    generator: torch.Generator
    callbacks: Callbacks
    save_checkpoint: Callable[[int], Path | None]  # of the model as it is after that epoch; returns its file
    record_epoch: Callable[[EpochMetrics], None]
    val_probe: ProbeSet | None = None  # counterfactual copies of the masked validation images
    distributed: Distributed | None = None  # this process's place in a distributed run
    forward_model: nn.Module | None = None  # what training steps call: the model's DDP wrapper or compiled form
    avoid_grids: torch.Tensor | None = None  # (N, h, w) "don't look here" cover per CAM cell; None: no such layer
    inner_grids: torch.Tensor | None = None  # (N, h, w) the eroded masks' targets (boundary-tolerant loss only)

    @property
    def stepping_model(self) -> nn.Module:
        # not `forward_model or model`: a compiled module refuses the len() that truth-testing asks for
        return self.model if self.forward_model is None else self.forward_model


@dataclass
class EpochState:
    """What a live view needs after an epoch. ``model`` is only valid during the callback."""

    epoch: int
    metrics: EpochMetrics
    val_predictions: list[Prediction]
    val_matrix: dict
    model: nn.Module
    layer: nn.Module
    image_size: int
    normalise: Normalizer
    checkpoint: Path | None = None  # this epoch's weights on disk (kept until the run picks its best epoch)

    def heatmap(self, rgb: np.ndarray, target: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(CAM at the image's size, class probabilities) under this epoch's weights, in eval mode."""
        was = self.model.training
        self.model.eval()
        try:
            return explain_image(self.model, self.layer, self.image_size, self.normalise, rgb, target)
        finally:
            self.model.train(was)


def _epoch_order(n: int, bank, share: float, generator: torch.Generator) -> torch.Tensor:
    if bank is None or len(bank) == 0 or len(bank) == n:
        return torch.randperm(n, generator=generator)
    # images whose background is never swapped are drawn at most as often as in a plain epoch
    weights = torch.full((n,), min((1 - share) / (n - len(bank)), 1 / n))
    weights[bank.index] = max(share / len(bank), 1 / n)
    return torch.multinomial(weights, n, replacement=True, generator=generator)


PROPOSAL_CHUNK = 512


def propagation_epochs(config: TrainConfig) -> tuple[int, ...]:
    """The epochs before which masks are proposed for the still unmasked images."""
    if not config.propagate_masks or config.epochs < 3:
        return ()
    return tuple(sorted({config.epochs // 3 + 1, 2 * config.epochs // 3 + 1}))


def _propagate(run: RunInputs) -> None:
    """Propose masks for the unmasked training images not yet in the bank and add those taken to it."""
    bank, data, cb = run.counterfactuals, run.train_data, run.callbacks
    unmasked = torch.nonzero(~data.has_mask).flatten().tolist()
    candidates = torch.tensor([i for i in unmasked if i not in bank.position], dtype=torch.long)
    added = 0
    for start in range(0, len(candidates), PROPOSAL_CHUNK):  # full-size proposals of one chunk at a time
        proposals = propose_masks(run.model, run.cam_layer, data, candidates[start:start + PROPOSAL_CHUNK],
                                  run.device, cancelled=cb.cancelled)
        added += bank.adopt(data.images, data.labels, proposals, cancelled=cb.cancelled)
        cb.progress("proposing masks for unmasked images", min(start + PROPOSAL_CHUNK, len(candidates)),
                    len(candidates))
    cb.log(f"proposed masks for {added} of {len(candidates)} unmasked training images still without one; "
           "their backgrounds are swapped from now on")


def _batch_loss(model, layer, config, x, y, masks_grid, wp, wa, device, avoid=None, avoids=None, inner=None):
    """(logits, total loss, cross-entropy part, attention part) of one batch; ``wa`` (and ``avoids``,
    which samples have a "don't look here" layer, with ``avoid`` their cover of the CAM grid) on the
    CPU, so that choosing the attention samples never waits for the GPU."""
    ruled_out = avoids is not None and bool(avoids.any())
    with autocast(device):
        if bool((wa > 0).any()) or ruled_out:
            grid = masks_grid.to(device)
            avoid = avoid.to(device) if ruled_out else None
            known = known_cells(grid, avoid)
            if config.outside_weight:
                fwd, evidence = training_cam_with_evidence(model, layer, x, y, config.differentiable_weights,
                                                           config.cam_method)
            else:
                fwd, evidence = training_cam(model, layer, x, y, config.differentiable_weights, config.cam_method), None
            parts = gradia_loss(fwd.logits, y, fwd.cam, grid, wp, wa, config.lam, known,
                                None if inner is None else inner.to(device))
            total = parts.total
            guided = wa > 0
            if ruled_out:
                total = total + config.avoid_weight * avoid_attention(fwd.cam, avoid, avoids)
                guided = guided | avoids
            if evidence is not None:
                total = total + config.outside_weight * outside_evidence(evidence, grid, guided, known)
            return fwd.logits, total, parts.ce, parts.attention
        logits = model(x)
        loss = (wp * F.cross_entropy(logits.float(), y, reduction="none")).mean()
        return logits, loss, loss.detach(), loss.new_zeros(())


def augment_batch(whole: torch.Tensor, images: torch.Tensor, masks_grid: torch.Tensor,
                  bank: CounterfactualBank | None, generator: torch.Generator, flip: bool,
                  mine: torch.Tensor | None = None,
                  device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch's images (uint8) and CAM-grid targets after counterfactual backgrounds and flips.

    ``whole`` is the batch's sample positions; with ``mine`` (a distributed run) ``images`` and
    ``masks_grid`` hold only those rows of it, and the random draws are still made for the whole batch.
    With ``device``, the batch moves there after its backgrounds are swapped (from the CPU-side
    plates) and is flipped there: a GPU flips a batch in microseconds where the host, which must
    also keep the GPU fed, takes milliseconds; the draws stay on the CPU generator, so the result
    is the same."""
    if bank is not None:
        images = bank.apply(whole, images, generator, rows=mine)
    if device is not None:
        images = images.to(device, non_blocking=True)
        masks_grid = masks_grid.to(device, non_blocking=True)
    if flip:
        flipped = torch.rand(len(whole), generator=generator) < 0.5
        flipped = flipped if mine is None else flipped[mine]
        flipped = flipped.to(images.device)
        images = torch.where(flipped.view(-1, 1, 1, 1), images.flip(-1), images)
        masks_grid = torch.where(flipped.view(-1, *[1] * (masks_grid.dim() - 1)), masks_grid.flip(-1), masks_grid)
    return images, masks_grid


def _augmented(run: RunInputs, whole: torch.Tensor, idx: torch.Tensor, images: torch.Tensor,
               mine: torch.Tensor | None, generator: torch.Generator):
    """(images, "look here" targets, "don't look here" cover or None, eroded targets or None) of a batch
    after ``augment_batch``; the grids are stacked so that one flip moves them all."""
    extra = [g for g in (run.avoid_grids, run.inner_grids) if g is not None]
    grids = run.mask_grids[idx]
    if extra:
        grids = torch.stack([grids, *(g[idx] for g in extra)], 1)
    images, grids = augment_batch(whole, images, grids, run.counterfactuals, generator, run.config.flip, mine,
                                  device=run.device)
    layers = list(grids.unbind(1)) if extra else [grids]
    avoid = layers.pop(1) if run.avoid_grids is not None else None
    inner = layers.pop(1) if run.inner_grids is not None else None
    return images, layers[0], avoid, inner


def _train_epoch(run: RunInputs, epoch: int, batch_index: list[torch.Tensor], reads, optimizer, scaler,
                 sums: dict, average: WeightAverage | None = None) -> None:
    """One pass over ``batch_index`` (whole batches; in a distributed run ``reads`` holds this
    process's share of each, and every random draw is made for the whole batch so that the
    processes' generators stay in step); ``average`` follows each optimiser step."""
    layer, config, device, cb, ddp = run.cam_layer, run.config, run.device, run.callbacks, run.distributed
    model = run.stepping_model
    train_data, generator, normalise = run.train_data, run.generator, Normalizer(device)
    batches = len(batch_index)
    figures = BatchFigures(epoch, f"epoch {epoch}/{config.epochs}", batches, sums, cb,
                           lag=report_lag(device))
    for b, (whole, images) in enumerate(zip(batch_index, reads)):
        if cb.cancelled():
            raise Cancelled("training cancelled")
        mine = ddp.shard(torch.arange(len(whole))) if ddp else None
        idx = whole if mine is None else whole[mine]
        images, masks_grid, avoid, inner = _augmented(run, whole, idx, images, mine, generator)
        avoids = None if avoid is None else train_data.avoid_rows()[idx]
        x, y = normalise(images), train_data.labels[idx].to(device, non_blocking=True)
        logits, loss, ce, att = _batch_loss(model, layer, config, x, y, masks_grid,
                                            run.w_pred[idx].to(device, non_blocking=True), run.w_att[idx], device,
                                            avoid, avoids, inner)
        figures.add(b + 1, len(idx), torch.stack([loss.detach().float(), ce.float(), att.float(),
                                                  (logits.argmax(1) == y).sum().float()]))
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward(); scaler.step(optimizer); scaler.update()
        else:
            loss.backward(); optimizer.step()
        if average is not None:
            average.update()
    figures.flush()


def report_lag(device: torch.device) -> int:
    """Batches by which each batch's figures are read back (BatchFigures): 1 on a GPU, 0 elsewhere."""
    return 1 if device.type == "cuda" else 0


class BatchFigures:
    """Each batch's loss, its parts and its correct count: summed for the epoch, checked for being
    finite, and reported, ``lag`` batches after the batch was computed.

    Reading a figure back from a GPU makes the host wait until the device has finished that batch.
    Read at once, every batch would wait, and the host would read, augment and copy the next batch
    while the GPU stood idle. One batch late, the batch is done, or nearly, by the time its figures
    are read, and the GPU works on the next meanwhile. On the CPU the lag is 0, and a non-finite
    loss is caught before its step as before; on a GPU it is caught one batch later, and the run
    ends the same way: no version, the last good epoch's checkpoint kept.
    """

    def __init__(self, epoch: int, stage: str, batches: int, sums: dict, callbacks, lag: int):
        self.epoch, self.stage, self.batches, self.sums, self.cb, self.lag = epoch, stage, batches, sums, callbacks, lag
        self.pending: list[tuple[int, int, torch.Tensor]] = []

    def add(self, batch: int, samples: int, figures: torch.Tensor) -> None:
        """``figures``: (loss, ce, attention, correct) of batch number ``batch`` (from 1)."""
        self.pending.append((batch, samples, figures))
        self._report(keep=self.lag)

    def flush(self) -> None:
        self._report(keep=0)

    def _report(self, keep: int) -> None:
        while len(self.pending) > keep:
            batch, k, figures = self.pending.pop(0)
            loss, ce, att, correct = figures.tolist()
            if not math.isfinite(loss):
                raise NonFiniteLoss(self.epoch, batch, loss)
            sums = self.sums
            sums["loss"] += loss * k; sums["ce"] += ce * k; sums["attention"] += att * k
            sums["correct"] += int(correct); sums["seen"] += k
            self.cb.batch_end(self.epoch, batch, self.batches, BatchLosses(loss=loss, ce=ce, attention=att))
            self.cb.progress(self.stage, batch, self.batches)


def _epoch_batches(order: torch.Tensor, batch_size: int, ddp: Distributed | None) -> list[torch.Tensor]:
    """The epoch's batches; a distributed run drops a last batch too small to give every process a sample."""
    batches = list(order.split(batch_size))
    if ddp is not None:
        batches = [b for b in batches if len(b) >= ddp.world]
    return batches


def fit(run: RunInputs) -> list[EpochMetrics]:
    """Train ``config.epochs`` epochs; after each, evaluate on validation, save, record, report."""
    model, layer, config, device, cb = run.model, run.cam_layer, run.config, run.device, run.callbacks
    train_data, val_data, bank, generator = run.train_data, run.val_data, run.counterfactuals, run.generator
    ddp = run.distributed
    normalise = Normalizer(device)
    optimizer = torch.optim.Adam(run.stepping_model.parameters(), lr=config.lr)
    scaler = torch.amp.GradScaler("cuda") if needs_grad_scaler(device) else None
    n, history = len(train_data), []
    swaps = bank is not None and len(bank.plates) >= 2  # with fewer expert plates no background can be swapped
    propagate_at = propagation_epochs(config) if swaps else ()
    average: WeightAverage | None = None
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        if epoch in propagate_at:
            _propagate(run)  # with the averaged weights, where the run keeps an average
        if average is not None:
            average.swap_out()  # training goes on from the live weights
        model.train()
        order = _epoch_order(n, bank, config.counterfactual_share, generator)
        sums = {"loss": 0.0, "ce": 0.0, "attention": 0.0, "correct": 0, "seen": 0}
        batch_index = _epoch_batches(order, config.batch_size, ddp)
        if average is None and config.average_epochs:
            average = WeightAverage(model, step_decay(config.average_epochs, len(batch_index)))
        shares = batch_index if ddp is None else [ddp.shard(b) for b in batch_index]
        reads = read_batches(train_data.images, shares, config.loader_workers, pin_memory=device.type == "cuda")
        try:
            _train_epoch(run, epoch, batch_index, reads, optimizer, scaler, sums, average)
        finally:  # a cancelled or failed epoch stops its reader processes too
            reads.close()
        if average is not None:
            average.swap_in()  # validation, the checkpoint, heatmaps and proposals see the average
        if ddp is not None:  # the epoch's figures over every process's share
            keys = ("loss", "ce", "attention", "correct", "seen")
            sums = dict(zip(keys, ddp.sum([float(sums[k]) for k in keys])))
            if not ddp.main:  # only the first process validates, saves and reports
                continue
        trained = time.perf_counter()
        val = predict_split(model, layer, val_data, device, progress=None, stage="validation", cancelled=cb.cancelled)
        predictions = to_predictions(val_data, val)
        matrix = reasonability_matrix([assessment_of(s, p, {}) for s, p in zip(val_data.samples, predictions)])
        att_means = val.attention_means()
        probe = None
        if run.val_probe is not None:  # the originals' predictions come from the pass just made
            probe = measure_reliance(model, run.val_probe, device, cancelled=cb.cancelled, split_predictions=val.pred)
        evaluated = time.perf_counter()
        checkpoint = run.save_checkpoint(epoch)
        seen = sums["seen"]
        metrics = EpochMetrics(
            epoch=epoch, loss=sums["loss"] / seen, ce=sums["ce"] / seen, attention=sums["attention"] / seen,
            train_accuracy=sums["correct"] / seen, val_accuracy=val.accuracy(val_data.labels),
            val_iou=att_means["iou"], val_energy=att_means["energy"], val_pointing=att_means["pointing"],
            val_matrix={k: matrix[k] for k in EPOCH_MATRIX_COUNTS}, train_seconds=round(trained - t0, 3),
            eval_seconds=round(evaluated - trained, 3), seconds=round(time.perf_counter() - t0, 2),
            val_masked_accuracy=probe.original_accuracy if probe else None,
            val_counterfactual_accuracy=probe.counterfactual_accuracy if probe else None)
        run.record_epoch(metrics)
        history.append(metrics)
        cb.epoch_state(EpochState(epoch, metrics, predictions, matrix, model, layer,
                                  val_data.images.shape[-1], normalise, checkpoint))
        cb.epoch_end(epoch, metrics)
    return history
