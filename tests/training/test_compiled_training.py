"""trainer.compiled_forward (`gradia train --compile`): a compiled run trains as an eager one does."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from gradia_desktop.errors import GradiaError
from gradia_desktop.training import trainer
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.gradcam import CamTap

FAST = dict(epochs=2, batch_size=4, image_size=32, device="cpu", seed=3)


def _weights(project, result):
    return load_file(str(project.root / project.version(result.version).checkpoint))


def test_a_compiled_gradia_run_learns_what_an_eager_run_learns(small_project, monkeypatch):
    monkeypatch.setattr(trainer, "COMPILE_BACKEND", "aot_eager")  # the same graphs, without a C++ compiler
    torch._dynamo.reset()
    config = dict(mode="gradia-all", counterfactual=True, outside_weight=1.0, **FAST)
    eager = trainer.train(small_project, TrainConfig(**config))
    compiled = trainer.train(small_project, TrainConfig(compile=True, **config))
    a, b = _weights(small_project, eager), _weights(small_project, compiled)
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-4)
    for x, y in zip(eager.epochs, compiled.epochs):
        assert y.attention > 0 and abs(x.attention - y.attention) < 1e-5 and abs(x.loss - y.loss) < 1e-5


def test_compile_refuses_differentiable_weights():
    with pytest.raises(GradiaError, match="second-order"):
        TrainConfig(compile=True, differentiable_weights=True).validate()


def test_a_removed_tap_leaves_the_layer_as_it_was():
    layer = torch.nn.Conv2d(1, 1, 1)
    tap = CamTap(layer)
    out = layer(torch.ones(1, 1, 2, 2))  # an unarmed tap keeps nothing
    assert tap.captured is None and out.shape == (1, 1, 2, 2)
    tap.remove()
    assert not layer._forward_hooks and not hasattr(layer, "_gradia_cam_tap")
