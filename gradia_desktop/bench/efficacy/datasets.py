"""Generated shortcut datasets for the efficacy suite, one axis varied at a time.

Every cell has two classes of objects over a noisy background. In train and val a *shortcut* is
tied to the class; in test it is random, so a model that learned the shortcut falls towards chance
there. The axes:

- shortcut: ``tint`` (the background's hue family), ``texture`` (the background's pattern),
  ``mark`` (a small coloured tag at a random place), ``position`` (the object's side of the
  image), ``distractor`` (a second, unrelated object that comes with one class);
- objects: ``shapes`` (disc / cross), ``glyphs`` (the letters A / B), ``textures`` (a striped /
  checked patch), at ``high`` or ``low`` contrast against the background's noise (a third class
  adds a triangle, a C or a dotted patch);
- masks: the share of training images that carry one, and their style: ``exact``, ``dilated``
  (3 px wider), ``loose`` (2-5 px wider with a wobbly hand-drawn rim) or ``box`` (the bounding box);
- the task: two or three classes; one kind of object per class or two (shapes only: disc or
  square, cross or ring, triangle or bar), so that the few masked images do not show every kind;
- the cue's strength: on every train and val image, or on a share of them (the rest carry another
  class's cue);
- validation masks: by default on at least a fifth of the validation images (the shortcut probe
  needs some), or none, as when only training images were painted: then model selection cannot see
  the shortcut.

Test images carry exact masks on all of them, for IoU and energy only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ...core.atomic import staged_directory
from ...core.images import write_mask_png, write_rgb_png

SHORTCUTS = ("tint", "texture", "mark", "position", "distractor")
OBJECTS = ("shapes", "glyphs", "textures")
CONTRASTS = ("high", "low")
MASK_STYLES = ("exact", "dilated", "loose", "box")
CLASS_NAMES = {"shapes": ("disc", "cross", "triangle"), "glyphs": ("letter_a", "letter_b", "letter_c"),
               "textures": ("stripes", "checks", "dots")}
MAX_CLASSES = 3
SIZE = 64
TINT_HUES = ((0, 22), (95, 125), (40, 65))  # OpenCV hue units (0-180) of each class's background
MARK_COLOURS = ((235, 215, 30), (200, 40, 210), (30, 200, 230))
SHAPE_KINDS = (("disc", "square"), ("cross", "ring"), ("triangle", "bar"))


@dataclass(frozen=True)
class Cell:
    shortcut: str = "tint"
    objects: str = "shapes"
    contrast: str = "high"
    mask_fraction: float = 0.10
    mask_style: str = "loose"
    counts: tuple[int, int, int] = (150, 50, 100)  # per class: train, val, test
    classes: int = 2
    kinds: int = 1  # kinds of object per class (shapes only)
    cue_rate: float = 1.0  # share of train and val images whose cue is their own class's
    val_masks: bool = True

    @property
    def name(self) -> str:
        name = f"{self.shortcut}/{self.objects}-{self.contrast}/masks {self.mask_fraction:.0%} {self.mask_style}"
        if self.classes != 2:
            name += f"/{self.classes} classes"
        if self.kinds != 1:
            name += f"/{self.kinds} kinds per class"
        if self.cue_rate != 1.0:
            name += f"/cue on {self.cue_rate:.0%}"
        if not self.val_masks:
            name += "/no val masks"
        return name

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES[self.objects][:self.classes]

    def check(self) -> None:
        if not 2 <= self.classes <= MAX_CLASSES:
            raise ValueError(f"a cell has 2 to {MAX_CLASSES} classes, not {self.classes}")
        if self.kinds not in (1, 2) or (self.kinds == 2 and self.objects != "shapes"):
            raise ValueError("two kinds of object per class exist for shapes only")
        if not 0 < self.cue_rate <= 1:
            raise ValueError(f"the cue rate is a share above 0, not {self.cue_rate}")

    def with_(self, **changes) -> Cell:
        return replace(self, **changes)


def _noise_background(rng: np.random.Generator, hue_range: tuple[float, float]) -> np.ndarray:
    coarse = cv2.resize(rng.random((6, 6)).astype(np.float32), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    hue = rng.uniform(*hue_range) + 6 * (coarse - 0.5)
    sat = np.clip(rng.uniform(90, 180) + 60 * (coarse - 0.5), 0, 255)
    val = np.clip(rng.uniform(115, 165) + 50 * (rng.random((SIZE, SIZE)) - 0.5), 0, 255)
    hsv = np.stack([np.mod(hue, 180), sat, val], axis=-1).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _pattern(kind: int, rng: np.random.Generator, period: float) -> np.ndarray:
    """A 0/1 pattern over the image: 0 = stripes at a random angle, 1 = checks, 2 = a grid of dots."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    phase = rng.uniform(0, period)
    if kind == 0:
        angle = rng.uniform(0, np.pi)
        return ((np.cos(angle) * xx + np.sin(angle) * yy + phase) % period < period / 2).astype(np.float32)
    if kind == 2:
        return (((xx + phase) % period < period / 3) & ((yy + phase) % period < period / 3)).astype(np.float32)
    return (((xx + phase) % period < period / 2) ^ ((yy + phase) % period < period / 2)).astype(np.float32)


def _background(rng: np.random.Generator, cell: Cell, cue: int) -> np.ndarray:
    if cell.shortcut == "tint":
        return _noise_background(rng, TINT_HUES[cue])
    rgb = _noise_background(rng, (0, 180))
    if cell.shortcut == "texture":
        pattern = _pattern(cue, rng, period=rng.uniform(5, 8))
        rgb = np.clip(rgb.astype(np.float32) + 45 * (pattern[..., None] - 0.5), 0, 255).astype(np.uint8)
    return rgb


def _shape_mask(rng: np.random.Generator, kind: str, centre: tuple[float, float], radius: float) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cx, cy = centre
    fixed = lambda points: np.round(np.asarray(points) * 16).astype(np.int32)  # noqa: E731 - 4 fractional bits
    if kind in ("disc", "ring"):
        thickness = -1 if kind == "disc" else max(1, round(radius * 0.35))
        r = radius if kind == "disc" else 0.8 * radius
        cv2.ellipse(mask, (round(cx * 16), round(cy * 16)), (round(r * 16),) * 2, 0, 0, 360, 1, thickness,
                    cv2.LINE_8, 4)
    elif kind == "cross":
        angle = rng.uniform(0, 90)
        for arm in (0, 90):
            cv2.fillPoly(mask, [fixed(cv2.boxPoints(((cx, cy), (2.1 * radius, 0.75 * radius), angle + arm)))],
                         1, cv2.LINE_8, 4)
    elif kind in ("square", "bar"):
        size = (1.6 * radius, 1.6 * radius) if kind == "square" else (2.1 * radius, 0.6 * radius)
        cv2.fillPoly(mask, [fixed(cv2.boxPoints(((cx, cy), size, rng.uniform(0, 180))))], 1, cv2.LINE_8, 4)
    else:  # triangle
        a = rng.uniform(0, 2 * np.pi)
        corners = [(cx + radius * np.cos(a + k * 2 * np.pi / 3), cy + radius * np.sin(a + k * 2 * np.pi / 3))
                   for k in range(3)]
        cv2.fillPoly(mask, [fixed(corners)], 1, cv2.LINE_8, 4)
    return mask.astype(bool)


def _glyph_mask(rng: np.random.Generator, cls: int, centre: tuple[float, float], radius: float) -> np.ndarray:
    text = "ABC"[cls]
    scale = radius / 11
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 3)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.putText(mask, text, (SIZE // 2 - w // 2, SIZE // 2 + h // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, 1, 3)
    turn = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), rng.uniform(-20, 20), 1.0)
    turn[:, 2] += (centre[0] - SIZE / 2, centre[1] - SIZE / 2)
    return cv2.warpAffine(mask, turn, (SIZE, SIZE), flags=cv2.INTER_NEAREST).astype(bool)


def _object(rng: np.random.Generator, cell: Cell, cls: int, centre, radius) -> tuple[np.ndarray, np.ndarray | None]:
    """(mask, 0/1 pattern inside it or None)."""
    if cell.objects == "glyphs":
        return _glyph_mask(rng, cls, centre, radius), None
    if cell.objects == "textures":
        return _shape_mask(rng, "disc", centre, radius), _pattern(cls, rng, period=rng.uniform(4, 6))
    kind = SHAPE_KINDS[cls][int(rng.integers(2)) if cell.kinds == 2 else 0]
    return _shape_mask(rng, kind, centre, radius), None


def _paint(rng: np.random.Generator, rgb: np.ndarray, mask: np.ndarray, pattern: np.ndarray | None,
           contrast: str) -> np.ndarray:
    out = rgb.astype(np.float32)
    if contrast == "high":
        value = rng.choice([rng.uniform(20, 70), rng.uniform(195, 245)])
        noise = 8
    else:  # close to the background's own level, under the same noise
        value = float(out[~mask].mean()) + rng.choice([-1, 1]) * rng.uniform(22, 32)
        noise = 18
    colour = np.full(3, value, np.float32) + rng.normal(0, 10, 3)
    shade = colour + rng.normal(0, noise, size=rgb.shape)
    if pattern is not None:
        shade += (70 if contrast == "high" else 35) * (pattern[..., None] - 0.5)
    out[mask] = shade[mask]
    return np.clip(out, 0, 255).astype(np.uint8)


def _free_spot(rng: np.random.Generator, taken: np.ndarray, half: int) -> tuple[int, int] | None:
    for _ in range(50):
        x, y = (int(v) for v in rng.integers(half + 1, SIZE - half - 1, 2))
        if not taken[y - half - 1:y + half + 2, x - half - 1:x + half + 2].any():
            return x, y
    return None


def _add_mark(rng: np.random.Generator, rgb: np.ndarray, taken: np.ndarray, cue: int) -> tuple[int, int, int, int] | None:
    """Paint the tag; its box (y0, y1, x0, x1), end-exclusive, or None where there was no room."""
    spot = _free_spot(rng, taken, 3)
    if spot is None:
        return None
    x, y = spot
    rgb[y - 3:y + 4, x - 3:x + 4] = MARK_COLOURS[cue]
    return y - 3, y + 4, x - 3, x + 4


def _add_distractor(rng: np.random.Generator, rgb: np.ndarray, taken: np.ndarray) -> None:
    spot = _free_spot(rng, taken, 6)
    if spot is not None:
        x, y = spot
        triangle = np.array([[x, y - 6], [x - 6, y + 5], [x + 6, y + 5]], np.int32)
        cv2.fillPoly(rgb, [triangle], tuple(int(v) for v in rng.integers(0, 256, 3)))


def styled_mask(rng: np.random.Generator, exact: np.ndarray, style: str) -> np.ndarray:
    """The mask an annotator would have drawn around ``exact`` in ``style``."""
    if style == "exact":
        return exact
    if style == "dilated":
        return cv2.dilate(exact.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))).astype(bool)
    if style == "box":
        ys, xs = np.nonzero(exact)
        box = np.zeros_like(exact)
        box[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
        return box
    grow = int(rng.integers(2, 6))  # loose: wider by 2-5 px with a wobbly rim
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    mask = cv2.dilate(exact.astype(np.uint8), kernel)
    wobble = cv2.resize(rng.random((8, 8)).astype(np.float32), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    ring = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))).astype(bool) & ~mask.astype(bool)
    return mask.astype(bool) | (ring & (wobble > 0.6)) | exact


def make_image(rng: np.random.Generator, cell: Cell, cls: int, cue: int,
               marks: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One (RGB, exact object mask) pair of class ``cls`` whose shortcut says ``cue``; with ``marks``
    (a "mark" cell), the tag's box or None is appended to it."""
    rgb = _background(rng, cell, cue)
    radius = rng.uniform(10, 14)
    if cell.shortcut == "position":  # the object's horizontal third follows the cue: left, right, middle
        lo, hi = ((radius + 2, SIZE / 3), (2 * SIZE / 3, SIZE - radius - 2), (SIZE / 3, 2 * SIZE / 3))[cue]
        centre = (rng.uniform(lo, hi), rng.uniform(radius + 2, SIZE - radius - 2))
    else:
        centre = tuple(rng.uniform(radius + 3, SIZE - radius - 3, 2))
    exact, pattern = _object(rng, cell, cls, centre, radius)
    rgb = _paint(rng, rgb, exact, pattern, cell.contrast)
    taken = cv2.dilate(exact.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if cell.shortcut == "mark":
        box = _add_mark(rng, rgb, taken, cue)
        if marks is not None:
            marks.append(box)
    elif cell.shortcut == "distractor" and cue == 0:
        _add_distractor(rng, rgb, taken)
    return rgb, exact


def _cue(rng: np.random.Generator, cell: Cell, cls: int) -> int:
    """The cue of a train or val image of class ``cls``: its own class's, or at rate 1 - ``cue_rate``
    another class's."""
    if cell.cue_rate >= 1 or rng.random() < cell.cue_rate:
        return cls
    return int(rng.choice([c for c in range(cell.classes) if c != cls]))


def generate_cell(out_dir: str | os.PathLike, cell: Cell, seed: int, shortcut_free: bool = False) -> Path:
    """Write ``out_dir/images/{split}/{class}/*.png`` and ``out_dir/masks/...`` for one cell and seed.

    ``shortcut_free``: the cue is random in every split, not only in test - the data a model would
    have had if the shortcut had never been there (the suite's ceiling).
    """
    cell.check()
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    with staged_directory(out_dir) as stage:
        for split, per_class in zip(("train", "val", "test"), cell.counts):
            share = {"train": cell.mask_fraction, "val": max(cell.mask_fraction, 0.2) if cell.val_masks else 0.0,
                     "test": 1.0}[split]
            n_masked = min(per_class, max(1, round(per_class * share))) if share else 0
            for cls, class_name in enumerate(cell.class_names):
                masked = set(rng.choice(per_class, size=n_masked, replace=False).tolist())
                for i in range(per_class):
                    cue = _cue(rng, cell, cls) if split != "test" and not shortcut_free \
                        else int(rng.integers(cell.classes))
                    rgb, exact = make_image(rng, cell, cls, cue)
                    name = f"{class_name}_{split}_{i:04d}.png"
                    write_rgb_png(stage / "images" / split / class_name / name, rgb, atomic=False)
                    if i in masked:
                        mask = exact if split == "test" else styled_mask(rng, exact, cell.mask_style)
                        write_mask_png(stage / "masks" / split / class_name / name, mask, atomic=False)
    return out_dir
