"""core/mask_rule.py through images.read_mask: which files are masks, and how values become attention."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gradia_desktop.core import images
from gradia_desktop.core.mask_rule import MaskRule
from gradia_desktop.errors import GradiaError

from .image_samples import encode

SHAPE = (12, 16)
BOX = np.zeros(SHAPE, bool)
BOX[3:9, 4:12] = True
PHOTO = np.random.default_rng(7).integers(0, 256, (*SHAPE, 3), dtype=np.uint8)


def write(tmp_path, data: bytes, name: str = "m.png"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path, rule=None) -> str:
    with pytest.raises(GradiaError) as exc:
        images.read_mask(path, rule)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    return msg


def antialiased() -> np.ndarray:
    m = np.where(BOX, 255, 0).astype(np.uint8)
    m[2, 3:13] = np.linspace(20, 230, 10).astype(np.uint8)  # a soft edge
    return m


# ---- accepted as they are ------------------------------------------------------------------------
CORNER = np.zeros(SHAPE, bool)
CORNER[:2, :2] = True


@pytest.mark.parametrize("name,array,expected", [
    ("0/255 grey", np.where(BOX, 255, 0).astype(np.uint8), BOX),
    ("0/1 grey", BOX.astype(np.uint8), BOX),
    ("0/255 saved as RGB", np.dstack([np.where(BOX, 255, 0).astype(np.uint8)] * 3), BOX),
    ("0/255 RGBA, alpha ignored",
     np.dstack([np.where(BOX, 255, 0).astype(np.uint8)] * 3 + [np.full(SHAPE, 9, np.uint8)]), BOX),
    ("0/65535 16-bit", np.where(BOX, 65535, 0).astype(np.uint16), BOX),
    ("class ids 0/1/2", (BOX + 2 * CORNER).astype(np.uint8), BOX | CORNER),
    ("one colour on black", np.where(BOX[..., None], np.array([83, 50, 250], np.uint8), 0).astype(np.uint8), BOX),
])
def test_clear_masks_are_accepted(tmp_path, name, array, expected):
    np.testing.assert_array_equal(images.read_mask(write(tmp_path, encode(".png", array))), expected)


def test_a_palette_label_png_counts_every_label_colour_but_black(tmp_path):
    # CVAT / Supervisely / labelme write palette PNGs: background black, one colour per class
    labels = np.zeros(SHAPE, np.uint8)
    labels[BOX] = 1
    labels[0, :3] = 2
    im = Image.fromarray(labels, "P")
    im.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759)
    path = tmp_path / "labels.png"
    im.save(path)
    np.testing.assert_array_equal(images.read_mask(path), labels > 0)


def test_float_masks_treat_nan_as_background(tmp_path):
    m = BOX.astype(np.float32)
    m[0, 0] = np.nan
    np.testing.assert_array_equal(images.read_mask(write(tmp_path, encode(".tiff", m), "m.tiff")), BOX)


def test_an_empty_and_a_full_mask(tmp_path):
    assert not images.read_mask(write(tmp_path, encode(".png", np.zeros(SHAPE, np.uint8)), "a.png")).any()
    assert images.read_mask(write(tmp_path, encode(".png", np.full(SHAPE, 255, np.uint8)), "b.png")).all()


# ---- refused by default, each in one line naming the file --------------------------------------
def test_a_colour_photograph_is_not_a_mask(tmp_path):
    msg = refused(write(tmp_path, encode(".png", PHOTO)))
    assert "a colour image, not a mask" in msg and "--mask-channel" in msg


def test_a_grey_photograph_is_not_a_mask(tmp_path):
    assert "not a clear mask: more than 17 grey levels" in refused(write(tmp_path, encode(".png", PHOTO[..., 0])))


def test_a_jpeg_mask_is_refused_as_lossy_and_read_with_a_threshold(tmp_path):
    path = write(tmp_path, encode(".jpg", np.where(BOX, 255, 0).astype(np.uint8)), "m.jpg")
    msg = refused(path)
    assert "JPEG mask is lossy" in msg and "--mask-threshold 127" in msg
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(threshold=127)), BOX)


def test_a_photograph_named_png_but_holding_jpeg_is_refused(tmp_path):
    assert "JPEG mask is lossy" in refused(write(tmp_path, encode(".jpg", PHOTO), "photo.png"))


def test_antialiased_edges_need_a_threshold(tmp_path):
    path = write(tmp_path, encode(".png", antialiased()))
    assert "not a clear mask: grey levels from 20 to 255 besides 0" in refused(path)
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(threshold=127)), antialiased() > 127)


def test_levels_without_background_are_refused(tmp_path):
    assert "no background (0)" in refused(write(tmp_path, encode(".png", np.where(BOX, 255, 200).astype(np.uint8))))


def test_label_colours_without_black_are_refused(tmp_path):
    colours = np.where(BOX[..., None], np.array([0, 0, 255], np.uint8), np.array([255, 255, 255], np.uint8))
    assert "no black background" in refused(write(tmp_path, encode(".png", colours.astype(np.uint8))))


# ---- opting in: threshold and channel ------------------------------------------------------------
def test_a_threshold_reads_a_colour_image_by_its_largest_channel(tmp_path):
    path = write(tmp_path, encode(".png", PHOTO))
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(threshold=200)), PHOTO.max(axis=2) > 200)


@pytest.mark.parametrize("channel,index", [("r", 2), ("g", 1), ("b", 0)])
def test_a_channel_with_a_threshold(tmp_path, channel, index):
    path = write(tmp_path, encode(".png", PHOTO))
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(threshold=100, channel=channel)),
                                  PHOTO[..., index] > 100)


def test_a_channel_without_threshold_must_be_clear(tmp_path):
    bgr = np.zeros((*SHAPE, 3), np.uint8)
    bgr[..., 2] = np.where(BOX, 255, 0)  # a red overlay ...
    bgr[..., 1] = PHOTO[..., 1]  # ... drawn over a photograph's green
    path = write(tmp_path, encode(".png", bgr))
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(channel="r")), BOX)
    assert "not a clear mask" in refused(path, MaskRule(channel="g"))


def test_the_alpha_channel(tmp_path):
    bgra = np.zeros((*SHAPE, 4), np.uint8)
    bgra[..., 3] = np.where(BOX, 255, 0)  # black strokes on a transparent background
    path = write(tmp_path, encode(".png", bgra))
    assert not images.read_mask(path).any()  # alpha is not read unless asked for
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(channel="a")), BOX)
    no_alpha = write(tmp_path, encode(".png", np.zeros(SHAPE, np.uint8)), "grey.png")
    assert "no alpha channel" in refused(no_alpha, MaskRule(channel="a"))


def test_a_threshold_is_on_the_0_255_scale_for_every_depth(tmp_path):
    deep = np.where(BOX, 40000, 20000).astype(np.uint16)  # 155.6 and 77.8 on the 0-255 scale
    path = write(tmp_path, encode(".png", deep))
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(threshold=127)), BOX)
    floats = np.where(BOX, 0.9, 0.2).astype(np.float32)
    path = write(tmp_path, encode(".tiff", floats), "f.tiff")
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(threshold=127)), BOX)


@pytest.mark.parametrize("kwargs,problem", [
    ({"threshold": 255}, "mask threshold 255: must be at least 0 and below 255"),
    ({"threshold": -1}, "must be at least 0"),
    ({"threshold": float("nan")}, "must be at least 0"),
    ({"channel": "z"}, "mask channel 'z': expected one of r, g, b, a, max"),
])
def test_bad_rules_are_named(kwargs, problem):
    with pytest.raises(GradiaError, match=problem):
        MaskRule(**kwargs)
