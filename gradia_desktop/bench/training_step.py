"""How much a GRADIA training step costs next to a plain cross-entropy step, on the same batch.

Steps are interleaved (plain, GRADIA, plain, ...) so that a busy machine slows both alike, and
the median of each is reported. ``reference`` also times the authors' per-sample loop (one extra
forward and backward per annotated sample) for comparison. ``compile`` times both steps through
the model as `gradia train --compile` runs it (trainer.compiled_forward); the warm-up steps then
include the compiling, so give it a few.
"""

from __future__ import annotations

import contextlib
import statistics
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..core.progress import Progress, report
from ..training.device import autocast, pick_device, place_model, prefers_channels_last
from ..training.gradcam import inference_cam, training_cam
from ..training.loss import gradia_loss, mask_to_grid
from ..training.models import build_model, find_cam_layer, get_layer
from ..training.trainer import compiled_forward


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _random_masks(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    masks = np.zeros((n, size, size), np.uint8)
    for m in masks:
        centre = tuple(int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
        cv2.circle(m, centre, int(rng.integers(size // 8, size // 3)), 1, -1)
    return masks


def run_bench(arch: str = "resnet18", image_size: int = 224, batch_size: int = 16, device: str = "auto",
              steps: int = 10, warmup: int = 2, reference: bool = False, compile: bool = False,
              progress: Progress = None) -> dict:
    with contextlib.ExitStack() as resources:
        return _run(arch, image_size, batch_size, device, steps, warmup, reference, compile, progress, resources)


def _run(arch: str, image_size: int, batch_size: int, device: str, steps: int, warmup: int, reference: bool,
         compile: bool, progress: Progress, resources: contextlib.ExitStack) -> dict:
    dev = pick_device(device)
    torch.manual_seed(0)
    model = place_model(build_model(arch, 2, image_size), dev).train()  # in the layout training uses
    layout = torch.channels_last if prefers_channels_last(dev) else torch.contiguous_format
    layer_name = find_cam_layer(model, image_size)
    layer = get_layer(model, layer_name)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch_size, 3, image_size, image_size, device=dev).contiguous(memory_format=layout)
    y = torch.randint(0, 2, (batch_size,), device=dev)
    with torch.no_grad():
        probe = []
        h = layer.register_forward_hook(lambda _m, _i, o: probe.append(o.shape[-2:]))
        model.eval(); model(x[:1]); model.train(); h.remove()
    grid_hw = tuple(probe[0])
    masks = _random_masks(batch_size, image_size, np.random.default_rng(0))
    grids = torch.from_numpy(np.stack([mask_to_grid(m, grid_hw) for m in masks])).to(dev)
    ones = torch.ones(batch_size, device=dev)
    stepping = compiled_forward(model, layer, resources) if compile else model

    def plain() -> None:
        with autocast(dev):
            loss = F.cross_entropy(stepping(x).float(), y)
        optimizer.zero_grad(set_to_none=True); loss.backward(); optimizer.step()

    def gradia() -> None:
        with autocast(dev):
            fwd = training_cam(stepping, layer, x, y)
            loss = gradia_loss(fwd.logits, y, fwd.cam, grids, ones, ones, 1.0).total
        optimizer.zero_grad(set_to_none=True); loss.backward(); optimizer.step()

    def per_sample_loop() -> None:  # the reference implementation's shape: one pass per annotated sample
        with autocast(dev):
            ce = F.cross_entropy(model(x).float(), y)
            att = 0.0
            for i in range(batch_size):
                fwd = training_cam(model, layer, x[i:i + 1], y[i:i + 1])
                att = att + gradia_loss(fwd.logits, y[i:i + 1], fwd.cam, grids[i:i + 1], ones[:1], ones[:1], 1.0).attention_raw
            loss = ce + att / batch_size
        optimizer.zero_grad(set_to_none=True); loss.backward(); optimizer.step()

    kinds = {"plain": plain, "gradia": gradia}
    if reference:
        kinds["reference"] = per_sample_loop
    times: dict[str, list[float]] = {k: [] for k in kinds}
    total = warmup + steps
    for i in range(total):
        order = list(kinds) if i % 2 == 0 else list(reversed(kinds))
        for kind in order:
            _sync(dev); t0 = time.perf_counter()
            kinds[kind]()
            _sync(dev)
            if i >= warmup:
                times[kind].append(time.perf_counter() - t0)
        report(progress, "benchmark steps", i + 1, total)

    model.eval()
    cam_times = []
    for i in range(max(3, steps // 2)):
        _sync(dev); t0 = time.perf_counter()
        with autocast(dev):
            inference_cam(model, layer, x, None, (image_size, image_size))
        _sync(dev)
        if i > 0:
            cam_times.append(time.perf_counter() - t0)
    plain_s = statistics.median(times["plain"])
    gradia_s = statistics.median(times["gradia"])
    out = {"arch": arch, "image_size": image_size, "batch_size": batch_size, "device": str(dev),
           "cam_layer": layer_name, "steps": steps, "threads": torch.get_num_threads(), "compiled": compile,
           "plain_step_s": round(plain_s, 5), "gradia_step_s": round(gradia_s, 5),
           "ratio": round(gradia_s / plain_s, 4),
           "cam_images_per_s": round(batch_size / statistics.median(cam_times), 2)}
    if reference:
        ref_s = statistics.median(times["reference"])
        out.update(reference_step_s=round(ref_s, 5), reference_ratio=round(ref_s / plain_s, 4))
    if dev.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(dev)
    return out
