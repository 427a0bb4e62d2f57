"""Predictions, Grad-CAMs and attention metrics for a split, and storing them for a model version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..core import metrics
from ..core.assessment import assess, split_summary
from ..core.progress import CancelCheck, Progress, report, stop_if_cancelled
from ..core.records import SPLITS, Prediction
from ..core.store import Project
from .batches import in_order, read_batches
from .data import Normalizer, SplitData, load_split
from .device import autocast
from .gradcam import inference_cam
from .shortcut_probe import ProbeSet, build_probe, measure_reliance


@dataclass
class SplitResult:
    pred: np.ndarray  # (N,) int
    confidence: np.ndarray  # (N,) float
    grids: np.ndarray  # (N, h, w) float32, predicted-class CAM, ReLU + min-max
    iou: np.ndarray  # (N,) nan where no mask
    energy: np.ndarray
    pointing: np.ndarray  # (N,) float: 1, 0, or nan where no mask

    def accuracy(self, labels: torch.Tensor) -> float:
        return metrics.accuracy(self.pred, labels.numpy())

    def attention_means(self) -> dict[str, float | None]:
        masked = ~np.isnan(self.iou)
        if not masked.any():
            return {"iou": None, "energy": None, "pointing": None}
        return {k: float(np.mean(getattr(self, k)[masked])) for k in ("iou", "energy", "pointing")}


def predict_split(model: nn.Module, layer: nn.Module, data: SplitData, device: torch.device,
                  batch_size: int = 64, progress: Progress = None, stage: str = "evaluating",
                  cancelled: CancelCheck = None, workers: int | None = None) -> SplitResult:
    """Run the model in eval mode over ``data`` (restoring its mode after) with batched Grad-CAM.

    ``cancelled`` is asked before each batch; ``workers`` read a streamed split ahead (batches.py)."""
    was_training = model.training
    model.eval()
    normalise = Normalizer(device)
    n, size = len(data), data.images.shape[-1]
    batches = in_order(n, batch_size)
    reads = read_batches(data.images, batches, workers)
    preds, confs, grids = [], [], []
    iou = np.full(n, np.nan); energy = np.full(n, np.nan); pointing = np.full(n, np.nan)
    try:
        for batch, images in zip(batches, reads):
            stop_if_cancelled(cancelled, stage)
            start, stop = int(batch[0]), int(batch[-1]) + 1
            with autocast(device):
                logits, grid, up = inference_cam(model, layer, normalise(images), None, (size, size))
            probs = torch.softmax(logits.float(), dim=1)
            conf, pred = probs.max(dim=1)
            preds.append(pred.cpu().numpy()); confs.append(conf.cpu().numpy()); grids.append(grid.float().cpu().numpy())
            has = data.has_mask[start:stop].numpy()
            if has.any():
                rows = np.nonzero(has)[0]
                i, e, p = metrics.attention_scores(up.float().cpu().numpy()[rows], data.masks[start:stop].numpy()[rows])
                iou[start + rows], energy[start + rows], pointing[start + rows] = i, e, p
            report(progress, stage, stop, n)
    finally:
        reads.close()
        model.train(was_training)
    empty = np.zeros((0, 1, 1), np.float32)
    return SplitResult(np.concatenate(preds) if preds else np.zeros(0, int),
                       np.concatenate(confs) if confs else np.zeros(0),
                       np.concatenate(grids) if grids else empty, iou, energy, pointing)


def to_predictions(data: SplitData, result: SplitResult) -> list[Prediction]:
    def opt(a: np.ndarray, i: int):
        return None if np.isnan(a[i]) else float(a[i])

    return [Prediction(s.id, int(result.pred[i]), float(result.confidence[i]), result.grids[i],
                       opt(result.iou, i), opt(result.energy, i),
                       None if np.isnan(result.pointing[i]) else bool(result.pointing[i]))
            for i, s in enumerate(data.samples)]


def evaluate_and_store(project: Project, version_id: int, model: nn.Module, layer: nn.Module,
                       image_size: int, device: torch.device, splits=SPLITS, batch_size: int = 64,
                       progress: Progress = None, loaded: dict[str, SplitData] | None = None,
                       cancelled: CancelCheck = None, probes: dict[str, ProbeSet | None] | None = None,
                       probe_splits=("val", "test"), store: bool = True,
                       warn: Callable[[str], None] | None = None, stream: bool | None = None) -> dict[str, dict]:
    """Predict every sample of ``splits``, store the predictions, return each split's summary.
    A sample whose image cannot be read is left out, with a line to ``warn`` (see load_split).

    ``store=False`` (a read-only project) summarises the fresh predictions without writing them.

    The summaries of ``probe_splits`` also carry the shortcut probe's figures (shortcut_probe.py)
    where the split has masked images; ``probes`` holds probes already made. ``cancelled`` is asked
    per image while loading and per batch while predicting. ``stream``: see load_split."""
    loaded, probes = loaded or {}, dict(probes or {})
    summaries = {}
    for split in splits:
        data = loaded.get(split) or load_split(project, split, image_size, progress, cancelled, warn, stream)
        if len(data) == 0:
            continue
        result = predict_split(model, layer, data, device, batch_size, progress, f"evaluating {split}", cancelled)
        predictions = to_predictions(data, result)
        if store:
            project.save_predictions(version_id, predictions)
        fresh = None if store else {p.sample_id: p for p in predictions}
        summaries[split] = split_summary(assess(project, version_id, data.samples, fresh))
        if split in probe_splits:
            probe = probes[split] if split in probes else build_probe(data, progress, cancelled)
            if probe is not None:
                summaries[split].update(measure_reliance(model, probe, device, cancelled=cancelled,
                                                         split_predictions=result.pred).summary())
    return summaries
