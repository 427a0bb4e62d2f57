"""Deletion and insertion AUC: does the model really use what its heatmap points at?

For each image the pixels are ranked by the CAM of the predicted class (highest first). *Deletion*
removes them in that order, a fraction at a time, and follows the predicted class's probability;
*insertion* starts from an image with everything removed and puts them back in that order (Petsiuk
et al., "RISE", 2018). The area under each curve (the mean probability over the steps, fractions
0, 1/S, ..., 1) sums it up: a heatmap faithful to the model has a LOW deletion AUC (removing what
it points at soon changes the decision) and a HIGH insertion AUC (what it points at is enough).

"Removed" means replaced by a strongly blurred copy of the image (a Gaussian of a quarter of the
image's side), not by black: a black patch is a new shape the model may react to, while the
blurred copy keeps the image's colours and drops only its detail. The same removed image is the
start of insertion, so the two curves meet at its probability.

Everything runs batched: each chunk of images is expanded to its S + 1 perturbed copies per curve
and classified in one pass; cost is about 2 (S + 1) forward passes per image (``gradia bench
--faithfulness`` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.progress import CancelCheck, Progress, report, stop_if_cancelled
from .batches import in_order, read_batches
from .data import Normalizer, SplitData
from .device import autocast
from .gradcam import inference_cam, upsample_cam

STEPS = 20  # fractions 0, 1/20, ..., 1: 21 points per curve
BLUR_SHARE = 0.25  # the removed image: a Gaussian blur with sigma = this share of the image's side


@dataclass
class Faithfulness:
    deletion: np.ndarray  # (N,) AUC of the predicted class's probability as top-CAM pixels are removed
    insertion: np.ndarray  # (N,) AUC as they are put back into the removed image
    predicted: np.ndarray  # (N,) the class followed

    def means(self) -> dict[str, float | None]:
        if len(self.deletion) == 0:
            return {"deletion_auc": None, "insertion_auc": None}
        return {"deletion_auc": float(self.deletion.mean()), "insertion_auc": float(self.insertion.mean())}


def blurred(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, S, S) float images with their detail removed: a separable Gaussian blur, sigma = S/4."""
    size = x.shape[-1]
    sigma = max(1.0, BLUR_SHARE * size)
    radius = min(int(3 * sigma), size - 1)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32, device=x.device)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(x.dtype)
    channels = x.shape[1]
    out = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1),
                   groups=channels)
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1),
                    groups=channels)


def _curves(model: nn.Module, x: torch.Tensor, cam: torch.Tensor, target: torch.Tensor, steps: int,
            device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, steps + 1) probabilities of ``target`` along deletion and insertion, for normalised ``x``."""
    b, _, h, w = x.shape
    base = blurred(x)
    rank = torch.argsort(torch.argsort(cam.flatten(1), dim=1, descending=True), dim=1)  # 0 = hottest pixel
    fractions = torch.linspace(0, 1, steps + 1, device=device)
    shown = (rank[:, None, :] < (fractions[None, :, None] * h * w).round()).view(b, steps + 1, 1, h, w)
    x_, base_ = x[:, None], base[:, None]
    deleted = torch.where(shown, base_, x_).flatten(0, 1)  # the top pixels removed
    inserted = torch.where(shown, x_, base_).flatten(0, 1)  # the top pixels put back
    probs = []
    for images in (deleted, inserted):
        with autocast(device):
            logits = model(images)
        p = torch.softmax(logits.float(), dim=1).view(b, steps + 1, -1)
        probs.append(p.gather(2, target.view(b, 1, 1).expand(b, steps + 1, 1))[..., 0])
    return probs[0], probs[1]


def _auc(curve: torch.Tensor) -> torch.Tensor:
    """Trapezoid area under (B, K) values at evenly spaced fractions of [0, 1]."""
    return (curve[:, 1:] + curve[:, :-1]).sum(dim=1) / (2 * (curve.shape[1] - 1))


@torch.no_grad()
def _no_grad_curves(model, x, cam, target, steps, device):
    return _curves(model, x, cam, target, steps, device)


def measure_faithfulness(model: nn.Module, layer: nn.Module, data: SplitData, device: torch.device,
                         steps: int = STEPS, batch_size: int = 8, progress: Progress = None,
                         cancelled: CancelCheck = None, method: str = "gradcam") -> Faithfulness:
    """Deletion and insertion AUC of every image of ``data``, following its predicted class."""
    was_training = model.training
    model.eval()
    normalise = Normalizer(device)
    n, size = len(data), data.images.shape[-1]
    batches = in_order(n, batch_size)
    deletion, insertion, predicted = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    try:
        for batch, images in zip(batches, read_batches(data.images, batches)):
            stop_if_cancelled(cancelled, "measuring faithfulness")
            x = normalise(images).contiguous()
            logits, grid, _ = inference_cam(model, layer, x, method=method)
            target = logits.argmax(dim=1)
            cam = upsample_cam(grid.float(), (size, size))
            dele, ins = _no_grad_curves(model, x, cam, target, steps, device)
            start, stop = int(batch[0]), int(batch[-1]) + 1
            deletion[start:stop] = _auc(dele).cpu().numpy()
            insertion[start:stop] = _auc(ins).cpu().numpy()
            predicted[start:stop] = target.cpu().numpy()
            report(progress, "measuring faithfulness", stop, n)
    finally:
        model.train(was_training)
    return Faithfulness(deletion, insertion, predicted)


def split_faithfulness(project, version, split: str, device: torch.device, steps: int = STEPS,
                       progress: Progress = None, cancelled: CancelCheck = None,
                       warn=None) -> tuple[Faithfulness, list]:
    """A stored version's faithfulness on a split of the project: (figures, the samples measured)."""
    from .checkpoint import load_checkpoint
    from .data import load_split

    model, layer, spec = load_checkpoint(project.root / version.checkpoint, device)
    data = load_split(project, split, spec.image_size, progress, cancelled, warn)
    return measure_faithfulness(model, layer, data, device, steps, progress=progress, cancelled=cancelled), data.samples
