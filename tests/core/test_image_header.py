"""core/image_header.py: sizes and orientation from headers alone, and the pixel limit."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from gradia_desktop.core import image_header, images
from gradia_desktop.core.image_header import read_header
from gradia_desktop.errors import GradiaError

from .image_samples import encode, exif_block, jpeg_with_orientation, png_claiming, png_with_orientation

RGB = np.random.default_rng(0).integers(0, 256, (7, 13, 3), dtype=np.uint8)  # 13 wide, 7 high
GREY = RGB[..., 0]


def pillow_bytes(fmt: str, array: np.ndarray, **kwargs) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, fmt, **kwargs)
    return out.getvalue()


FILES = {
    "png": lambda: encode(".png", RGB),
    "jpeg": lambda: encode(".jpg", RGB),
    "bmp": lambda: encode(".bmp", RGB),
    "tiff": lambda: encode(".tiff", RGB),
    "float tiff": lambda: encode(".tiff", RGB.astype(np.float32) / 255),
    "webp lossy": lambda: encode(".webp", RGB),
    "webp lossless": lambda: pillow_bytes("WEBP", RGB, lossless=True),
    "webp extended": lambda: pillow_bytes("WEBP", RGB, exif=exif_block(1)),
    "ppm": lambda: encode(".ppm", RGB),
    "pgm": lambda: encode(".pgm", GREY),
    "pgm with comment": lambda: b"P5\n# made by hand\n13 7\n255\n" + GREY.tobytes(),
    "pam": lambda: encode(".pam", RGB),
    "pfm": lambda: encode(".pfm", RGB.astype(np.float32) / 255),
    "gif": lambda: pillow_bytes("GIF", RGB),
    "progressive jpeg": lambda: pillow_bytes("JPEG", RGB, progressive=True),
    "bmp top-down": lambda: pillow_bytes("BMP", RGB)[:22] + (-7).to_bytes(4, "little", signed=True)
    + pillow_bytes("BMP", RGB)[26:],
}


@pytest.mark.parametrize("kind", FILES)
def test_header_size_of_every_format(kind):
    header = read_header(io.BytesIO(FILES[kind]()), "x")
    assert (header.width, header.height) == (13, 7) and header.orientation == 1


@pytest.mark.parametrize("kind", ["png", "jpeg", "bmp", "tiff", "webp lossy", "ppm", "pam", "gif"])
def test_image_size_agrees_with_the_decoder(tmp_path, kind):
    path = tmp_path / "x.img"
    path.write_bytes(FILES[kind]())
    assert images.image_size(path) == (13, 7)
    assert images.read_rgb(path).shape == (7, 13, 3)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("big_endian", [False, True])
def test_exif_orientation_of_a_jpeg(orientation, big_endian):
    data = jpeg_with_orientation(encode(".jpg", RGB), orientation, big_endian)
    header = read_header(io.BytesIO(data), "x")
    assert header.orientation == orientation
    assert header.upright_size == ((7, 13) if orientation >= 5 else (13, 7))


def test_exif_orientation_of_a_png_tiff_and_webp():
    assert read_header(io.BytesIO(png_with_orientation(encode(".png", RGB), 6)), "x").orientation == 6
    tiff = pillow_bytes("TIFF", RGB, tiffinfo={274: 8})
    assert read_header(io.BytesIO(tiff), "x").orientation == 8
    webp = pillow_bytes("WEBP", RGB, exif=b"Exif\x00\x00" + exif_block(3))
    assert read_header(io.BytesIO(webp), "x").orientation == 3


@pytest.mark.parametrize("block", [b"Exif\x00\x00garbage", b"Exif\x00\x00" + exif_block(9), b"Exif\x00\x00II*"])
def test_a_damaged_or_odd_exif_block_means_upright(block):
    jpeg = encode(".jpg", RGB)
    data = jpeg[:2] + b"\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block + jpeg[2:]
    assert read_header(io.BytesIO(data), "x").orientation == 1


# ---- the pixel limit --------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [images.read_rgb, images.read_mask, images.image_size, images.verify_image])
def test_a_decompression_bomb_is_refused_from_its_header(tmp_path, fn):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(50000, 50000))
    started = time.perf_counter()
    with pytest.raises(GradiaError) as exc:
        fn(path)
    assert time.perf_counter() - started < 1  # refused from the header, nothing decoded
    assert str(exc.value) == (f"{path}: 50000x50000 pixels is above the limit of 100,000,000 pixels "
                              f"(set GRADIA_MAX_IMAGE_PIXELS to allow it)")


def test_the_pixel_limit_is_set_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(image_header.MAX_PIXELS_ENV, "1000")
    over, under = tmp_path / "over.png", tmp_path / "under.jpg"
    over.write_bytes(encode(".png", np.zeros((30, 40), np.uint8)))  # 1200 pixels
    under.write_bytes(encode(".jpg", np.zeros((25, 40, 3), np.uint8)))  # 1000 pixels
    with pytest.raises(GradiaError, match="40x30 pixels is above the limit of 1,000 pixels"):
        images.read_rgb(over)
    assert images.read_rgb(under).shape == (25, 40, 3)
    assert images.read_rgb(under, max_side=10).shape == (13, 20, 3)  # large for the limit: decoded at 1/2
    monkeypatch.setenv(image_header.MAX_PIXELS_ENV, "1_200")
    assert images.image_size(over) == (40, 30)


def test_a_bad_pixel_limit_setting_is_named(tmp_path, monkeypatch):
    path = tmp_path / "x.png"
    path.write_bytes(encode(".png", GREY))
    monkeypatch.setenv(image_header.MAX_PIXELS_ENV, "a lot")
    with pytest.raises(GradiaError, match="GRADIA_MAX_IMAGE_PIXELS='a lot': not a positive whole number"):
        images.image_size(path)


# ---- what is not an image ----------------------------------------------------------------------------
@pytest.mark.parametrize("content,problem", [
    (b"hello, I am a text file named like a picture\n", "corrupt or unsupported format"),
    (b"\x89PNG broken", "corrupt or unsupported format"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00", "damaged header: header cut short"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + bytes(13), "header says 0x0 pixels"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(9) + b"\xff\xda\x00\x02", "no JPEG frame header"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 \x00\x00\x00\x00" + bytes(10), "bad VP8 start code"),
    (b"II*\x00\x08\x00\x00\x00\x00\x00", "TIFF without width or height"),
    (b"P5\nnot numbers\n", "no PNM width and height"),
])
def test_damaged_headers_are_one_line(tmp_path, content, problem):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(GradiaError) as exc:
        images.image_size(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: not a readable image") and problem in msg and "\n" not in msg
