"""Weights averaged over a run's optimiser steps: what a guided run validates, keeps and proposes with.

A guided run unlearns a shortcut from a few masked images, and its reading of the background can
flip sign from one epoch to the next (test accuracy swinging by up to 0.3 on the efficacy suite's
cells). An exponential moving average of the weights over the last few epochs cancels the flips and
keeps what is learnt steadily. Training goes on from the live weights; only validation, checkpoints,
the epoch's heatmaps and mask proposals see the average (docs/algorithm.md, "Averaged weights").

BatchNorm's running statistics are averaged with the weights; integer buffers (the batch counter)
are copied.
"""

from __future__ import annotations

import torch
from torch import nn

WARM_UP = 10  # the decay starts near 0 and rises as (1 + t) / (WARM_UP + t): early steps are not frozen in


def step_decay(average_epochs: float, batches_per_epoch: int) -> float:
    """The per-step decay whose time constant is ``average_epochs`` epochs of ``batches_per_epoch`` steps."""
    return 1.0 - 1.0 / max(1.0, average_epochs * batches_per_epoch)


class WeightAverage:
    """An exponential moving average of ``model``'s state, updated after each optimiser step.

    ``swap_in`` puts the average into the model (keeping the live state aside), ``swap_out`` puts the
    live state back before training goes on; both copy into the model's own tensors, so optimisers,
    wrappers (DistributedDataParallel, torch.compile) and hooks keep pointing at the same parameters.
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must lie in [0, 1), got {decay}")
        self.model, self.decay, self.steps = model, decay, 0
        state = model.state_dict()  # its tensors share the parameters' and buffers' storage
        self.average = {k: v.detach().clone() for k, v in state.items()}
        floats = [k for k, v in state.items() if v.is_floating_point()]
        self._floats = ([self.average[k] for k in floats], [state[k] for k in floats])
        self._others = [(self.average[k], v) for k, v in state.items() if not v.is_floating_point()]
        self.live: dict[str, torch.Tensor] | None = None

    @torch.no_grad()
    def update(self) -> None:
        if self.live is not None:
            raise RuntimeError("the average is swapped in: swap_out() before training steps")
        self.steps += 1
        keep = min(self.decay, (1 + self.steps) / (WARM_UP + self.steps))
        if self._floats[0]:
            torch._foreach_lerp_(*self._floats, 1.0 - keep)  # one fused pass over all tensors
        for average, value in self._others:
            average.copy_(value)

    @torch.no_grad()
    def swap_in(self) -> None:
        if self.live is None:
            self.live = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.model.load_state_dict(self.average)

    @torch.no_grad()
    def swap_out(self) -> None:
        if self.live is not None:
            self.model.load_state_dict(self.live)
            self.live = None
