"""How a layer's output lies, so a CAM can read any layer as a (B, C, h, w) feature map.

Convolutional networks give (B, C, h, w). Transformers do not:

* a Vision Transformer's encoder gives tokens (B, 1 + h*w, C): a class token, then one token per
  image patch in row order. The class token is dropped and the patches laid back on their grid,
  as pytorch-grad-cam's ViT ``reshape_transform`` does;
* a Swin Transformer's stages give (B, h, w, C), channels last.

``build_model`` marks the modules whose output is not (B, C, h, w) (``mark``); ``to_grid`` turns
such an output, or the gradient with respect to it, into (B, C, h, w). It only reshapes and
permutes, so a gradient taken with respect to the raw output and then turned equals the gradient
with respect to the turned map.
"""

from __future__ import annotations

import math

import torch
from torch import nn

NCHW, NHWC, TOKENS = "nchw", "nhwc", "tokens"
_ATTRIBUTE = "_gradia_layout"


def mark(model: nn.Module) -> nn.Module:
    """Mark the layers of torchvision's transformers with their layout; other models are left as they are."""
    import torchvision

    if isinstance(model, torchvision.models.VisionTransformer):
        for module in model.encoder.modules():
            setattr(module, _ATTRIBUTE, TOKENS)
    elif isinstance(model, torchvision.models.SwinTransformer):
        for module in model.features.modules():
            if not isinstance(module, nn.Conv2d):  # the patch embedding's convolution is still (B, C, h, w)
                setattr(module, _ATTRIBUTE, NHWC)
    return model


def layout_of(layer: nn.Module) -> str:
    return getattr(layer, _ATTRIBUTE, NCHW)


def to_grid(t: torch.Tensor, layout: str) -> torch.Tensor:
    """``t`` (a layer's output in ``layout``, or a gradient with respect to it) as (B, C, h, w)."""
    if layout == NCHW:
        return t
    if layout == NHWC:
        return t.permute(0, 3, 1, 2)
    batch, tokens, channels = t.shape
    side = math.isqrt(tokens - 1)
    if side * side == tokens - 1:  # a class token first
        t = t[:, 1:, :]
    else:
        side = math.isqrt(tokens)
        if side * side != tokens:
            raise ValueError(f"{tokens} tokens do not form a square grid of patches")
    return t.reshape(batch, side, side, channels).permute(0, 3, 1, 2)


def transformer_cam_layer(model: nn.Module) -> str | None:
    """The CAM layer of a torchvision transformer (None for other models): for a ViT the last encoder
    block's first norm - after that block's attention only the class token reaches the head, so the
    patch tokens of any later layer get no gradient; for a Swin the last stage."""
    import torchvision

    if isinstance(model, torchvision.models.VisionTransformer):
        last = list(dict(model.encoder.layers.named_children()))[-1]
        return f"encoder.layers.{last}.ln_1"
    if isinstance(model, torchvision.models.SwinTransformer):
        return f"features.{len(model.features) - 1}"
    return None
