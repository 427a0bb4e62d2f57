"""Shared fixtures for the core tests: tiny hand-made image trees, projects and demo datasets."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from gradia_desktop.core.demo import generate_demo
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.store import Project

TINY_COUNTS = {"train": 6, "val": 2, "test": 2}  # per class, for generate_demo

# The hand-made tree used by `tree` / `project`. Ids follow create_project's order: split
# (train, val, test), then class folder, then file name, all sorted.
W, H = 24, 16  # default image size (width x height), deliberately not square
ODD_W, ODD_H = 20, 12  # train/dog/d2.png has this size
LAYOUT = {
    "train": {"cat": ["c0.png", "c1.png", "c2.png"], "dog": ["d0.png", "d1.png", "d2.png"]},
    "val": {"cat": ["c3.png"], "dog": ["d3.png"]},
    "test": {"cat": ["c4.png"], "dog": ["d4.png"]},
}
# id -> (split, class, file): 1..3 train/cat, 4..6 train/dog, 7 val/cat, 8 val/dog, 9 test/cat, 10 test/dog
IDS = {i: (split, cls, name)
       for i, (split, cls, name) in enumerate(
           ((s, c, n) for s, classes in LAYOUT.items() for c, names in classes.items() for n in names), 1)}
MASKED = {("train", "cat", "c0"), ("val", "cat", "c3"), ("test", "dog", "d4")}  # ids 1, 7, 10


def encode_png(array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", array)
    assert ok
    return buf.tobytes()


def write_image(path: Path, width: int = W, height: int = H, seed: int = 0) -> Path:
    """A small random BGR image at ``path`` (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(path.suffix if path.suffix.lower() in {".png", ".jpg", ".bmp"} else ".png", img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def square_mask(width: int = W, height: int = H, box=(2, 3, 8, 10)) -> np.ndarray:
    """A bool mask with a filled rectangle (y0, x0, y1, x1)."""
    m = np.zeros((height, width), bool)
    y0, x0, y1, x1 = box
    m[y0:y1, x0:x1] = True
    return m


def write_mask_file(path: Path, mask: np.ndarray, value: int = 255) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(np.where(mask, value, 0).astype(np.uint8)))
    return path


@dataclass
class Tree:
    root: Path
    images: Path
    masks: Path
    masks_written: dict = field(default_factory=dict)  # (split, class, stem) -> bool mask


def build_tree(root: Path, layout=LAYOUT, masked=MASKED) -> Tree:
    images, masks = root / "IMAGES", root / "MASKS"
    tree = Tree(root, images, masks)
    seed = 0
    for split, classes in layout.items():
        for cls, names in classes.items():
            for name in names:
                seed += 1
                size = (ODD_W, ODD_H) if (split, cls, name) == ("train", "dog", "d2.png") else (W, H)
                write_image(images / split / cls / name, *size, seed=seed)
                stem = Path(name).stem
                if (split, cls, stem) in masked:
                    m = square_mask(*size, box=(1 + seed % 3, 2, 9, 7 + seed % 5))
                    write_mask_file(masks / split / cls / f"{stem}.png", m)
                    tree.masks_written[(split, cls, stem)] = m
    masks.mkdir(parents=True, exist_ok=True)
    return tree


@pytest.fixture
def tree(tmp_path) -> Tree:
    """A fresh IMAGES/{train,val,test}/{cat,dog}/*.png tree (random 24x16 px) with MASKS for 3 images."""
    return build_tree(tmp_path / "data")


@pytest.fixture(scope="session")
def shared_tree(tmp_path_factory) -> Tree:
    """The same tree, built once per session: the image root of `project`. Do not modify it."""
    return build_tree(tmp_path_factory.mktemp("shared") / "data")


@pytest.fixture(scope="session")
def project_template(shared_tree, tmp_path_factory) -> Path:
    """A closed project over `shared_tree` with its masks, created once (creation fsyncs a lot)."""
    root = tmp_path_factory.mktemp("template") / "proj"
    create_project(root, shared_tree.images, shared_tree.masks).close()
    return root


@pytest.fixture
def project(project_template, tmp_path):
    """A private copy of `project_template`, opened read-write; closed after the test."""
    root = tmp_path / "proj"
    shutil.copytree(project_template, root)
    p = Project.open(root)
    yield p
    p.close()


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory) -> Path:
    """A tiny demo dataset, seed 7, half the training images masked."""
    return generate_demo(tmp_path_factory.mktemp("demo") / "ds", seed=7, mask_fraction=0.5, counts=TINY_COUNTS)


def partial_leftovers(parent: Path) -> list[str]:
    """Staging folders / temp files that a failed operation might have left in ``parent``."""
    if not parent.is_dir():
        return []
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and
                  (p.name.endswith(".partial") or ".tmp" in p.name))


def listing(folder: Path) -> list[str]:
    """Every path under ``folder``, relative, sorted (for 'nothing changed' checks)."""
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, dirs, files in os.walk(folder) for f in files + dirs)
