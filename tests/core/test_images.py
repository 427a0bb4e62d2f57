"""core/images.py: decoding images and masks, one-line errors, atomic PNG writes."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from gradia_desktop.core import atomic, images
from gradia_desktop.errors import GradiaError

from .conftest import encode_png


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


def test_read_rgb_16_bit_is_scaled_to_uint8(tmp_path):
    img = np.zeros((2, 3), np.uint16)
    img[0, 0] = 1000
    img[1, 2] = 60000
    path = tmp_path / "deep.png"
    path.write_bytes(encode_png(img))
    rgb = images.read_rgb(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 3, 3)
    assert rgb[1, 2, 0] == 255 and rgb[0, 1, 0] == 0
    assert 0 < rgb[0, 0, 0] < 255


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


def test_read_mask_any_nonzero_is_attention(tmp_path):
    m = np.zeros((3, 4), np.uint8)
    m[0, 0], m[1, 2], m[2, 3] = 1, 128, 255
    path = tmp_path / "m.png"
    path.write_bytes(encode_png(m))
    got = images.read_mask(path)
    assert got.dtype == bool and got.shape == (3, 4)
    np.testing.assert_array_equal(got, m > 0)


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
