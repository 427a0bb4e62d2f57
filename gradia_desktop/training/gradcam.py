"""Batched Grad-CAM: one forward pass for the whole batch, in two flavours.

* ``training_cam`` stays in the autograd graph, so an attention loss on it trains the model. It
  uses the true class, no ReLU, and - as the authors' reference - channel weights that are
  constants (the loss gradient flows through the activations only); ``differentiable_weights``
  lets it flow through the weights too. The classification loss uses the same forward pass.
* ``inference_cam`` is for display and metrics: ReLU, min-max per sample, upsampled to image
  size and min-max normalised again, for the predicted class or any chosen class. It leaves no gradients on the parameters.

Neither switches the model between train and eval mode: that is the caller's choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cam_methods import DEFAULT_METHOD, check_method, combine
from .feature_layout import NCHW, layout_of, to_grid

EPS = 1e-7  # the same guard as pytorch-grad-cam's scale_cam_image


@dataclass
class CamForward:
    logits: torch.Tensor  # (B, classes)
    cam: torch.Tensor  # (B, h, w) float32 on the CAM grid


def _capture(captured: list[torch.Tensor], out: torch.Tensor, detach: bool) -> torch.Tensor:
    act = out.detach().requires_grad_(True) if detach else out
    captured.append(act)
    return act.clone()


class CamTap:
    """A forward hook that stays on the CAM layer for a whole run, so the model can be compiled.

    ``torch.compile`` would trace the model again for every hook added and removed per batch, and
    compiled as one graph the layer's activations would be an output with no path to the logits,
    so Grad-CAM's gradient could not be taken with respect to them. The tap's hook runs outside
    the compiler (a graph break), which splits the compiled model at the layer: the activations
    end one graph, their clone starts the next, and the gradient flows between them as in eager mode.
    """

    def __init__(self, layer: nn.Module):
        self.layer = layer
        self.captured: list[torch.Tensor] | None = None  # a list only during a pass that reads the layer
        self.detach = False
        self._handle = layer.register_forward_hook(torch.compiler.disable(self._hook))
        layer._gradia_cam_tap = self

    def _hook(self, _module: nn.Module, _inp: object, out: torch.Tensor) -> torch.Tensor:
        return out if self.captured is None else _capture(self.captured, out, self.detach)

    def remove(self) -> None:
        self._handle.remove()
        if getattr(self.layer, "_gradia_cam_tap", None) is self:
            del self.layer._gradia_cam_tap


def _forward_capturing(model: nn.Module, layer: nn.Module, x: torch.Tensor, detach: bool):
    """Run the model and return (logits, activations of ``layer``).

    The model continues on a clone of the activations, so a later in-place op (DenseNet's
    ``relu(inplace=True)``) cannot corrupt what Grad-CAM reads. With ``detach`` the part of the
    graph before the layer is dropped: inference needs gradients from the layer onwards only.
    A layer with a ``CamTap`` is read through it; otherwise a hook is added for this pass only.
    """
    tap: CamTap | None = getattr(layer, "_gradia_cam_tap", None)
    if tap is not None:
        captured = tap.captured = []
        tap.detach = detach
        try:
            logits = model(x)
        finally:
            tap.captured = None
    else:
        captured = []
        handle = layer.register_forward_hook(lambda _m, _i, out: _capture(captured, out, detach))
        try:
            logits = model(x)
        finally:
            handle.remove()
    if len(captured) != 1:
        raise RuntimeError(f"the CAM layer ran {len(captured)} times in one forward pass; choose another layer")
    return logits, captured[0]


def _cam_from(logits: torch.Tensor, acts: torch.Tensor, target: torch.Tensor, create_graph: bool,
              keep_graph: bool, method: str = DEFAULT_METHOD, layout: str = NCHW) -> torch.Tensor:
    score = logits.float().gather(1, target.view(-1, 1)).sum()
    return _weighted_acts(score, acts, create_graph, keep_graph, method, layout)


def _weighted_acts(score: torch.Tensor, acts: torch.Tensor, create_graph: bool, keep_graph: bool,
                   method: str = DEFAULT_METHOD, layout: str = NCHW) -> torch.Tensor:
    """The activations combined with the gradient of ``score`` by ``method`` (cam_methods.py), on
    the layer's grid (feature_layout.py); the gradient is a constant unless ``create_graph``."""
    (grads,) = torch.autograd.grad(score, acts, retain_graph=keep_graph, create_graph=create_graph)
    return combine(method, to_grid(acts, layout), to_grid(grads if create_graph else grads.detach(), layout))


def minmax(cam: torch.Tensor) -> torch.Tensor:
    """Per-sample min-max normalisation of a (B, h, w) map to [0, 1]."""
    flat = cam.flatten(1)
    lo = flat.min(dim=1).values.view(-1, 1, 1)
    shifted = cam - lo
    hi = shifted.flatten(1).max(dim=1).values.view(-1, 1, 1)
    return shifted / (hi + EPS)


def training_cam(model: nn.Module, layer: nn.Module, x: torch.Tensor, target: torch.Tensor,
                 differentiable_weights: bool = False, method: str = DEFAULT_METHOD) -> CamForward:
    """Logits and the true-class CAM (before normalisation), both inside the autograd graph."""
    logits, acts = _forward_capturing(model, layer, x, detach=False)
    cam = _cam_from(logits, acts, target, differentiable_weights, True, check_method(method, training=True),
                    layout_of(layer))
    return CamForward(logits, cam)


def training_cam_with_evidence(model: nn.Module, layer: nn.Module, x: torch.Tensor, target: torch.Tensor,
                               differentiable_weights: bool = False,
                               method: str = DEFAULT_METHOD) -> tuple[CamForward, torch.Tensor]:
    """``training_cam`` plus each cell's signed evidence for the true class against the others.

    The evidence map is Grad-CAM of the margin ``logit_y - mean_c logit_c`` without ReLU or
    normalisation; for a network ending in global average pooling and a linear layer its cells sum
    to the margin (less the bias) times the number of cells, so it says how much of the decision
    each place carries.
    """
    logits, acts = _forward_capturing(model, layer, x, detach=False)
    layout = layout_of(layer)
    cam = _cam_from(logits, acts, target, differentiable_weights, True, check_method(method, training=True), layout)
    margin = (logits.float().gather(1, target.view(-1, 1)).squeeze(1) - logits.float().mean(1)).sum()
    evidence = _weighted_acts(margin, acts, create_graph=False, keep_graph=True, layout=layout)
    evidence = evidence * evidence.shape[-1] * evidence.shape[-2]
    return CamForward(logits, cam), evidence


def inference_cam(model: nn.Module, layer: nn.Module, x: torch.Tensor,
                  target: torch.Tensor | int | None = None,
                  out_size: tuple[int, int] | None = None,
                  method: str = DEFAULT_METHOD) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(logits, CAM grid in [0, 1], CAM upsampled to ``out_size`` or None), all detached.

    ``target`` None explains the predicted class; an int or a (B,) tensor explains that class.
    """
    check_method(method)
    with torch.enable_grad():
        logits, acts = _forward_capturing(model, layer, x, detach=True)
        if target is None:
            target = logits.argmax(dim=1)
        elif isinstance(target, int):
            target = torch.full((x.shape[0],), target, dtype=torch.long, device=logits.device)
        cam = _cam_from(logits, acts, target.to(logits.device), create_graph=False, keep_graph=False, method=method,
                        layout=layout_of(layer))
    grid = minmax(F.relu(cam)).detach()
    return logits.detach(), grid, None if out_size is None else upsample_cam(grid, out_size)


def upsample_cam(grid: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) CAMs in [0, 1] at ``out_size``: bilinear (as cv2.INTER_LINEAR), then min-max again,
    as pytorch-grad-cam does."""
    return minmax(F.interpolate(grid[:, None], size=out_size, mode="bilinear", align_corners=False)[:, 0])
