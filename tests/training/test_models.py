"""Models by name, the automatic Grad-CAM layer, dotted paths, and weights from local files only."""

from __future__ import annotations

import pickle
import re

import pytest
import torch

from gradia_desktop.errors import GradiaError
from gradia_desktop.training import models
from gradia_desktop.training.models import (build_model, cam_layer_choices, find_cam_layer, get_layer, imagenet_weights_path,
                                            load_weights, read_state_dict)


@pytest.mark.parametrize("arch,size,layer", [
    ("tiny", 64, "layer4"), ("resnet18", 224, "layer4.1"), ("resnet50", 224, "layer4.2"),
    ("mobilenet_v3_small", 224, "features.12"), ("efficientnet_b0", 224, "features.8"),
    ("convnext_tiny", 224, "features.7.2"),
])
def test_last_convolutional_block_is_found(arch, size, layer):
    model = build_model(arch, 2)
    assert find_cam_layer(model, size) == layer
    assert model(torch.zeros(1, 3, size, size)).shape == (1, 2)


def test_tiny_cam_grid_is_at_least_8x8_at_64px():
    model = build_model("tiny", 3)
    shapes = []
    get_layer(model, find_cam_layer(model, 64)).register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    model(torch.zeros(2, 3, 64, 64))
    assert shapes[0][-2:] == (8, 8)


@pytest.mark.parametrize("arch, size", [("tiny", 64), ("resnet18", 96)])
def test_every_layer_offered_gives_a_cam_of_the_grid_it_states(arch, size):
    from gradia_desktop.training.gradcam import inference_cam

    model = build_model(arch, 3).eval()
    offered = cam_layer_choices(model, size)
    every = cam_layer_choices(model, size, every=True)
    assert {c.name for c in offered} < {c.name for c in every}
    assert find_cam_layer(model, size) in {c.name for c in offered}
    x = torch.randn(2, 3, size, size)
    for choice in offered:
        _, grid, _ = inference_cam(model, get_layer(model, choice.name), x)
        assert tuple(grid.shape[1:]) == choice.grid and choice.grid[0] * choice.grid[1] > 1, choice.name
    if arch == "resnet18":
        assert [c.name for c in offered if c.block and "." not in c.name] == ["layer1", "layer2", "layer3", "layer4"]
        assert {c.name: c.grid for c in offered}["layer4.1"] == (3, 3)
        assert "layer1.0.conv1" not in {c.name for c in offered} and "layer1.0.conv1" in {c.name for c in every}


def test_layer_paths_accept_dots_brackets_and_negative_indices():
    model = build_model("resnet18", 2)
    assert get_layer(model, "layer4.1") is model.layer4[1]
    assert get_layer(model, "layer4[-1]") is model.layer4[1]
    assert get_layer(model, "layer4.-1.conv2") is model.layer4[1].conv2


@pytest.mark.parametrize("path,fragment", [("layer9", "layer9"), ("layer4.7", "no item 7"), ("", "empty")])
def test_bad_layer_paths_are_one_line_errors(path, fragment):
    with pytest.raises(GradiaError) as err:
        get_layer(build_model("resnet18", 2), path)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(GradiaError, match="unknown architecture 'resnet19'"):
        build_model("resnet19", 2)


def test_weights_round_trip_through_pt_and_safetensors(tmp_path):
    from safetensors.torch import save_file

    source = build_model("tiny", 2)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(tmp_path / "w.safetensors"))
    for name in ("w.pt", "w.safetensors"):
        target = build_model("tiny", 2)
        assert load_weights(target, tmp_path / name) == []
        for k, v in source.state_dict().items():
            torch.testing.assert_close(target.state_dict()[k], v)


def test_a_new_head_is_left_initial_when_class_counts_differ(tmp_path):
    torch.save(build_model("tiny", 5).state_dict(), tmp_path / "five.pth")
    assert load_weights(build_model("tiny", 2), tmp_path / "five.pth") == ["fc.bias", "fc.weight"]


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"weight": _Payload()}, fh)
    with pytest.raises(GradiaError, match="cannot load weights"):
        read_state_dict(path)


def test_missing_and_mismatched_weight_files(tmp_path):
    with pytest.raises(GradiaError, match="weights file not found"):
        read_state_dict(tmp_path / "nope.pt")
    torch.save(build_model("resnet18", 2).state_dict(), tmp_path / "resnet.pt")
    with pytest.raises(GradiaError, match="do not fit"):
        load_weights(build_model("tiny", 2), tmp_path / "resnet.pt")


def test_imagenet_weights_come_only_from_the_local_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(GradiaError, match="not in torchvision's local cache") as err:
        imagenet_weights_path("resnet18")
    flag = re.search(r"pass (--[\w-]+) FILE", str(err.value)).group(1)
    from gradia_desktop.cli import build_parser

    args = build_parser().parse_args(["train", "project", flag, "w.pt"])  # the flag the message names exists
    assert args.init_weights == "w.pt"
    import torchvision

    url = torchvision.models.get_model_weights("resnet18").DEFAULT.url
    cached = tmp_path / "checkpoints" / url.rsplit("/", 1)[-1]
    cached.parent.mkdir()
    torch.save(build_model("resnet18", 1000).state_dict(), cached)
    assert imagenet_weights_path("resnet18") == cached
    assert load_weights(build_model("resnet18", 2), cached) == ["fc.bias", "fc.weight"]
    with pytest.raises(GradiaError, match="no ImageNet weights"):
        imagenet_weights_path("tiny")


def test_available_architectures_lists_tiny_and_torchvision():
    names = models.available_architectures()
    assert names[0] == "tiny" and "resnet50" in names and "convnext_tiny" in names


# ---- only the classifier head may differ -----------------------------------------------------------

def tiny_state(**changes) -> dict[str, torch.Tensor]:
    """A tiny 2-class model's state dict, with keys replaced (a tensor) or dropped (None)."""
    state = build_model("tiny", 2).state_dict()
    for key, value in changes.items():
        key = key.replace("__", ".")
        if value is None:
            del state[key]
        else:
            state[key] = value
    return state


@pytest.mark.parametrize("changes, message", [
    ({"layer2__0__weight": torch.zeros(64, 16, 3, 3)},
     r"1 of another shape \(e\.g\. layer2\.0\.weight 64x16x3x3 in the file, 64x32x3x3 in the model\)"),
    ({"layer3__1__running_mean": None, "layer3__1__weight": None}, r"2 missing \(e\.g\. layer3\.1\.weight, "
                                                                   r"layer3\.1\.running_mean\)"),
    ({"extra__weight": torch.zeros(3)}, r"1 unexpected \(e\.g\. extra\.weight\)"),
])
def test_a_mismatched_layer_other_than_the_head_is_an_error_naming_the_file_and_keys(tmp_path, changes, message):
    torch.save(tiny_state(**changes), tmp_path / "w.pt")
    model = build_model("tiny", 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(GradiaError, match=rf"w\.pt: weights do not fit this TinyCNN: {message}; only the classifier "
                                          r"head \(fc\.bias, fc\.weight\) may differ") as info:
        load_weights(model, tmp_path / "w.pt")
    assert "\n" not in str(info.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing half-loaded


def test_a_file_without_a_head_or_step_counters_loads_the_rest(tmp_path):
    counters = {k.replace(".", "__"): None for k in build_model("tiny", 2).state_dict() if "num_batches" in k}
    saved = tiny_state(fc__weight=None, fc__bias=None, **counters)
    torch.save(saved, tmp_path / "backbone.pt")
    model = build_model("tiny", 2)
    assert load_weights(model, tmp_path / "backbone.pt") == ["fc.bias", "fc.weight"]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in saved.items())


def test_without_a_new_head_even_the_head_must_match(tmp_path):
    torch.save(build_model("tiny", 5).state_dict(), tmp_path / "five.pt")
    with pytest.raises(GradiaError, match=r"2 of another shape .*; no key may differ"):
        load_weights(build_model("tiny", 2), tmp_path / "five.pt", allow_new_head=False)


@pytest.mark.parametrize("arch, head", [("resnet18", ["fc.bias", "fc.weight"]),
                                        ("mobilenet_v3_small", ["classifier.3.bias", "classifier.3.weight"]),
                                        ("squeezenet1_0", ["classifier.1.bias", "classifier.1.weight"])])
def test_the_head_is_the_last_layer_with_weights(arch, head):
    assert models.head_keys(build_model(arch, 3)) == head


def test_train_with_a_mismatched_weights_file_stops_before_making_a_version(small_project, tmp_path, capsys):
    from gradia_desktop.cli import main

    torch.save(tiny_state(layer2__0__weight=torch.zeros(64, 16, 3, 3)), tmp_path / "w.pt")
    root = small_project.root
    code = main(["train", str(root), "--weights-file", str(tmp_path / "w.pt"), "--epochs", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(errors) == 1 and "w.pt: weights do not fit this TinyCNN" in errors[0], err
    assert small_project.versions(status=None) == []
