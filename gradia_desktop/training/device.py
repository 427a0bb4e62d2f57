"""Choosing the compute device: cuda > mps > cpu, and clear errors for devices that are not there."""

from __future__ import annotations

import contextlib

import torch

from ..errors import GradiaError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
# The app's choice "all N GPUs": one process per GPU under torchrun (`gradia train --nproc-per-node N`).
ALL_GPUS = "all-gpus"


def gpu_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def pick_device(spec: str = "auto") -> torch.device:
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    kind = spec.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise GradiaError(f"unknown device {spec!r} (expected one of {', '.join(DEVICE_CHOICES)})")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise GradiaError(f"device {spec!r} is not available: this machine has no usable CUDA GPU")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise GradiaError(f"device {spec!r} is not available: only {torch.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not _mps_available():
        raise GradiaError(f"device {spec!r} is not available: this machine has no Apple MPS backend")
    return torch.device(spec)


def describe_devices() -> list[dict]:
    """What exists here, for the GUI's device picker and the About box."""
    out = [{"name": "cpu", "label": "CPU", "memory_gb": None}]
    for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        props = torch.cuda.get_device_properties(i)
        out.append({"name": f"cuda:{i}", "label": props.name, "memory_gb": round(props.total_memory / 2**30, 1)})
    if _mps_available():
        out.append({"name": "mps", "label": "Apple MPS", "memory_gb": None})
    return out


def prefers_channels_last(device: torch.device) -> bool:
    """Whether convolutions run faster on channels-last tensors here: on CUDA (cuDNN's tensor-core
    kernels want NHWC). The CPU keeps the default layout, so CPU results stay as they were."""
    return device.type == "cuda"


def place_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` on ``device``, channels-last where the device prefers it (the inputs follow: data.Normalizer)."""
    model.to(device)
    if prefers_channels_last(device):
        model.to(memory_format=torch.channels_last)
    return model


def autocast(device: torch.device):
    """Mixed precision on CUDA (bf16 where supported, else fp16), nothing elsewhere."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def needs_grad_scaler(device: torch.device) -> bool:
    return device.type == "cuda" and not torch.cuda.is_bf16_supported()


def device_label(spec: str = "auto") -> str:
    """What ``spec`` resolves to here, for people: 'CUDA 0: NVIDIA H100 (79.1 GB)', 'CPU'."""
    device = pick_device(spec)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return f"CUDA {index}: {props.name} ({props.total_memory / 2**30:.1f} GB)"
    return {"mps": "Apple MPS", "cpu": "CPU"}.get(device.type, str(device))
