"""The GRADIA loss and its mask preprocessing (see docs/algorithm.md; the per-quadrant weight table is in config.py)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .gradcam import minmax


def mask_to_grid(mask: np.ndarray, grid_hw: tuple[int, int]) -> np.ndarray:
    """A binary image-size mask as GRADIA's target: INTER_AREA to the CAM grid, 3x3 Gaussian, / max."""
    h, w = grid_hw
    small = cv2.resize(np.asarray(mask, dtype=np.float32), (w, h), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (3, 3), 0)
    peak = float(small.max())
    return small / peak if peak > 0 else small


@dataclass
class LossParts:
    total: torch.Tensor
    ce: torch.Tensor
    attention: torch.Tensor  # detached; 0 when no sample in the batch carries attention weight
    n_attention: int
    attention_raw: torch.Tensor | float = 0.0  # the same term, still in the graph


def gradia_loss(logits: torch.Tensor, target: torch.Tensor, cam: torch.Tensor, mask_grid: torch.Tensor,
                w_pred: torch.Tensor, w_att: torch.Tensor, lam: float) -> LossParts:
    """mean_i(w_pred * CE) + lam * mean_{i in A}(w_att * mean_px |minmax(cam_i) - m_i|).

    A: the samples with a positive attention weight (callers give 0 to samples without a mask).
    ``cam`` is the raw true-class training CAM; it is min-max normalised here.
    """
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    ce_term = (w_pred * ce).mean()
    rows = chosen_rows(w_att > 0, cam.device)
    if len(rows) == 0:
        zero = ce_term.new_zeros(())
        return LossParts(ce_term, ce_term.detach(), zero, 0, zero)
    l1 = (minmax(cam.index_select(0, rows)) - mask_grid.index_select(0, rows)).abs().mean(dim=(1, 2))
    att_term = (w_att.to(cam.device).index_select(0, rows) * l1).mean()
    return LossParts(ce_term + lam * att_term, ce_term.detach(), att_term.detach(), len(rows), att_term)


OUTSIDE_LEVEL = 0.05  # CAM-grid cells whose mask target lies below this count as outside the mask


def outside_evidence(evidence: torch.Tensor, mask_grid: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Mean over the ``chosen`` samples of the decision evidence that lies outside the mask.

    ``evidence`` (B, h, w) is each cell's signed contribution to the true-class margin
    (``gradcam.training_cam_with_evidence``). Its absolute value is summed over the cells outside
    the mask and divided by the number of cells: in logit units, how much of the decision the
    background carries, for or against the class. GRADIA's L1 compares min-max normalised maps, so
    a model can reshape its heatmap and keep deciding by the background; this term cannot be met
    that way. With counterfactual backgrounds it drives the class weights off background features,
    and those features are the same on the unmasked images.
    """
    rows = chosen_rows(chosen, evidence.device)
    if len(rows) == 0:
        return evidence.new_zeros(())
    outside = (mask_grid.index_select(0, rows) < OUTSIDE_LEVEL).float()
    cells = outside.shape[-1] * outside.shape[-2]
    return ((evidence.index_select(0, rows).abs() * outside).sum(dim=(1, 2)) / cells).mean()


def chosen_rows(chosen: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The positions of the True entries of ``chosen``, as an index on ``device``.

    Which samples carry attention weight is known before the step: given on the CPU, the choice costs
    the GPU no wait (a boolean index on the GPU makes the host wait for the device to say how many
    rows it selects). A ``chosen`` on the GPU waits once, as before.
    """
    return torch.nonzero(chosen.cpu()).flatten().to(device, non_blocking=True)
