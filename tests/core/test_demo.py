"""core/demo.py: the generated dataset with a planted background shortcut."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from gradia_desktop.core import demo
from gradia_desktop.core.demo import CLASSES, SIZE, generate_demo, loose_mask
from gradia_desktop.core.images import read_mask, read_rgb
from gradia_desktop.core.project_init import create_project
from gradia_desktop.errors import GradiaError

from .conftest import TINY_COUNTS, partial_leftovers

KERNEL3 = np.ones((3, 3), np.uint8)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []


def hue_family(rgb: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    """Share of ``where`` pixels with a warm (OpenCV hue ~0..22) and a cool (~95..125) background hue."""
    hue = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 0][where].astype(int)
    shifted = (hue + 30) % 180  # warm hues straddle 0/180; shift them to 30..52 (+-3 texture wobble)
    warm = ((shifted >= 20) & (shifted <= 62)).mean()
    cool = ((shifted >= 115) & (shifted <= 165)).mean()
    return float(warm), float(cool)


@pytest.fixture(scope="module")
def fully_masked(tmp_path_factory) -> Path:
    """Every image masked (loose train masks, exact val/test masks); many test images for the randomness."""
    return generate_demo(tmp_path_factory.mktemp("demo_full") / "ds", seed=11, mask_fraction=1.0,
                         counts={"train": 5, "val": 3, "test": 16})


# ---- layout -----------------------------------------------------------------------------------

def test_layout_names_and_sizes(demo_dataset):
    for split, n in TINY_COUNTS.items():
        for cls in CLASSES:
            assert names(demo_dataset / "images" / split / cls) == [f"{cls}_{split}_{i:04d}.png" for i in range(n)]
    assert sorted(os.listdir(demo_dataset)) == ["images", "masks"]
    for path in (demo_dataset / "images").rglob("*.png"):
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8
    for path in (demo_dataset / "masks").rglob("*.png"):
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert raw.shape == (SIZE, SIZE) and raw.dtype == np.uint8
        assert set(np.unique(raw).tolist()) == {0, 255}
        assert (demo_dataset / "images" / path.relative_to(demo_dataset / "masks")).is_file()


def test_returns_resolved_path_and_leaves_no_stage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = generate_demo("ds", seed=1, counts={"train": 1, "val": 1, "test": 0})
    assert out == (tmp_path / "ds").resolve() and out.is_absolute()
    assert os.listdir(tmp_path) == ["ds"]
    assert not (out / "images" / "test").exists()


def test_masks_on_a_fraction_of_train_and_all_of_val_test(demo_dataset):
    for cls in CLASSES:
        train_masks = names(demo_dataset / "masks" / "train" / cls)
        assert len(train_masks) == round(0.5 * TINY_COUNTS["train"]) == 3
        assert set(train_masks) < set(names(demo_dataset / "images" / "train" / cls))
        for split in ("val", "test"):
            assert names(demo_dataset / "masks" / split / cls) == names(demo_dataset / "images" / split / cls)


@pytest.mark.parametrize("fraction,per_class", [(0.0, 0), (0.34, 2), (1.0, 6), (0.15, 1)])
def test_mask_fraction_rounding(tmp_path, fraction, per_class):
    out = generate_demo(tmp_path / "ds", seed=2, mask_fraction=fraction, counts={"train": 6, "val": 1, "test": 0})
    for cls in CLASSES:
        assert len(names(out / "masks" / "train" / cls)) == per_class == round(6 * fraction)
        assert len(names(out / "masks" / "val" / cls)) == 1


@pytest.mark.parametrize("fraction", [-0.1, 1.01, float("nan")])
def test_bad_mask_fraction(tmp_path, fraction):
    with pytest.raises(GradiaError) as exc:
        generate_demo(tmp_path / "ds", mask_fraction=fraction, counts={"train": 1, "val": 0, "test": 0})
    msg = str(exc.value)
    assert "\n" not in msg and "mask fraction" in msg and str(fraction) in msg
    assert os.listdir(tmp_path) == []


def test_progress_reports_reach_the_total(tmp_path):
    calls = []
    generate_demo(tmp_path / "ds", seed=0, counts={"train": 20, "val": 3, "test": 3},
                  progress=lambda *a: calls.append(a))
    total = (20 + 3 + 3) * len(CLASSES)
    assert calls == [("generating demo images", 50, total), ("generating demo images", total, total)]


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def broken(path, rgb, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        demo_write(path, rgb, **kwargs)

    demo_write = demo.write_rgb_png
    monkeypatch.setattr(demo, "write_rgb_png", broken)
    with pytest.raises(OSError):
        generate_demo(tmp_path / "ds", seed=0, counts=TINY_COUNTS)
    assert os.listdir(tmp_path) == []
    assert partial_leftovers(tmp_path) == []


def test_non_empty_output_folder_is_a_gradia_error(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(GradiaError):
        generate_demo(out, seed=0, counts={"train": 1, "val": 0, "test": 0})
    assert os.listdir(out) == ["keep.txt"]


def test_existing_empty_output_folder_is_fine(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    generate_demo(out, seed=0, counts={"train": 1, "val": 0, "test": 0})
    assert len(list((out / "images").rglob("*.png"))) == 2


# ---- determinism --------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes(tmp_path, demo_dataset):
    again = generate_demo(tmp_path / "again", seed=7, mask_fraction=0.5, counts=TINY_COUNTS)
    a, b = tree_bytes(demo_dataset), tree_bytes(again)
    assert len(a) == (6 + 2 + 2) * 2 + (3 + 2 + 2) * 2
    assert a == b


def test_different_seed_gives_different_data(tmp_path, demo_dataset):
    other = generate_demo(tmp_path / "other", seed=8, mask_fraction=0.5, counts=TINY_COUNTS)
    a, b = tree_bytes(demo_dataset), tree_bytes(other)
    images_a = {k: v for k, v in a.items() if k.startswith("images/")}
    images_b = {k: v for k, v in b.items() if k.startswith("images/")}
    assert images_a.keys() == images_b.keys()
    assert all(images_a[k] != images_b[k] for k in images_a)  # every single image differs
    # and the choice of masked training images is (almost surely) different too
    assert {k for k in a if k.startswith("masks/train")} != {k for k in b if k.startswith("masks/train")}


# ---- the shortcut ---------------------------------------------------------------------------------

def test_background_hue_is_tied_to_class_in_train(fully_masked):
    # outside the (loose) training mask there is only background
    for cls, family in zip(CLASSES, ("warm", "cool")):
        for path in sorted((fully_masked / "images" / "train" / cls).glob("*.png")):
            outside = ~read_mask(fully_masked / "masks" / "train" / cls / path.name)
            warm, cool = hue_family(read_rgb(path), outside)
            assert (warm if family == "warm" else cool) > 0.95, (path.name, warm, cool)


def test_background_hue_is_tied_to_class_in_train_border_only(demo_dataset):
    # without masks: the 1-px frame never holds the object (see test_object_stays_off_the_border)
    frame = np.ones((SIZE, SIZE), bool)
    frame[1:-1, 1:-1] = False
    for cls, family in zip(CLASSES, ("warm", "cool")):
        for path in sorted((demo_dataset / "images" / "train" / cls).glob("*.png")):
            warm, cool = hue_family(read_rgb(path), frame)
            assert (warm if family == "warm" else cool) > 0.95, (path.name, warm, cool)


def test_background_hue_is_tied_to_class_in_val(fully_masked):
    for cls, family in zip(CLASSES, ("warm", "cool")):
        for path in sorted((fully_masked / "images" / "val" / cls).glob("*.png")):
            outside = ~read_mask(fully_masked / "masks" / "val" / cls / path.name)
            warm, cool = hue_family(read_rgb(path), outside)
            assert (warm if family == "warm" else cool) > 0.95, (path.name, warm, cool)


def test_background_hue_is_random_in_test(fully_masked):
    for cls in CLASSES:
        families = []
        for path in sorted((fully_masked / "images" / "test" / cls).glob("*.png")):
            outside = ~read_mask(fully_masked / "masks" / "test" / cls / path.name)
            warm, cool = hue_family(read_rgb(path), outside)
            assert max(warm, cool) > 0.95  # each image still has one clear family...
            families.append("warm" if warm > cool else "cool")
        # ...but which one is not tied to the class: both occur (16 images each; by chance all-one is 2**-15)
        assert 3 <= families.count("warm") <= 13, (cls, families)


def test_objects_are_dark_or_light_against_a_mid_tone_background(fully_masked):
    # the object's colour does not depend on the class; it is dark (V 20-70) or light (V 195-245)
    values = []
    for split in ("val", "test"):
        for path in sorted((fully_masked / "images" / split).rglob("*.png")):
            m = read_mask(fully_masked / "masks" / split / path.parent.name / path.name)
            value = float(np.median(read_rgb(path)[m].astype(np.float32), axis=0).max())
            assert value < 85 or value > 180, (path.name, value)
            values.append(value)
    assert min(values) < 85 and max(values) > 180  # both kinds occur


# ---- exact and loose masks ------------------------------------------------------------------------

@pytest.mark.parametrize("split", ["val", "test"])
def test_val_and_test_masks_are_exact(fully_masked, split):
    for path in sorted((fully_masked / "images" / split).rglob("*.png")):
        rgb = read_rgb(path).astype(np.float32)
        m = read_mask(fully_masked / "masks" / split / path.parent.name / path.name)
        inside = rgb[m]
        # one flat colour plus N(0, 8) noise: nothing of the background inside...
        assert inside.std(axis=0).max() < 12, path.name
        # ...and nothing of the object just outside
        ring = cv2.dilate(m.astype(np.uint8), KERNEL3).astype(bool) & ~m
        colour = np.median(inside, axis=0)
        assert (np.linalg.norm(rgb[ring] - colour, axis=1) < 30).mean() < 0.05, path.name


def test_train_masks_are_loose(fully_masked):
    for path in sorted((fully_masked / "images" / "train").rglob("*.png")):
        rgb = read_rgb(path).astype(np.float32)
        m = read_mask(fully_masked / "masks" / "train" / path.parent.name / path.name)
        # the rim spills background into the mask: far more colour variation than the flat object
        assert rgb[m].std(axis=0).max() > 20, path.name
    train_area = np.mean([read_mask(p).sum() for p in (fully_masked / "masks" / "train").rglob("*.png")])
    val_area = np.mean([read_mask(p).sum() for p in (fully_masked / "masks" / "val").rglob("*.png")])
    assert train_area > 1.3 * val_area


@pytest.mark.parametrize("seed", range(12))
def test_loose_mask_is_a_bounded_superset(seed):
    rng = np.random.default_rng(seed)
    exact = demo._object_mask(rng, CLASSES[seed % 2])
    loose = loose_mask(rng, exact)
    assert loose.dtype == bool and loose.shape == exact.shape == (SIZE, SIZE)
    assert not (exact & ~loose).any()  # exact is inside loose
    assert loose.sum() > exact.sum() + 30  # and loose is clearly larger
    grown2 = cv2.dilate(exact.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))).astype(bool)
    assert not (grown2 & ~loose).any()  # grows at least 2 px all round
    grown7 = cv2.dilate(exact.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    assert not (loose & ~grown7).any()  # but only a few px: never beyond 7


def test_loose_mask_is_deterministic_in_the_rng():
    exact = demo._object_mask(np.random.default_rng(0), "disc")
    a = loose_mask(np.random.default_rng(5), exact)
    b = loose_mask(np.random.default_rng(5), exact)
    c = loose_mask(np.random.default_rng(6), exact)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("cls", CLASSES)
def test_object_stays_off_the_border(cls):
    rng = np.random.default_rng(123)
    for _ in range(60):
        m = demo._object_mask(rng, cls)
        assert not m[0].any() and not m[-1].any() and not m[:, 0].any() and not m[:, -1].any()
        assert 150 < m.sum() < 700
        n_labels, _ = cv2.connectedComponents(m.astype(np.uint8))
        assert n_labels == 2  # background + one object


def test_disc_and_cross_shapes_differ():
    rng = np.random.default_rng(9)

    def fill_ratio(m):  # object area / bounding-box area: ~pi/4 for a disc, much lower for a plus
        ys, xs = np.nonzero(m)
        return m.sum() / ((np.ptp(ys) + 1) * (np.ptp(xs) + 1))

    discs = [fill_ratio(demo._object_mask(rng, "disc")) for _ in range(20)]
    crosses = [fill_ratio(demo._object_mask(rng, "cross")) for _ in range(20)]
    assert min(discs) > 0.7 and max(crosses) < 0.7


# ---- fits the project importer ---------------------------------------------------------------------

def test_demo_imports_as_a_project(demo_dataset, tmp_path):
    with create_project(tmp_path / "p", demo_dataset / "images", demo_dataset / "masks") as p:
        assert p.classes == sorted(CLASSES)
        assert len(p.samples()) == sum(TINY_COUNTS.values()) * 2
        assert len(p.samples(split="train", has_mask=True)) == 6
        assert len(p.samples(split="val", has_mask=False)) == 0
        s = p.samples(split="test")[0]
        assert (s.width, s.height) == (SIZE, SIZE)
