"""A generated demo dataset with a planted background shortcut.

Two classes of objects (discs and crosses) drawn over a textured background. In train and val the
background's hue family is tied to the class (warm behind discs, cool behind crosses) - the
"kitchen" of the paper: everything collected the same way carries the shortcut. In test the hue
family is random, as after deployment. A model that learned the background scores ~50% on test.

Val and test ship exact object masks (the evaluation ground truth). A minority of the training
images ship masks "as an expert would have painted them": loose, with a wobbly rim that spills a
few pixels of background - the case GRADIA's guided retraining must cope with.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import GradiaError
from .atomic import staged_directory
from .images import write_mask_png, write_rgb_png
from .progress import Progress, report

CLASSES = ("disc", "cross")
SIZE = 64
COUNTS = {"train": 400, "val": 100, "test": 200}  # per class
WARM_HUES, COOL_HUES = (0, 22), (95, 125)  # OpenCV hue units (0..180)


def _background(rng: np.random.Generator, hue_range: tuple[int, int]) -> np.ndarray:
    coarse = rng.random((6, 6)).astype(np.float32)
    texture = cv2.resize(coarse, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    hue = rng.uniform(*hue_range) + 6 * (texture - 0.5)
    sat = np.clip(rng.uniform(110, 200) + 60 * (texture - 0.5), 0, 255)
    val = np.clip(rng.uniform(110, 170) + 50 * (rng.random((SIZE, SIZE)) - 0.5), 0, 255)
    hsv = np.stack([np.mod(hue, 180), sat, val], axis=-1).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _object_mask(rng: np.random.Generator, class_name: str) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    radius = rng.uniform(9, 14)
    cx, cy = rng.uniform(radius + 3, SIZE - radius - 3, size=2)
    if class_name == "disc":
        cv2.ellipse(mask, (round(cx * 16), round(cy * 16)), (round(radius * 16), round(radius * 16)),
                    0, 0, 360, 1, -1, cv2.LINE_8, 4)
    else:  # a plus sign with arms of a third of its span, at a random angle
        angle = rng.uniform(0, 90)
        for arm in (0, 90):
            box = cv2.boxPoints(((cx, cy), (2.1 * radius, 0.75 * radius), angle + arm))
            cv2.fillPoly(mask, [np.round(box * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return mask.astype(bool)


def _paint_object(rng: np.random.Generator, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    # A colour independent of the class, dark or light so it stands out from the mid-tone background.
    value = rng.choice([rng.uniform(20, 70), rng.uniform(195, 245)])
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(0, 90), value]]], np.uint8)
    colour = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)
    shade = colour + rng.normal(0, 8, size=rgb.shape).astype(np.float32)
    out = rgb.astype(np.float32)
    out[mask] = shade[mask]
    return np.clip(out, 0, 255).astype(np.uint8)


def loose_mask(rng: np.random.Generator, exact: np.ndarray) -> np.ndarray:
    """An expert-style mask: the object dilated by 2-5 px with an irregular, hand-drawn rim."""
    grow = int(rng.integers(2, 6))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    mask = cv2.dilate(exact.astype(np.uint8), kernel)
    wobble = cv2.resize(rng.random((8, 8)).astype(np.float32), exact.shape[::-1], interpolation=cv2.INTER_CUBIC)
    ring = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) & ~mask.astype(bool)
    mask = mask.astype(bool) | (ring.astype(bool) & (wobble > 0.6))
    return mask | exact


def generate_demo(out_dir: str | os.PathLike, seed: int = 0, mask_fraction: float = 0.15,
                  counts: dict[str, int] | None = None, progress: Progress = None) -> Path:
    """Write ``out_dir/images/{split}/{class}/*.png`` and ``out_dir/masks/...``; returns out_dir."""
    if not 0 <= mask_fraction <= 1:
        raise GradiaError(f"mask fraction {mask_fraction} must lie between 0 and 1")
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise GradiaError(f"{out_dir}: already exists and is not an empty folder")
    counts = counts or COUNTS
    rng = np.random.default_rng(seed)
    total = sum(counts.values()) * len(CLASSES)
    done = 0
    with staged_directory(out_dir) as stage:
        for split, per_class in counts.items():
            n_masked = round(per_class * mask_fraction) if split == "train" else per_class
            for class_idx, class_name in enumerate(CLASSES):
                masked = set(rng.choice(per_class, size=n_masked, replace=False).tolist())
                for i in range(per_class):
                    cue_class = class_idx if split != "test" else int(rng.integers(len(CLASSES)))
                    rgb = _background(rng, WARM_HUES if cue_class == 0 else COOL_HUES)
                    exact = _object_mask(rng, class_name)
                    rgb = _paint_object(rng, rgb, exact)
                    name = f"{class_name}_{split}_{i:04d}.png"
                    write_rgb_png(stage / "images" / split / class_name / name, rgb, atomic=False)
                    if i in masked:
                        mask = loose_mask(rng, exact) if split == "train" else exact
                        write_mask_png(stage / "masks" / split / class_name / name, mask, atomic=False)
                    done += 1
                    if done % 50 == 0 or done == total:
                        report(progress, "generating demo images", done, total)
    return out_dir
