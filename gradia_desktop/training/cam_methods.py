"""Gradient-based CAM methods: how a layer's activations and the class score's gradient make a map.

Each takes the activations ``A`` (B, C, h, w) and the gradient ``G`` of the explained class's score
with respect to them, and returns the map before ReLU (B, h, w), as pytorch-grad-cam computes it:

* ``gradcam`` (Selvaraju et al. 2017): channel weights are the mean gradient, ``sum_c mean(G) A``;
* ``hirescam`` (Draelos and Carin 2020): no averaging, ``sum_c G * A``: each cell's own gradient,
  so the map is exactly what the score adds up from the layer for a network ending in a linear map;
* ``xgradcam`` (Fu et al. 2020): weights ``sum(G * A) / sum(A)`` per channel;
* ``layercam`` (Jiang et al. 2021): ``sum_c relu(G) * A``, sharper maps from earlier layers;
* ``gradcam++`` (Chattopadhay et al. 2018): weights from the gradient's second and third powers
  (as pytorch-grad-cam approximates them, from first-order gradients).

All are functions of one forward and one gradient pass. For training (``TRAINABLE``), the gradient
terms are constants unless the caller keeps them in the graph (``differentiable_weights``), as the
GRADIA authors treat Grad-CAM's weights; Grad-CAM++ is offered for display and metrics only, its
weights dividing by sums that can vanish.
"""

from __future__ import annotations

import torch

from ..core.cam_method_names import CAM_METHODS, DEFAULT_METHOD, TRAINABLE

__all__ = ["CAM_METHODS", "DEFAULT_METHOD", "TRAINABLE", "check_method", "combine"]
XGRAD_EPS = 1e-7  # pytorch-grad-cam's guards, so maps match it
PLUSPLUS_EPS = 1e-6


def check_method(method: str, training: bool = False) -> str:
    """``method`` if known (and trainable when ``training``); else a ValueError saying which are."""
    allowed = TRAINABLE if training else CAM_METHODS
    if method not in allowed:
        use = "drive the attention loss" if training else "be shown"
        raise ValueError(f"CAM method '{method}' cannot {use}: choose {', '.join(allowed)}")
    return method


def combine(method: str, acts: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """The (B, h, w) map of ``method`` from activations and gradients (float32), before ReLU."""
    check_method(method)
    a, g = acts.float(), grads.float()
    if method == "gradcam":
        return (g.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1)
    if method == "hirescam":
        return (g * a).sum(dim=1)
    if method == "xgradcam":
        weights = (g * a / (a.sum(dim=(2, 3), keepdim=True) + XGRAD_EPS)).sum(dim=(2, 3), keepdim=True)
        return (weights * a).sum(dim=1)
    if method == "layercam":
        return (g.clamp(min=0) * a).sum(dim=1)
    if method == "gradcam++":
        g2 = g * g
        aij = g2 / (2 * g2 + a.sum(dim=(2, 3), keepdim=True) * g2 * g + PLUSPLUS_EPS)
        aij = torch.where(g != 0, aij, torch.zeros_like(aij))
        weights = (g.clamp(min=0) * aij).sum(dim=(2, 3), keepdim=True)
        return (weights * a).sum(dim=1)
    raise AssertionError(method)  # check_method knows every method handled above
