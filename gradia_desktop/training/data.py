"""A project split at the model's input size: in memory as tensors, or streamed from the pixel cache."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np
import torch

from ..core.metrics import resize_mask
from ..core.progress import CancelCheck, Progress, report, stop_if_cancelled
from ..core.records import Sample
from ..core.store import Project
from ..errors import GradiaError
from .config import DATA_MODES
from .device import prefers_channels_last
from .pixel_cache import ImageResized, cache_images, decode_at
from .row_file import RowImages

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


STREAM_ABOVE_BYTES = 2 * 2**30  # "auto" streams splits larger than this (or than an eighth of the RAM)


@dataclass
class SplitData:
    """A split at the run's input size. ``images`` is a uint8 tensor (N, 3, S, S) in memory, or rows of the
    project's pixel cache read a batch at a time (``RowImages``); either is indexed the same way."""

    samples: list[Sample]
    images: torch.Tensor | RowImages  # (N, 3, S, S) uint8
    labels: torch.Tensor  # (N,) long
    masks: torch.Tensor | PackedMasks  # (N, S, S) bool, all False where the sample has no mask
    has_mask: torch.Tensor  # (N,) bool
    left_out: list[str] = field(default_factory=list)  # a warning line per sample whose image could not be read
    avoid: torch.Tensor | PackedMasks | None = None  # (N, S, S) bool "don't look here"; None: no sample has one
    has_avoid: torch.Tensor | None = None  # (N,) bool

    def avoid_rows(self) -> torch.Tensor:
        """(N,) bool: which samples' masks mark something as "don't look here"."""
        return torch.zeros(len(self), dtype=torch.bool) if self.has_avoid is None else self.has_avoid

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def streamed(self) -> bool:
        return isinstance(self.images, RowImages)


class PackedMasks:
    """(N, S, S) bool masks held as bits, and only for the samples that have one: a streamed split of
    N images with M masks holds M rows of S*S/8 bytes (and a position table), not N."""

    def __init__(self, count: int, size: int):
        self.size = size
        self.row_of = np.full(count, -1, np.int32)  # position -> row in self.rows, -1: no mask
        self.rows: list[np.ndarray] = []

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.row_of), self.size, self.size

    def __len__(self) -> int:
        return len(self.row_of)

    def put(self, position: int, mask: np.ndarray) -> None:
        bits = np.packbits(np.asarray(mask, bool).reshape(-1))
        if self.row_of[position] >= 0:
            self.rows[self.row_of[position]] = bits
        else:
            self.row_of[position] = len(self.rows)
            self.rows.append(bits)

    def __getitem__(self, key) -> torch.Tensor:
        """(S, S) for one position; (B, S, S) for a slice, list or index array/tensor. All False where no mask."""
        if isinstance(key, torch.Tensor):
            key = key.numpy()
        single = isinstance(key, (int, np.integer)) or (isinstance(key, np.ndarray) and key.ndim == 0)
        found = np.atleast_1d(self.row_of[key])
        out = np.zeros((len(found), self.size * self.size), bool)
        for k, row in enumerate(found):
            if row >= 0:
                out[k] = np.unpackbits(self.rows[row], count=self.size * self.size).astype(bool)
        out = out.reshape(len(found), self.size, self.size)
        return torch.from_numpy(out[0] if single else out)


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def should_stream(data_mode: str, image_count: int, image_size: int) -> bool:
    """Whether a run reads its images from the pixel cache ("stream") or holds them in memory."""
    if data_mode not in DATA_MODES:
        raise GradiaError(f"unknown data mode {data_mode!r} (expected one of {', '.join(DATA_MODES)})")
    if data_mode != "auto":
        return data_mode == "stream"
    limit = STREAM_ABOVE_BYTES
    ram = physical_memory()
    if ram:
        limit = min(limit, ram // 8)
    return image_count * image_size * image_size * 3 > limit


def load_split(project: Project, split: str, image_size: int, progress: Progress = None,
               cancelled: CancelCheck = None, warn: Callable[[str], None] | None = None,
               stream: bool | None = None) -> SplitData:
    """Every sample of ``split`` at ``image_size`` px; ``cancelled`` is asked after each image.

    In memory, or with ``stream`` as rows of the project's pixel cache (built or brought up to date
    first); ``stream=None`` streams a split too large to hold (``should_stream``). A sample whose image can no longer be read (replaced, truncated, deleted since the
    project was made) is left out of the split, with a warning line naming the file (``warn``, and
    ``left_out``)."""
    samples = project.samples(split=split)
    if stream is None:
        stream = should_stream("auto", len(samples), image_size)
    if stream:
        cached = cache_images(project, samples, image_size, f"{split} split", progress, cancelled, warn)
        samples = [samples[k] for k in cached.kept]
        masks, avoid = PackedMasks(len(samples), image_size), PackedMasks(len(samples), image_size)
        has_mask, has_avoid = _read_masks(project, samples, image_size, masks.put, avoid.put, split, progress,
                                          cancelled)
        return SplitData(samples, cached.images, _labels(samples), masks, torch.from_numpy(has_mask),
                         cached.left_out, *_avoid_fields(avoid, has_avoid))
    return _load_in_memory(project, samples, split, image_size, progress, cancelled, warn)


def _labels(samples: list[Sample]) -> torch.Tensor:
    return torch.tensor([s.class_idx for s in samples], dtype=torch.long)


def _read_masks(project: Project, samples: list[Sample], size: int, put: Callable[[int, np.ndarray], None],
                put_avoid: Callable[[int, np.ndarray], None], split: str, progress: Progress,
                cancelled: CancelCheck) -> tuple[np.ndarray, np.ndarray]:
    """(has a "look here" mask, has a "don't look here" layer) per sample; each layer at ``size`` px."""
    has_mask, has_avoid = np.zeros(len(samples), bool), np.zeros(len(samples), bool)
    avoiding = project.avoid_pixels()
    marked = [k for k, s in enumerate(samples) if s.has_mask or s.id in avoiding]
    for done, k in enumerate(marked, 1):
        layers = project.read_mask_layers(samples[k])
        if layers is not None and layers.look.any():
            put(k, resize_mask(layers.look, size))
            has_mask[k] = True
        if layers is not None and layers.avoid.any():
            put_avoid(k, cover_mask(layers.avoid, size))
            has_avoid[k] = True
        stop_if_cancelled(cancelled, f"reading {split} masks")
        if done % 256 == 0 or done == len(marked):
            report(progress, f"reading {split} masks", done, len(marked))
    return has_mask, has_avoid


def cover_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """A "don't look here" layer at ``size`` px: every pixel it touches at all, so that a thin mark
    survives the shrinking that nearest-neighbour resizing would drop it in."""
    return cv2.resize(np.asarray(mask, np.float32), (size, size), interpolation=cv2.INTER_AREA) > 0


def _avoid_fields(avoid, has_avoid: np.ndarray) -> tuple:
    """SplitData's (avoid, has_avoid): (None, None) when no sample has a "don't look here" layer."""
    return (avoid, torch.from_numpy(has_avoid)) if has_avoid.any() else (None, None)


def _load_in_memory(project: Project, samples: list[Sample], split: str, image_size: int, progress: Progress,
                    cancelled: CancelCheck, warn: Callable[[str], None] | None) -> SplitData:
    n = len(samples)
    images = np.zeros((n, image_size, image_size, 3), np.uint8)

    def load(i: int) -> str | None:
        try:
            images[i] = decode_at(project, samples[i], image_size)
        except ImageResized:
            raise
        except GradiaError as exc:
            return f"warning: {exc}; sample {samples[i].id} left out of the {split} split"
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
        samples, images = [samples[i] for i in keep], images[keep]
    masks = np.zeros((len(samples), image_size, image_size), bool)
    avoid = np.zeros_like(masks)
    has_mask, has_avoid = _read_masks(project, samples, image_size, masks.__setitem__, avoid.__setitem__, split,
                                      None, cancelled)
    return SplitData(samples, torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), _labels(samples),
                     torch.from_numpy(masks), torch.from_numpy(has_mask), list(left_out.values()),
                     *_avoid_fields(torch.from_numpy(avoid), has_avoid))


class Normalizer:
    """uint8 (B, 3, S, S) on any device -> float, ImageNet-normalised, on ``device`` (channels-last in
    memory where the device prefers it, matching the model: see device.prefers_channels_last)."""

    def __init__(self, device: torch.device, channels_last: bool | None = None):
        self.device = device
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
        self.channels_last = prefers_channels_last(device) if channels_last is None else channels_last

    def __call__(self, images_u8: torch.Tensor) -> torch.Tensor:
        x = images_u8.to(self.device, non_blocking=True).float().div_(255)
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x
