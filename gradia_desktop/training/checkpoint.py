"""Checkpoints: safetensors (tensors only) plus a JSON sidecar; loading never unpickles objects."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..core.atomic import atomic_write_bytes, atomic_write_text
from ..errors import GradiaError
from .device import place_model
from .models import build_model, get_layer, read_state_dict


@dataclass
class ModelSpec:
    arch: str
    classes: list[str]
    cam_layer: str
    image_size: int


def save_checkpoint(path: str | os.PathLike, model: nn.Module, spec: ModelSpec) -> Path:
    """The weights at ``path`` and their description beside it, each written atomically; returns ``path``.

    The description is written first, so a weights file - what marks the epoch as saved - never
    lacks it, even when the process is killed in between. A disk that refuses (full, read-only,
    no permission) is a one-line GradiaError; nothing half-written is left.
    """
    from safetensors.torch import save

    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    try:
        atomic_write_text(path.with_suffix(".json"), json.dumps(asdict(spec), indent=1))
        # serialised here and written by us (not save_file): a full disk is then a plain OSError with its errno
        atomic_write_bytes(path, save(state))
    except OSError as exc:
        raise GradiaError(f"{path}: cannot write the checkpoint ({exc.strerror or exc})") from None
    return path


def read_spec(path: str | os.PathLike) -> ModelSpec:
    sidecar = Path(path).with_suffix(".json")
    try:
        data = json.loads(sidecar.read_text())
        return ModelSpec(data["arch"], list(data["classes"]), data["cam_layer"], int(data["image_size"]))
    except FileNotFoundError:
        raise GradiaError(f"{sidecar}: checkpoint description missing") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise GradiaError(f"{sidecar}: not a valid checkpoint description ({exc})") from None


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[nn.Module, nn.Module, ModelSpec]:
    """(model in eval mode on ``device``, its CAM layer, its spec)."""
    spec = read_spec(path)
    model = build_model(spec.arch, len(spec.classes), spec.image_size)
    try:
        model.load_state_dict(read_state_dict(path))
    except RuntimeError as exc:
        raise GradiaError(f"{path}: weights do not match {spec.arch} ({str(exc).splitlines()[0]})") from None
    place_model(model, torch.device(device)).eval()
    return model, get_layer(model, spec.cam_layer), spec
