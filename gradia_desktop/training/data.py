"""A project split loaded into memory as tensors at the model's input size."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np
import torch

from ..core.images import decode_rgb
from ..core.metrics import resize_mask
from ..core.progress import CancelCheck, Progress, report, stop_if_cancelled
from ..core.records import Sample
from ..core.store import Project
from ..errors import GradiaError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class SplitData:
    samples: list[Sample]
    images: torch.Tensor  # (N, 3, S, S) uint8
    labels: torch.Tensor  # (N,) long
    masks: torch.Tensor  # (N, S, S) bool, all False where the sample has no mask
    has_mask: torch.Tensor  # (N,) bool
    left_out: list[str] = field(default_factory=list)  # a warning line per sample whose image could not be read

    def __len__(self) -> int:
        return len(self.samples)


def resize_rgb(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    interp = cv2.INTER_AREA if h > size or w > size else cv2.INTER_LINEAR
    return cv2.resize(rgb, (size, size), interpolation=interp)


def load_split(project: Project, split: str, image_size: int, progress: Progress = None,
               cancelled: CancelCheck = None, warn: Callable[[str], None] | None = None) -> SplitData:
    """Every sample of ``split`` at ``image_size`` px; ``cancelled`` is asked after each image.

    A sample whose image can no longer be read (replaced, truncated, deleted since the project was
    made) is left out of the split, with a warning line naming the file (``warn``, and ``left_out``)."""
    samples = project.samples(split=split)
    n = len(samples)
    images = np.zeros((n, image_size, image_size, 3), np.uint8)
    masks = np.zeros((n, image_size, image_size), bool)
    has_mask = np.zeros(n, bool)

    def load(i: int) -> str | None:
        s = samples[i]
        try:
            rgb, full_size = decode_rgb(project.image_path(s), max_side=image_size)  # a JPEG shrinks as it decodes
        except GradiaError as exc:
            return f"warning: {exc}; sample {s.id} left out of the {split} split"
        if full_size != (s.width, s.height):
            raise GradiaError(f"{project.image_path(s)}: image is now {full_size[0]}x{full_size[1]}, "
                              f"the project recorded {s.width}x{s.height}")
        images[i] = resize_rgb(rgb, image_size)
        if s.has_mask:
            mask = project.read_mask(s)
            if mask is not None:
                masks[i] = resize_mask(mask, image_size)
                has_mask[i] = True
        return None

    left_out: dict[int, str] = {}
    pool = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2))
    try:
        for done, problem in enumerate(pool.map(load, range(n)), 1):
            if problem is not None:
                left_out[done - 1] = problem
                if warn is not None:
                    warn(problem)
            stop_if_cancelled(cancelled, f"loading {split} images")
            if done % 64 == 0 or done == n:
                report(progress, f"loading {split} images", done, n)
    finally:  # on cancel or error, images not yet started are dropped rather than loaded
        pool.shutdown(wait=True, cancel_futures=True)
    if left_out:
        keep = [i for i in range(n) if i not in left_out]
        samples, images, masks, has_mask = [samples[i] for i in keep], images[keep], masks[keep], has_mask[keep]
    return SplitData(samples, torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
                     torch.tensor([s.class_idx for s in samples], dtype=torch.long),
                     torch.from_numpy(masks), torch.from_numpy(has_mask), list(left_out.values()))


class Normalizer:
    """uint8 (B, 3, S, S) on any device -> float, ImageNet-normalised, on ``device``."""

    def __init__(self, device: torch.device):
        self.device = device
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def __call__(self, images_u8: torch.Tensor) -> torch.Tensor:
        x = images_u8.to(self.device, non_blocking=True).float().div_(255)
        return (x - self.mean) / self.std
