"""training/cam_methods.py: each CAM method against pytorch-grad-cam, and the trainable ones' gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradia_desktop.training.cam_methods import CAM_METHODS, TRAINABLE, check_method
from gradia_desktop.training.gradcam import inference_cam, minmax, training_cam
from gradia_desktop.training.models import build_model, find_cam_layer, get_layer


def _reference(method: str):
    import pytorch_grad_cam as pgc

    return {"gradcam": pgc.GradCAM, "hirescam": pgc.HiResCAM, "xgradcam": pgc.XGradCAM,
            "layercam": pgc.LayerCAM, "gradcam++": pgc.GradCAMPlusPlus}[method]


def _model(arch: str, size: int, layer: str | None = None, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(arch, 3).eval()
    return model, get_layer(model, layer or find_cam_layer(model, size))


@pytest.mark.parametrize("method", CAM_METHODS)
@pytest.mark.parametrize("arch,size,layer", [("tiny", 64, None), ("resnet18", 96, None), ("resnet18", 96, "layer3")])
def test_each_method_equals_pytorch_grad_cam(method, arch, size, layer):
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model, cam_layer = _model(arch, size, layer)
    x = torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(1))
    logits, _, up = inference_cam(model, cam_layer, x, None, (size, size), method=method)
    targets = [ClassifierOutputTarget(int(c)) for c in logits.argmax(1)]
    with _reference(method)(model=model, target_layers=[cam_layer]) as reference:
        expected = reference(input_tensor=x, targets=targets)
    np.testing.assert_allclose(up.numpy(), expected, atol=1e-4)


def test_the_methods_give_different_maps():
    model, layer = _model("resnet18", 96, "layer3")
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(4))
    grids = {m: inference_cam(model, layer, x, method=m)[1] for m in CAM_METHODS}
    for a in CAM_METHODS:
        for b in CAM_METHODS:
            if a < b:
                assert not torch.allclose(grids[a], grids[b], atol=1e-3), (a, b)


@pytest.mark.parametrize("method", TRAINABLE)
def test_a_trainable_methods_attention_loss_reaches_the_model_and_falls_in_a_short_run(method):
    """The loss's gradient reaches the parameters (finite, not zero), and a few steps on it lower it."""
    torch.manual_seed(0)
    model = build_model("tiny", 2)
    layer = get_layer(model, find_cam_layer(model, 32))
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    y = torch.tensor([0, 1] * 4)
    target = torch.zeros(8, *training_cam(model, layer, x, y, method=method).cam.shape[1:])
    target[:, :2, :2] = 1.0  # look at the top-left corner

    def attention_loss():
        cam = training_cam(model, layer, x, y, method=method).cam
        return (minmax(cam) - target).abs().mean()

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = attention_loss()
    first.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    for _ in range(25):
        optimizer.zero_grad()
        loss = attention_loss()
        loss.backward()
        optimizer.step()
    assert float(attention_loss().detach()) < 0.8 * float(first.detach())


def test_gradcam_plus_plus_is_for_display_only():
    model, layer = _model("tiny", 32)
    with pytest.raises(ValueError, match="cannot drive the attention loss"):
        training_cam(model, layer, torch.rand(1, 3, 32, 32), torch.tensor([0]), method="gradcam++")
    with pytest.raises(ValueError, match="choose gradcam, hirescam"):
        check_method("scorecam")


@pytest.mark.parametrize("method", TRAINABLE)
def test_a_short_gradia_run_with_each_trainable_method_lowers_its_attention_loss(small_project, method,
                                                                                 monkeypatch):
    from gradia_desktop.training import epoch_loop
    from gradia_desktop.training.config import TrainConfig
    from gradia_desktop.training.trainer import train

    used = set()

    def recording(*args):
        used.add(args[-1])
        return training_cam(*args)

    monkeypatch.setattr(epoch_loop, "training_cam", recording)

    config = TrainConfig(mode="gradia-all", cam_method=method, epochs=4, batch_size=8, image_size=32, device="cpu",
                         lam=3.0, lr=3e-3)
    result = train(small_project, config)
    attention = [e.attention for e in result.epochs]
    assert all(np.isfinite(attention)) and attention[-1] < attention[0], attention
    assert small_project.version(result.version).config["cam_method"] == method and used == {method}
