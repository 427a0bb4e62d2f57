"""Masks for the unmasked training images, proposed by the model being trained.

An expert masks a few images; the rest keep their shortcut, and every epoch spent on them teaches it
again. Part-way through a guided run, when the model has learned from the counterfactuals where the
objects are, its Grad-CAM for the true class on each unmasked training image is thresholded into a
loose mask. Those images then join the counterfactual bank (their object kept, their background
swapped), so the background stops predicting the class on nearly all of the training set, not only on
the few images an expert painted. A proposal is only taken where the model already predicts the image's
class and its CAM region is compact; it never becomes an attention target.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core.progress import CancelCheck, stop_if_cancelled
from .data import Normalizer, SplitData
from .device import autocast
from .gradcam import inference_cam

CAM_THRESHOLD = 0.3  # of the min-max normalised CAM: loose on purpose, the bank tightens it by GrabCut
MAX_AREA_SHARE = 0.5  # a proposal covering more of the image than this says "everywhere", not "here"
MIN_AREA_SHARE = 0.01


def propose_masks(model: nn.Module, layer: nn.Module, data: SplitData, candidates: torch.Tensor,
                  device: torch.device, batch_size: int = 64, cancelled: CancelCheck = None) -> dict[int, np.ndarray]:
    """{training index: bool mask at the image size} for the candidates whose proposal is taken."""
    was_training = model.training
    model.eval()
    normalise = Normalizer(device)
    size = data.images.shape[-1]
    out: dict[int, np.ndarray] = {}
    try:
        for start in range(0, len(candidates), batch_size):
            stop_if_cancelled(cancelled, "proposing masks")
            idx = candidates[start:start + batch_size]
            labels = data.labels[idx].to(device)
            with autocast(device):
                logits, _, up = inference_cam(model, layer, normalise(data.images[idx]), labels, (size, size))
            right = (logits.argmax(1) == labels).cpu().numpy()
            regions = (up.float() >= CAM_THRESHOLD).cpu().numpy()
            for i, ok, region in zip(idx.tolist(), right, regions):
                share = region.mean()
                if ok and MIN_AREA_SHARE <= share <= MAX_AREA_SHARE:
                    out[i] = region
    finally:
        model.train(was_training)
    return out
