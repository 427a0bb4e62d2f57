"""core/images.py: decoding images and masks, one-line errors, atomic PNG writes."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from gradia_desktop.core import atomic, images
from gradia_desktop.core.mask_rule import MaskRule
from gradia_desktop.errors import GradiaError

from .conftest import encode_png
from .image_samples import encode, jpeg_with_orientation, png_with_orientation


@pytest.mark.parametrize("name,expected", [
    ("a.png", True), ("A.PNG", True), ("b.JpEg", True), ("c.jpg", True), ("d.bmp", True), ("e.tif", True),
    ("f.tiff", True), ("g.webp", True), ("h.ppm", True), ("i.pgm", True),
    ("notes.txt", False), ("noext", False), ("x.png.txt", False), ("x.gif", False), (".png", False),
])
def test_is_image_name(name, expected):
    assert images.is_image_name(name) is expected


def test_read_rgb_converts_bgr_to_rgb(tmp_path):
    bgr = np.zeros((3, 5, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in OpenCV's BGR order
    bgr[0, 0] = (255, 0, 0)  # pure blue
    path = tmp_path / "red.png"
    path.write_bytes(encode_png(bgr))
    rgb = images.read_rgb(path)
    assert rgb.shape == (3, 5, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[1, 1]) == (255, 0, 0)
    assert tuple(rgb[0, 0]) == (0, 0, 255)


def test_read_rgb_grayscale_becomes_three_channels(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    path = tmp_path / "g.png"
    path.write_bytes(encode_png(gray))
    rgb = images.read_rgb(path)
    assert rgb.shape == (3, 4, 3)
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], gray)


def test_read_rgb_drops_alpha(tmp_path):
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[..., 1] = 200  # green
    bgra[..., 3] = 7  # nearly transparent, but alpha is not colour
    path = tmp_path / "a.png"
    path.write_bytes(encode_png(bgra))
    rgb = images.read_rgb(path)
    assert rgb.shape == (2, 2, 3)
    assert tuple(rgb[0, 0]) == (0, 200, 0)


def test_read_rgb_16_bit_is_scaled_by_a_fixed_factor_not_stretched(tmp_path):
    img = np.zeros((2, 3), np.uint16)
    img[0, 0] = 1000
    img[1, 2] = 60000
    path = tmp_path / "deep.png"
    path.write_bytes(encode_png(img))
    rgb = images.read_rgb(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 3, 3)
    # value / 257, the same for every image: not stretched so that 60000 becomes white
    assert rgb[0, 0, 0] == 4 and rgb[1, 2, 0] == 233 and rgb[0, 1, 0] == 0
    img[1, 1] = 65535
    path.write_bytes(encode_png(img))
    assert images.read_rgb(path)[1, 1, 0] == 255


def test_read_rgb_jpeg(tmp_path):
    img = np.full((8, 8, 3), 128, np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    path = tmp_path / "x.jpg"
    path.write_bytes(buf.tobytes())
    rgb = images.read_rgb(path)
    assert rgb.shape == (8, 8, 3)
    assert abs(int(rgb.mean()) - 128) <= 2


def test_read_rgb_non_ascii_file_name(tmp_path):
    folder = tmp_path / "ordner ü"
    folder.mkdir()
    path = folder / "bild_é.png"
    path.write_bytes(encode_png(np.full((4, 6, 3), 9, np.uint8)))
    assert images.read_rgb(path).shape == (4, 6, 3)


@pytest.mark.parametrize("content,problem", [
    (None, "file not found"),
    (b"", "empty file"),
    (b"this is definitely not a PNG file, just text bytes" * 3, "not a readable image"),
])
def test_read_rgb_errors_are_one_line_and_name_the_file(tmp_path, content, problem):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GradiaError) as exc:
        images.read_rgb(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert problem in msg


def test_read_rgb_random_bytes(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(GradiaError, match="noise.png"):
        images.read_rgb(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_read_rgb_truncated_image_is_an_error(tmp_path, suffix):
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(suffix, img)
    data = buf.tobytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GradiaError) as exc:
        images.read_rgb(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_read_rgb_on_a_folder_is_an_error(tmp_path):
    folder = tmp_path / "dir.png"
    folder.mkdir()
    with pytest.raises(GradiaError) as exc:
        images.read_rgb(folder)
    assert str(folder) in str(exc.value)


@pytest.mark.parametrize("high", [1, 200, 255])
def test_read_mask_binary_any_high_value_is_attention(tmp_path, high):
    m = np.zeros((3, 4), np.uint8)
    m[0, 0], m[1, 2], m[2, 3] = high, high, high
    path = tmp_path / "m.png"
    path.write_bytes(encode_png(m))
    got = images.read_mask(path)
    assert got.dtype == bool and got.shape == (3, 4)
    np.testing.assert_array_equal(got, m > 0)


def test_read_mask_unclear_levels_need_a_threshold(tmp_path):
    m = np.zeros((3, 4), np.uint8)
    m[0, 0], m[1, 2], m[2, 3] = 1, 128, 255
    path = tmp_path / "m.png"
    path.write_bytes(encode_png(m))
    with pytest.raises(GradiaError, match="not a clear mask.*--mask-threshold"):
        images.read_mask(path)
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(threshold=0)), m > 0)
    np.testing.assert_array_equal(images.read_mask(path, MaskRule(threshold=127)), m > 127)


def test_read_mask_colour_nonzero_in_any_channel(tmp_path):
    bgr = np.zeros((2, 3, 3), np.uint8)
    bgr[0, 0, 0] = 10  # only blue
    bgr[0, 1, 1] = 10  # only green
    bgr[1, 2, 2] = 10  # only red
    path = tmp_path / "m.png"
    path.write_bytes(encode_png(bgr))
    got = images.read_mask(path)
    expected = np.array([[True, True, False], [False, False, True]])
    np.testing.assert_array_equal(got, expected)


def test_read_mask_rgba_colour_counts(tmp_path):
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[0, 1] = (255, 255, 255, 255)
    path = tmp_path / "m.png"
    path.write_bytes(encode_png(bgra))
    np.testing.assert_array_equal(images.read_mask(path), [[False, True], [False, False]])


def test_read_mask_corrupt_is_one_line_error(tmp_path):
    path = tmp_path / "m.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(GradiaError) as exc:
        images.read_mask(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_write_mask_png_is_8bit_0_255_and_round_trips(tmp_path):
    mask = np.zeros((5, 7), np.uint8)
    mask[1:3, 2:6] = 3  # any nonzero value
    mask[4, 0] = 1
    path = tmp_path / "sub" / "m.png"
    images.write_mask_png(path, mask)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8 and raw.shape == (5, 7)
    assert set(np.unique(raw).tolist()) == {0, 255}
    np.testing.assert_array_equal(raw == 255, mask > 0)
    np.testing.assert_array_equal(images.read_mask(path), mask > 0)
    assert os.listdir(path.parent) == ["m.png"]


def test_write_mask_png_accepts_bool(tmp_path):
    mask = np.eye(4, dtype=bool)
    path = tmp_path / "m.png"
    images.write_mask_png(path, mask)
    np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), np.eye(4) * 255)


@pytest.mark.parametrize("shape", [(4,), (4, 4, 3), (1, 4, 4)])
def test_write_mask_png_rejects_non_2d(tmp_path, shape):
    path = tmp_path / "m.png"
    with pytest.raises(GradiaError) as exc:
        images.write_mask_png(path, np.ones(shape, np.uint8))
    assert "2-D" in str(exc.value) and str(path) in str(exc.value)
    assert not path.exists()


def test_write_mask_png_failure_keeps_old_mask(tmp_path, monkeypatch):
    path = tmp_path / "m.png"
    old = np.zeros((4, 4), bool)
    old[0, 0] = True
    images.write_mask_png(path, old)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError):
        images.write_mask_png(path, np.ones((4, 4), bool))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.png"]


def test_write_rgb_png_round_trips(tmp_path):
    rgb = np.random.default_rng(5).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    path = tmp_path / "deep" / "img.png"
    images.write_rgb_png(path, rgb)
    np.testing.assert_array_equal(images.read_rgb(path), rgb)
    # stored in OpenCV's BGR order, i.e. a normal PNG whose first channel on disk is blue
    np.testing.assert_array_equal(cv2.imread(str(path))[..., ::-1], rgb)


def test_write_rgb_png_accepts_non_contiguous_views(tmp_path):
    rgb = np.random.default_rng(6).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    view = rgb[::2, ::2]
    path = tmp_path / "v.png"
    images.write_rgb_png(path, view)
    np.testing.assert_array_equal(images.read_rgb(path), view)


def test_non_atomic_writes_inside_a_staging_folder(tmp_path):
    # used inside staged_directory, where the whole folder is renamed into place at the end
    mask = np.zeros((3, 3), bool)
    mask[1, 1] = True
    images.write_mask_png(tmp_path / "a" / "m.png", mask, atomic=False)
    rgb = np.full((2, 2, 3), (10, 20, 30), np.uint8)
    images.write_rgb_png(tmp_path / "b" / "i.png", rgb, atomic=False)
    np.testing.assert_array_equal(images.read_mask(tmp_path / "a" / "m.png"), mask)
    np.testing.assert_array_equal(images.read_rgb(tmp_path / "b" / "i.png"), rgb)
    assert os.listdir(tmp_path / "a") == ["m.png"] and os.listdir(tmp_path / "b") == ["i.png"]


# ---- upright images: EXIF orientation ------------------------------------------------------------
def _stored_and_oriented(orientation: int, tmp_path):
    stored = np.random.default_rng(orientation).integers(0, 256, (6, 10, 3), dtype=np.uint8)
    plain = encode_png(stored)
    path = tmp_path / f"o{orientation}.png"
    path.write_bytes(png_with_orientation(plain, orientation))
    return stored, path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_read_rgb_applies_the_exif_orientation_as_pillow_does(tmp_path, orientation):
    _, path = _stored_and_oriented(orientation, tmp_path)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))  # Pillow as the independent oracle
    np.testing.assert_array_equal(images.read_rgb(path), expected)
    upright = (6, 10) if orientation < 5 else (10, 6)
    assert images.image_size(path) == upright[::-1] == images.verify_image(path)


def test_an_exif_rotated_jpeg_is_upright_at_full_and_reduced_size(tmp_path):
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :16] = 255  # a white band on the left as stored
    plain = encode(".jpg", stored)
    path = tmp_path / "phone.jpg"
    path.write_bytes(jpeg_with_orientation(plain, 6))  # shown turned 90 degrees clockwise
    rgb = images.read_rgb(path)
    assert rgb.shape == (64, 32, 3)
    assert rgb[:16].mean() > 200 and rgb[20:].mean() < 30  # the band is now at the top
    assert images.image_size(path) == (32, 64) == images.verify_image(path)
    small, size = images.decode_rgb(path, max_side=8)
    assert small.shape == (16, 8, 3) and size == (32, 64)
    assert small[:4].mean() > 200 and small[5:].mean() < 30


def test_a_mask_is_read_in_the_upright_frame(tmp_path):
    stored = np.zeros((4, 8), np.uint8)
    stored[0, 0] = 255
    path = tmp_path / "m.png"
    path.write_bytes(png_with_orientation(encode_png(stored), 8))  # turned 90 degrees anticlockwise
    got = images.read_mask(path)
    assert got.shape == (8, 4) and got[7, 0] and got.sum() == 1


# ---- fixed scales for deep pixels -----------------------------------------------------------------
def test_read_rgb_float_tiff_uses_a_fixed_scale_and_nan_is_black_only_there(tmp_path):
    img = np.full((3, 4), 0.5, np.float32)
    img[0, 0] = np.nan
    img[0, 1], img[0, 2], img[0, 3] = np.inf, 2.0, -1.0
    img[1, 0] = 1.0
    path = tmp_path / "f.tiff"
    path.write_bytes(encode(".tiff", img))
    grey = images.read_rgb(path)[..., 0]
    assert grey[2].tolist() == [128] * 4  # 0.5 -> 128, whatever else is in the image
    assert grey[0].tolist() == [0, 0, 255, 0] and grey[1, 0] == 255


def test_read_rgb_16_bit_colour(tmp_path):
    bgr = np.zeros((2, 2, 3), np.uint16)
    bgr[0, 0] = (0, 0, 60000)  # red
    bgr[1, 1] = (257 * 10, 257 * 20, 257 * 30)
    path = tmp_path / "deep.png"
    path.write_bytes(encode_png(bgr))
    rgb = images.read_rgb(path)
    assert tuple(rgb[0, 0]) == (233, 0, 0) and tuple(rgb[1, 1]) == (30, 20, 10)


@pytest.mark.parametrize("dtype,value,expected", [(np.int16, 32767, 255), (np.int16, -5, 0), (np.int32, 2**30, 128),
                                                   (np.float64, 0.25, 64)])
def test_to_uint8_fixed_mappings(dtype, value, expected):
    assert images.to_uint8(np.full((1, 1), value, dtype))[0, 0] == expected


# ---- reduced decoding --------------------------------------------------------------------------
def test_read_rgb_max_side_decodes_a_jpeg_smaller(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(encode(".jpg", np.full((48, 64, 3), 90, np.uint8)))
    assert images.read_rgb(path).shape == (48, 64, 3)
    assert images.read_rgb(path, max_side=8).shape == (12, 16, 3)  # 1/4: both sides stay >= 8
    assert images.read_rgb(path, max_side=6).shape == (6, 8, 3)  # 1/8
    assert images.read_rgb(path, max_side=20).shape == (24, 32, 3)  # 1/2
    assert images.read_rgb(path, max_side=40).shape == (48, 64, 3)


def test_read_rgb_max_side_leaves_other_formats_whole(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(encode_png(np.zeros((48, 64, 3), np.uint8)))
    rgb, size = images.decode_rgb(path, max_side=8)
    assert rgb.shape == (48, 64, 3) and size == (64, 48)


def test_a_preview_of_a_big_jpeg_is_reduced_but_still_covers_the_screen(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(encode(".jpg", np.full((384, 512, 3), 90, np.uint8)))
    # Fitted on a 100x100 screen the image is 100x75: 1/4 (128x96) still covers it, 1/8 (64x48) would not.
    rgb, full = images.read_rgb_preview(path, (100, 100))
    assert rgb.shape == (96, 128, 3) and full == (512, 384)
    assert images.read_rgb_preview(path, (64, 64))[0].shape == (48, 64, 3)  # 1/8, at least as large as the fit
    assert images.read_rgb_preview(path, (1000, 1000))[0].shape == (384, 512, 3)  # a big screen: no reduction


def test_a_preview_of_an_exif_rotated_jpeg_is_upright_and_covers_the_screen(tmp_path):
    path = tmp_path / "phone.jpg"
    path.write_bytes(jpeg_with_orientation(encode(".jpg", np.zeros((128, 256, 3), np.uint8)), 6))
    rgb, full = images.read_rgb_preview(path, (40, 100))  # upright 128 wide, 256 high: fits as 40x80
    assert full == (128, 256) and rgb.shape == (128, 64, 3)  # 1/2, upright; 1/4 would be 32 wide, under 40


def test_a_preview_of_a_png_is_the_whole_image(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(encode_png(np.zeros((96, 128, 3), np.uint8)))
    rgb, full = images.read_rgb_preview(path, (16, 16))
    assert rgb.shape == (96, 128, 3) and full == (128, 96)


@pytest.mark.parametrize("size,box,fitted", [((4096, 4096), (1920, 1080), (1080, 1080)),
                                             ((4000, 1000), (1920, 1080), (1920, 480)),
                                             ((640, 480), (1920, 1080), (640, 480))])
def test_fitted_size_shrinks_never_enlarges(size, box, fitted):
    assert images.fitted_size(size, box) == fitted


def test_largest_reduction_keeps_both_sides_at_least_the_wanted_size():
    assert images.largest_reduction((4096, 4096), (1080, 1080)) == 2
    assert images.largest_reduction((4096, 4096), (1024, 1024)) == 4
    assert images.largest_reduction((4097, 4097), (513, 513)) == 8  # ceil(4097 / 8) = 513
    assert images.largest_reduction((100, 100), (80, 80)) == 1


def test_verify_image_refuses_a_truncated_jpeg_at_reduced_size(tmp_path):
    data = encode(".jpg", np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GradiaError, match="not a readable image"):
        images.verify_image(path)


# ---- the hostile corpus's odd but valid images ----------------------------------------------------
def _pillow(path, array, fmt, **kwargs):
    Image.fromarray(array).save(path, fmt, **kwargs)
    return path


def test_a_cmyk_jpeg_loads_as_rgb(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, "JPEG", quality=95)
    got = images.read_rgb(path)
    assert got.shape == (8, 8, 3) and abs(int(got[..., 0].mean()) - 200) < 10 and got[..., 1].mean() < 20


def test_a_palette_png_with_transparency_loads_its_colours(tmp_path):
    path = tmp_path / "pal.png"
    im = Image.new("P", (4, 3))
    im.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    im.putpixel((1, 1), 1)
    im.save(path, transparency=0)
    got = images.read_rgb(path)
    assert got.shape == (3, 4, 3) and tuple(got[1, 1]) == (10, 200, 30)


def test_a_multi_page_tiff_reads_its_first_page(tmp_path):
    first, second = np.full((5, 6, 3), 40, np.uint8), np.full((9, 2, 3), 220, np.uint8)
    path = tmp_path / "pages.tiff"
    Image.fromarray(first).save(path, "TIFF", save_all=True, append_images=[Image.fromarray(second)])
    np.testing.assert_array_equal(images.read_rgb(path), first)
    assert images.image_size(path) == (6, 5)


def test_an_animated_gif_is_its_first_frame_or_one_line(tmp_path):
    frames = [Image.fromarray(np.full((5, 7, 3), v, np.uint8)) for v in (0, 255)]
    path = tmp_path / "anim.png"  # named like a PNG: the content decides
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:])
    try:
        got = images.read_rgb(path)
    except GradiaError as exc:  # an OpenCV without a GIF decoder
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        assert got.shape == (5, 7, 3) and got.max() == 0


@pytest.mark.parametrize("shape", [(1, 1), (1, 10000), (10000, 1)])
def test_extreme_aspect_ratios(tmp_path, shape):
    path = tmp_path / "thin.png"
    path.write_bytes(encode_png(np.full(shape, 7, np.uint8)))
    assert images.read_rgb(path, max_side=64).shape == (*shape, 3)
    assert images.verify_image(path) == shape[::-1]


def test_webp_loads(tmp_path):
    path = tmp_path / "x.webp"
    path.write_bytes(encode(".webp", np.full((6, 9, 3), 128, np.uint8)))
    assert images.read_rgb(path).shape == (6, 9, 3) and images.image_size(path) == (9, 6)


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("mode", ["RGB", "F"])
def test_a_tiff_with_an_orientation_tag_is_upright_once(tmp_path, orientation, mode):
    stored = np.zeros((6, 10, 3), np.uint8)
    stored[:2, :3] = 255  # a mark in the top-left corner as stored
    path = tmp_path / "o.tiff"
    im = Image.fromarray(stored) if mode == "RGB" else Image.fromarray(stored[..., 0].astype(np.float32) / 255)
    im.save(path, "TIFF", tiffinfo={274: orientation})
    with Image.open(path) as original:
        expected = np.asarray(ImageOps.exif_transpose(original.convert("RGB") if mode == "RGB" else
                                                      original.point(lambda v: v * 255).convert("RGB")))
    got = images.read_rgb(path)
    assert got.shape[:2] == ((6, 10) if orientation < 5 else (10, 6))
    np.testing.assert_array_equal(got > 127, expected > 127)
    assert (got[..., 0] > 127).sum() == 6  # the mark, once
    assert images.image_size(path) == images.verify_image(path) == got.shape[1::-1]
