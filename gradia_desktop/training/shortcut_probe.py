"""How much a model leans on what lies outside the expert's masks, without a shortcut-free test set.

From a split's masked images, counterfactual copies are made the way training makes them
(``counterfactual.CounterfactualBank``: the object kept, everything outside it replaced by another
masked image's background, preferably of another class). A model that reads the object classifies
the copies as well as the originals; a model that reads the background does not. The drop,
accuracy on the originals minus accuracy on the copies, is the shortcut-reliance score.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..core.progress import CancelCheck, Progress, stop_if_cancelled
from .counterfactual import CounterfactualBank
from .data import Normalizer, SplitData
from .device import autocast

COPIES = 3  # counterfactual copies per masked image, each with another donor background
MIN_MASKED = 2  # a background can only be swapped with another masked image's
MAX_MASKED = 512  # a larger split is probed on this many of its masked images (seeded), so memory stays bounded


@dataclass(frozen=True)
class ProbeSet:
    """A split's masked images and their counterfactual copies, made once and reused every epoch."""

    index: torch.Tensor  # (M,) positions of the masked images in their split
    originals: torch.Tensor  # (M, 3, S, S) uint8
    labels: torch.Tensor  # (M,)
    counterfactuals: torch.Tensor  # (M * copies, 3, S, S) uint8, copy c of image i at c * M + i
    copies: int

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Reliance:
    """Accuracy on the masked images and on their counterfactual copies; ``score`` is the drop."""

    n: int
    original_accuracy: float
    counterfactual_accuracy: float

    @property
    def score(self) -> float:
        return self.original_accuracy - self.counterfactual_accuracy

    def summary(self) -> dict[str, float | int]:
        """The keys a split's summary carries (stored with the version, printed by ``gradia eval``)."""
        return {"n_counterfactual": self.n, "masked_accuracy": self.original_accuracy,
                "counterfactual_accuracy": self.counterfactual_accuracy, "shortcut_reliance": self.score}


def build_probe(data: SplitData, progress: Progress = None, cancelled: CancelCheck = None,
                copies: int = COPIES, seed: int = 0) -> ProbeSet | None:
    """The probe for ``data``, or None with fewer than two masked images (at most ``MAX_MASKED`` of them
    are used). Seeded: the same split always gives the same copies, so epochs and versions are
    compared on one set."""
    if int(data.has_mask.sum()) < MIN_MASKED:
        return None
    has_mask = data.has_mask
    if int(has_mask.sum()) > MAX_MASKED:
        masked = torch.nonzero(has_mask).flatten()
        chosen = masked[torch.randperm(len(masked), generator=torch.Generator().manual_seed(seed))[:MAX_MASKED]]
        has_mask = torch.zeros_like(has_mask)
        has_mask[chosen] = True
    bank = CounterfactualBank(data.images, data.labels, data.masks, has_mask, progress, cancelled)
    originals = data.images[bank.index]
    generator = torch.Generator().manual_seed(seed)
    made = []
    for _ in range(copies):
        stop_if_cancelled(cancelled, "preparing the shortcut probe")
        made.append(bank.apply(bank.index, originals, generator, donors="other-class"))
    return ProbeSet(bank.index, originals, data.labels[bank.index], torch.cat(made), copies)


@torch.no_grad()
def _predict(model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int,
             cancelled: CancelCheck) -> torch.Tensor:
    normalise = Normalizer(device)
    out = []
    for start in range(0, len(images), batch_size):
        stop_if_cancelled(cancelled, "measuring shortcut reliance")
        with autocast(device):
            out.append(model(normalise(images[start:start + batch_size])).argmax(1).cpu())
    return torch.cat(out)


def measure_reliance(model: nn.Module, probe: ProbeSet, device: torch.device, batch_size: int = 128,
                     cancelled: CancelCheck = None, split_predictions=None) -> Reliance:
    """Accuracy on the probe's originals and copies, in eval mode (the model's mode is restored).

    ``split_predictions``: the model's predicted classes for the whole split, when a pass over it
    was just made; the originals are then read from it instead of being predicted again."""
    was_training = model.training
    model.eval()
    try:
        if split_predictions is not None:
            original = torch.as_tensor(split_predictions)[probe.index]
        else:
            original = _predict(model, probe.originals, device, batch_size, cancelled)
        counterfactual = _predict(model, probe.counterfactuals, device, batch_size, cancelled)
    finally:
        model.train(was_training)
    return Reliance(len(probe), float((original == probe.labels).float().mean()),
                    float((counterfactual == probe.labels.repeat(probe.copies)).float().mean()))
