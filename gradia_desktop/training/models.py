"""Classification models by name, their Grad-CAM layer, and weights from local files only."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import GradiaError
from . import feature_layout

TINY = ("tiny", "tiny-gn")  # the built-in models (TinyCNN)
_POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


class TinyCNN(nn.Module):
    """A small CNN for CPU demos and tests: four conv blocks, the last at 1/8 of the input (8x8 at 64 px).

    ``group_norm`` ("tiny-gn") normalises each image on its own instead of over the batch: nothing then
    depends on how a batch is split among processes, and small per-GPU batches lose nothing."""

    def __init__(self, num_classes: int, width: int = 32, group_norm: bool = False):
        super().__init__()

        def norm(channels: int) -> nn.Module:
            return nn.GroupNorm(8, channels) if group_norm else nn.BatchNorm2d(channels)

        def block(cin: int, cout: int, pool: bool) -> nn.Sequential:
            layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                                       norm(cout), nn.ReLU(inplace=True)]
            if pool:
                layers.append(nn.MaxPool2d(2))
            return nn.Sequential(*layers)

        self.layer1 = block(3, width, True)
        self.layer2 = block(width, 2 * width, True)
        self.layer3 = block(2 * width, 4 * width, True)
        self.layer4 = block(4 * width, 4 * width, False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def available_architectures() -> list[str]:
    import torchvision

    return [*TINY, *sorted(torchvision.models.list_models(module=torchvision.models))]


def build_model(arch: str, num_classes: int, image_size: int | None = None) -> nn.Module:
    """A randomly initialised classifier with ``num_classes`` outputs. ``image_size`` matters to
    Vision Transformers only (their position embeddings are made for one size; default 224)."""
    if num_classes < 2:
        raise GradiaError(f"a classifier needs at least two classes, got {num_classes}")
    if arch in TINY:
        return TinyCNN(num_classes, group_norm=arch == "tiny-gn")
    import torchvision

    known = torchvision.models.list_models(module=torchvision.models)
    if arch not in known:
        close = difflib.get_close_matches(arch, [*TINY, *known], n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise GradiaError(f"unknown architecture {arch!r} ({hint}`gradia models` lists all {len(known) + len(TINY)})")
    kwargs = {"num_classes": num_classes}
    if arch.startswith("inception") or arch.startswith("googlenet"):
        kwargs["aux_logits"] = False
        kwargs["init_weights"] = True
    if arch.startswith("vit_"):
        kwargs["image_size"] = image_size or 224
        patch = int(arch.rsplit("_", 1)[-1])
        if kwargs["image_size"] % patch:
            raise GradiaError(f"{arch}: the image size must be a multiple of its {patch} px patches, "
                              f"got {kwargs['image_size']}")
    return feature_layout.mark(torchvision.models.get_model(arch, weights=None, **kwargs))


# ---- the Grad-CAM target layer -----------------------------------------------------------------

def get_layer(model: nn.Module, path: str) -> nn.Module:
    """The submodule at a dotted path; ``layer4.1``, ``layer4[-1]`` and ``features.-1`` all work."""
    tokens = [t for t in re.split(r"\.|\[|\]", path.strip()) if t != ""]
    if not tokens:
        raise GradiaError("the CAM layer path is empty")
    module, walked = model, []
    for token in tokens:
        children = dict(module.named_children())
        if token in children:
            module = children[token]
        elif re.fullmatch(r"-?\d+", token) and isinstance(module, (nn.Sequential, nn.ModuleList)):
            try:
                module = module[int(token)]
            except IndexError:
                raise GradiaError(f"CAM layer {path!r}: {'.'.join(walked) or 'model'} has no item {token}") from None
        else:
            options = ", ".join(list(children)[:12]) or "none"
            raise GradiaError(f"CAM layer {path!r}: {'.'.join(walked) or 'the model'} has no submodule "
                              f"{token!r} (children: {options})")
        walked.append(token)
    return module


def _trace_maps(model: nn.Module, image_size: int) -> list[tuple[str, torch.Tensor]]:
    """(module name, output as a (B, C, h, w) map) of every module whose output is a feature map, in
    execution order, over one dummy forward pass in eval mode (the model's modes are restored after)."""
    names = {m: n for n, m in model.named_modules()}
    trace: list[tuple[str, torch.Tensor]] = []

    def hook(module: nn.Module, _inp: object, out: object) -> None:
        layout = feature_layout.layout_of(module)
        if isinstance(out, torch.Tensor) and out.dim() == (3 if layout == feature_layout.TOKENS else 4):
            try:
                trace.append((names[module], feature_layout.to_grid(out, layout)))
            except ValueError:  # tokens that are no grid of patches
                pass

    handles = [m.register_forward_hook(hook) for m in model.modules() if m is not model]
    modes = {m: m.training for m in model.modules()}
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, device=device))
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return trace


def find_cam_layer(model: nn.Module, image_size: int = 224) -> str:
    """The dotted name of the last convolutional block, found by tracing one dummy forward pass.

    The last module (in execution order, pooling excluded) with a 4-D output of more than 1x1
    is located, then named by its innermost non-leaf ancestor that returns the same tensor -
    ``layer4.1`` for a ResNet-18, ``features.12`` for MobileNetV3-small.
    """
    special = feature_layout.transformer_cam_layer(model)
    if special is not None:
        return special
    trace = _trace_maps(model, image_size)
    modules = dict(model.named_modules())
    leaves = [(n, t) for n, t in trace
              if not any(modules[n].children()) and not isinstance(modules[n], _POOLING)]
    spatial = [(n, t) for n, t in leaves if t.shape[-1] * t.shape[-2] > 1] or leaves
    if not spatial:
        raise GradiaError(f"{type(model).__name__}: no convolutional layer found for Grad-CAM; pass --cam-layer")
    leaf, tensor = spatial[-1]
    outputs = dict(trace)  # last output of each module name
    parts = leaf.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        ancestor = ".".join(parts[:depth])
        if outputs.get(ancestor) is tensor:
            return ancestor
    return leaf


@dataclass(frozen=True)
class LayerChoice:
    name: str  # dotted module path, as --cam-layer takes it
    kind: str  # the module's class name
    channels: int
    grid: tuple[int, int]  # the CAM's height and width at the image size asked for
    block: bool  # a module holding others (a stage or block), not a single operation


def cam_layer_choices(model: nn.Module, image_size: int, every: bool = False) -> list[LayerChoice]:
    """The modules Grad-CAM can read, in execution order: every module whose output is a feature map
    larger than 1x1 (pooling excluded). Unless ``every``, only what a layer picker offers: stages and
    their blocks (modules holding others, at most two names deep), convolutions outside any block,
    and the default layer (find_cam_layer)."""
    modules = dict(model.named_modules())
    last = dict(_trace_maps(model, image_size))  # a module run twice is listed once, with its last output
    default = find_cam_layer(model, image_size)
    out = []
    for name, tensor in last.items():
        module = modules[name]
        if isinstance(module, _POOLING) or tensor.shape[-1] * tensor.shape[-2] <= 1:
            continue
        block = any(module.children())
        if block:
            offered = name.count(".") <= 1
        else:
            offered = isinstance(module, nn.Conv2d) and not any(name.startswith(o + ".") for o in last)
        if every or offered or name == default:
            out.append(LayerChoice(name, type(module).__name__, int(tensor.shape[1]),
                                   (int(tensor.shape[-2]), int(tensor.shape[-1])), block))
    return out


# ---- weights ---------------------------------------------------------------------------------

def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors, .pt or .pth file, loaded with weights-only semantics."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise GradiaError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to parse is the file's problem
        raise GradiaError(f"{path}: cannot load weights ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GradiaError(f"{path}: not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def head_keys(model: nn.Module) -> list[str]:
    """The state-dict keys of the classifier head: the last module that holds parameters of its own."""
    last = ""
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            last = name
    own = model.get_submodule(last).state_dict() if last else {}
    return sorted(f"{last}.{key}" if last else key for key in own)


def _shape(t: torch.Tensor) -> str:
    return "x".join(str(n) for n in t.shape) or "scalar"


def _mismatch(state: dict, own: dict, missing: list[str], unexpected: list[str], reshaped: list[str]) -> str:
    """'2 missing (e.g. a, b); 1 of another shape (e.g. c 64x3 in the file, 32x3 in the model)'."""
    def some(keys: list[str], show=lambda k: k) -> str:
        return ", ".join(show(k) for k in keys[:3]) + (", ..." if len(keys) > 3 else "")

    parts = [f"{len(missing)} missing (e.g. {some(missing)})" if missing else "",
             f"{len(unexpected)} unexpected (e.g. {some(unexpected)})" if unexpected else "",
             f"{len(reshaped)} of another shape (e.g. "
             f"{some(reshaped, lambda k: f'{k} {_shape(state[k])} in the file, {_shape(own[k])} in the model')})"
             if reshaped else ""]
    return "; ".join(p for p in parts if p)


def load_weights(model: nn.Module, path: str | os.PathLike, allow_new_head: bool = True) -> list[str]:
    """Load a local weights file into ``model``. Returns the keys left at their initial values.

    Only the classifier head (``head_keys``) may be missing from the file or shaped differently
    (an ImageNet head on a 2-class model), and only when ``allow_new_head``. Any other missing,
    unexpected or reshaped key is an error naming the file and the first keys: a middle layer
    left at random initialisation would train a different model than the one asked for.
    """
    state = read_state_dict(path)
    own = model.state_dict()
    head = set(head_keys(model)) if allow_new_head else set()
    # BatchNorm's step counters: files saved before PyTorch 0.4.1 (torchvision's older weights) lack them
    missing = [k for k in own if k not in state and k not in head and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    reshaped = [k for k in state if k in own and state[k].shape != own[k].shape and k not in head]
    if missing or unexpected or reshaped:
        allowed = f"only the classifier head ({', '.join(sorted(head))}) may differ" if head else "no key may differ"
        raise GradiaError(f"{path}: weights do not fit this {type(model).__name__}: "
                          f"{_mismatch(state, own, missing, unexpected, reshaped)}; {allowed}")
    usable = {k: v for k, v in state.items() if own[k].shape == v.shape}
    model.load_state_dict(usable, strict=False)
    return sorted(k for k in head if k not in usable)


def imagenet_weights_path(arch: str) -> Path:
    """Where torchvision's cache holds ``arch``'s ImageNet weights; never downloads (weights_fetch.py does,
    when the user asks)."""
    from .weights_fetch import weights_file

    found = weights_file(arch)
    if not found.present:
        raise GradiaError(f"ImageNet weights for {arch} are not in torchvision's local cache ({found.path}): get them "
                          f"with `gradia weights fetch {arch}` (or the Training dock's button) when online; offline, "
                          f"{found.offline_advice()}")
    return found.path
