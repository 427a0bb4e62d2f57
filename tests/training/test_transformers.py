"""torchvision's ViT and Swin: the CAM layer, its grid, and Grad-CAM against pytorch-grad-cam's reshape_transform."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradia_desktop.training.gradcam import inference_cam, training_cam
from gradia_desktop.training.models import build_model, cam_layer_choices, find_cam_layer, get_layer

SIZE = 64


def _vit_reshape(tensor, side=SIZE // 16):  # pytorch-grad-cam's documented ViT transform
    result = tensor[:, 1:, :].reshape(tensor.size(0), side, side, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def _swin_reshape(tensor):  # torchvision's Swin stages are (B, h, w, C)
    return tensor.permute(0, 3, 1, 2)


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {"vit_b_16": build_model("vit_b_16", 3, SIZE).eval(), "swin_t": build_model("swin_t", 3, SIZE).eval()}


@pytest.mark.parametrize("arch,layer,grid,reshape", [
    ("vit_b_16", "encoder.layers.encoder_layer_11.ln_1", (4, 4), _vit_reshape),
    ("swin_t", "features.7", (2, 2), _swin_reshape),
])
def test_transformer_grad_cam_equals_pytorch_grad_cam_with_its_reshape_transform(models, arch, layer, grid, reshape):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model = models[arch]
    assert find_cam_layer(model, SIZE) == layer
    cam_layer = get_layer(model, layer)
    x = torch.randn(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    logits, ours_grid, up = inference_cam(model, cam_layer, x, None, (SIZE, SIZE))
    assert tuple(ours_grid.shape[1:]) == grid
    with GradCAM(model=model, target_layers=[cam_layer], reshape_transform=reshape) as reference:
        expected = reference(input_tensor=x, targets=[ClassifierOutputTarget(int(c)) for c in logits.argmax(1)])
    np.testing.assert_allclose(up.numpy(), expected, atol=1e-4)
    offered = {c.name: c.grid for c in cam_layer_choices(model, SIZE)}
    assert offered[layer] == grid


def test_a_vit_needs_an_image_size_its_patches_divide():
    from gradia_desktop.errors import GradiaError

    with pytest.raises(GradiaError, match="multiple of its 16 px patches"):
        build_model("vit_b_16", 2, 70)


@pytest.mark.parametrize("arch", ["vit_b_16", "swin_t"])
def test_the_training_cam_of_a_transformer_trains_it(models, arch):
    model = models[arch]
    layer = get_layer(model, find_cam_layer(model, SIZE))
    x = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    fwd = training_cam(model, layer, x, torch.tensor([0, 2]))
    fwd.cam.abs().mean().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("arch,size,grid,cli_eval", [("vit_b_16", 32, (2, 2), False), ("swin_t", 64, (2, 2), True)])
def test_a_transformer_trains_evaluates_and_explains_end_to_end(small_project, tmp_path, arch, size, grid, cli_eval,
                                                                 capsys):
    """Two epochs on the CPU, every split evaluated at the end of the run, then `gradia explain` (and,
    for one of them, `gradia eval --recompute`: the same evaluation from the command line). The ViT
    runs at 32 px, the smallest its 16 px patches allow a 2x2 grid at: most of its time goes into its
    340 MB checkpoints either way."""
    import json

    from gradia_desktop.cli import main
    from gradia_desktop.training.config import TrainConfig
    from gradia_desktop.training.trainer import train

    result = train(small_project, TrainConfig(mode="gradia-all", arch=arch, image_size=size, epochs=2, batch_size=32,
                                              device="cpu"))
    version = small_project.version(result.version)
    assert version.cam_layer == find_cam_layer(build_model(arch, 2, size), size)
    assert all(np.isfinite(e.attention) and e.attention > 0 for e in result.epochs)
    assert {"train", "val", "test"} <= set(result.summaries) and result.summaries["val"]["iou"] is not None
    root = small_project.root
    small_project.close()
    if cli_eval:
        assert main(["eval", str(root), "--split", "test", "--recompute", "--json", "--quiet"]) == 0
        assert json.loads(capsys.readouterr().out)["n"] == 8
    assert main(["explain", str(root), "--out", str(tmp_path / "heat"), "--cams", "npz", "--quiet"]) == 0
    manifest = json.loads((tmp_path / "heat" / "explain.json").read_text())
    cam = np.load(tmp_path / "heat" / manifest["images"][0]["cam"])
    assert cam["cam"].shape == (64, 64) and cam["grid"].shape == grid
