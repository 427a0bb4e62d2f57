"""The GRADIA loss and its mask preprocessing (see docs/algorithm.md; the per-quadrant weight table is in config.py)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .gradcam import minmax

OUTSIDE_LEVEL = 0.05  # CAM-grid cells whose mask target lies below this count as outside the mask


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


def tolerance_band(mask: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(inner, outer): a mask eroded and dilated by ``radius`` px (a disc), for the boundary-tolerant loss.
    A mask too thin to survive the erosion keeps its own pixels as the inner part."""
    mask = np.asarray(mask, np.uint8)
    if radius < 1:
        return mask.astype(bool), mask.astype(bool)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    inner = cv2.erode(mask, disc).astype(bool)
    return (inner if inner.any() else mask.astype(bool)), cv2.dilate(mask, disc).astype(bool)


def avoid_grid(avoid: np.ndarray, grid_hw: tuple[int, int]) -> np.ndarray:
    """A "don't look here" layer on the CAM grid: the share of each cell that it covers."""
    h, w = grid_hw
    return cv2.resize(np.asarray(avoid, dtype=np.float32), (w, h), interpolation=cv2.INTER_AREA)


def known_cells(mask_grid: torch.Tensor, avoid: torch.Tensor | None) -> torch.Tensor | None:
    """Where a three-state mask says something: cells of "look here" or "don't look here"; None when no
    sample of the batch has a "don't look here" layer (then every cell counts, as in the paper).

    A two-state mask says "look here, and nowhere else", so all its cells count. A mask with a "don't
    look here" layer leaves the rest not marked, and cells not marked never contribute.
    """
    if avoid is None:
        return None
    three_state = (avoid > 0).flatten(1).any(dim=1).view(-1, 1, 1)
    marked = (mask_grid >= OUTSIDE_LEVEL) | (avoid > 0)
    return torch.where(three_state, marked, torch.ones_like(marked)).to(mask_grid.dtype)


def gradia_loss(logits: torch.Tensor, target: torch.Tensor, cam: torch.Tensor, mask_grid: torch.Tensor,
                w_pred: torch.Tensor, w_att: torch.Tensor, lam: float,
                known: torch.Tensor | None = None, inner: torch.Tensor | None = None) -> LossParts:
    """mean_i(w_pred * CE) + lam * mean_{i in A}(w_att * mean_px |minmax(cam_i) - m_i|).

    A: the samples with a positive attention weight (callers give 0 to samples without a mask).
    ``cam`` is the raw true-class training CAM; it is min-max normalised here. ``known`` (``known_cells``)
    restricts each sample's mean to the cells its mask marks.

    With ``inner`` the term is boundary-tolerant: ``mask_grid`` is then the target of the mask dilated
    and ``inner`` of the mask eroded, and only attention above the dilated target (outside the band)
    or below the eroded one (missing inside the object) counts. A hurried mask's rim, which lies
    between the two, costs nothing whichever way the heatmap treats it.
    """
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    ce_term = (w_pred * ce).mean()
    rows = chosen_rows(w_att > 0, cam.device)
    if len(rows) == 0:
        zero = ce_term.new_zeros(())
        return LossParts(ce_term, ce_term.detach(), zero, 0, zero)
    normalised = minmax(cam.index_select(0, rows))
    if inner is None:
        gap = (normalised - mask_grid.index_select(0, rows)).abs()
    else:
        gap = (normalised - mask_grid.index_select(0, rows)).clamp_min(0) + \
            (inner.index_select(0, rows) - normalised).clamp_min(0)
    if known is None:
        l1 = gap.mean(dim=(1, 2))
    else:
        weight = known.index_select(0, rows)
        l1 = (gap * weight).sum(dim=(1, 2)) / weight.sum(dim=(1, 2)).clamp_min(1)
    att_term = (w_att.to(cam.device).index_select(0, rows) * l1).mean()
    return LossParts(ce_term + lam * att_term, ce_term.detach(), att_term.detach(), len(rows), att_term)


def avoid_attention(cam: torch.Tensor, avoid: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Mean over the ``chosen`` samples of their min-max normalised true-class CAM inside their "don't
    look here" cells (each cell weighted by how much of it the layer covers): 0 when the model's
    attention stays off what the expert ruled out, 1 when its peak fills it.

    (The share of the positive CAM energy there, which unlike this still has a gradient where the
    ruled-out region holds the peak, was tried too and did worse: docs/algorithm.md.)
    """
    rows = chosen_rows(chosen, cam.device)
    if len(rows) == 0:
        return cam.new_zeros(())
    weight = avoid.index_select(0, rows)
    inside = (minmax(cam.index_select(0, rows)) * weight).sum(dim=(1, 2)) / weight.sum(dim=(1, 2)).clamp_min(1e-6)
    return inside.mean()


def outside_evidence(evidence: torch.Tensor, mask_grid: torch.Tensor, chosen: torch.Tensor,
                     known: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the ``chosen`` samples of the decision evidence that lies outside the mask.

    ``evidence`` (B, h, w) is each cell's signed contribution to the true-class margin
    (``gradcam.training_cam_with_evidence``). Its absolute value is summed over the cells outside
    the mask and divided by the number of cells: in logit units, how much of the decision the
    background carries, for or against the class. GRADIA's L1 compares min-max normalised maps, so
    a model can reshape its heatmap and keep deciding by the background; this term cannot be met
    that way. With counterfactual backgrounds it drives the class weights off background features,
    and those features are the same on the unmasked images. With ``known`` (``known_cells``) only
    marked cells count as outside: on a three-state mask, its "don't look here" cells.
    """
    rows = chosen_rows(chosen, evidence.device)
    if len(rows) == 0:
        return evidence.new_zeros(())
    outside = (mask_grid.index_select(0, rows) < OUTSIDE_LEVEL).float()
    if known is not None:
        outside = outside * known.index_select(0, rows)
    cells = outside.shape[-1] * outside.shape[-2]
    return ((evidence.index_select(0, rows).abs() * outside).sum(dim=(1, 2)) / cells).mean()


def chosen_rows(chosen: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The positions of the True entries of ``chosen``, as an index on ``device``.

    Which samples carry attention weight is known before the step: given on the CPU, the choice costs
    the GPU no wait (a boolean index on the GPU makes the host wait for the device to say how many
    rows it selects). A ``chosen`` on the GPU waits once, as before.
    """
    return torch.nonzero(chosen.cpu()).flatten().to(device, non_blocking=True)
