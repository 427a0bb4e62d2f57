"""The small generated projects the reliability trials run on (core only: no torch, no Qt).

Images are drawn here rather than read from disk, with sizes that differ on purpose: a mask write
on a 960x720 image takes far longer than one on 12x9, so random kills land at different points of
a write.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from ...core.project_init import create_project
from ...core.store import Project

CLASSES = ("alpha", "beta")
# (split, class, stem, width, height): two classes in train (create_project needs two), one of each
# elsewhere, and a spread of sizes for the mask writes.
CRASH_LAYOUT = (
    ("train", "alpha", "a0", 12, 9), ("train", "alpha", "a1", 320, 240), ("train", "alpha", "a2", 960, 720),
    ("train", "beta", "b0", 64, 64), ("train", "beta", "b1", 500, 90), ("train", "beta", "b2", 33, 700),
    ("val", "alpha", "a3", 48, 40), ("val", "beta", "b3", 48, 40),
)
# Training needs a few images of one size per class; 32 px keeps a tiny model's epoch well under a second.
TRAIN_LAYOUT = tuple((split, cls, f"{cls[0]}{i}", 32, 32)
                     for split, per_class in (("train", 4), ("val", 2), ("test", 2))
                     for cls in CLASSES for i in range(per_class))


def draw_image(rng: np.random.Generator, width: int, height: int, class_index: int) -> np.ndarray:
    """An RGB picture with a class-coloured square on noise (so a tiny model has something to learn)."""
    rgb = rng.integers(0, 120, size=(height, width, 3), dtype=np.uint8)
    y0, x0 = height // 4, width // 4
    rgb[y0:y0 + max(1, height // 2), x0:x0 + max(1, width // 2), class_index] = 230
    return rgb


def write_png(path: Path, array: np.ndarray) -> Path:
    """An (H, W, 3) RGB or (H, W) grey uint8 array as a PNG file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if array.ndim == 3 else array)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def random_mask(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A few random boxes, sometimes speckled, so encoded sizes (and write times) vary."""
    height, width = shape
    mask = np.zeros(shape, bool)
    for _ in range(int(rng.integers(1, 5))):
        y0, x0 = int(rng.integers(0, height)), int(rng.integers(0, width))
        mask[y0:y0 + int(rng.integers(1, height + 1)), x0:x0 + int(rng.integers(1, width + 1))] = True
    if rng.random() < 0.3:
        mask &= rng.random(shape) < 0.7
    if not mask.any():
        mask[0, 0] = True
    return mask


def write_image_tree(root: Path, layout=CRASH_LAYOUT, seed: int = 0, masked: int = 2) -> tuple[Path, Path]:
    """IMAGES/{split}/{class}/{stem}.png per ``layout``, and MASKS for the first ``masked`` images."""
    rng = np.random.default_rng(seed)
    images, masks = root / "images", root / "masks"
    for k, (split, cls, stem, width, height) in enumerate(layout):
        write_png(images / split / cls / f"{stem}.png", draw_image(rng, width, height, CLASSES.index(cls)))
        if k < masked:
            mask = random_mask(rng, (height, width))
            write_png(masks / split / cls / f"{stem}.png", mask.astype(np.uint8) * 255)
    masks.mkdir(parents=True, exist_ok=True)
    return images, masks


def make_project(root: Path, layout=CRASH_LAYOUT, seed: int = 0) -> Path:
    """A closed project at ``root / 'project'`` over a generated tree at ``root / 'data'``."""
    images, masks = write_image_tree(root / "data", layout, seed)
    create_project(root / "project", images, masks).close()
    return root / "project"


def add_judgeable_version(project_dir: Path) -> int:
    """A version row to hang judgements on (marked cancelled: it has no checkpoint to be checked)."""
    with Project.open(project_dir) as project:
        version = project.create_version(None, "baseline", "tiny", "features", 32, {"purpose": "reliability trials"})
        project.finish_version(version, "cancelled", note="made by the reliability harness to hold judgements")
    return version


def copy_project(template: Path, dest: Path) -> Path:
    """A private copy of a closed project (its images root stays the template's absolute path)."""
    shutil.copytree(template, dest, symlinks=True)
    return dest
