"""The hostile-image corpus, generated on demand (no file is checked in).

Each kind writes one file (or pipe, or link) at a given path and says what a correct load would
show: ``expected`` is the RGB image a correct reader returns (None: nothing may be loaded, only a
refusal is right). ``outcomes`` say what a reader may do with it: REFUSAL, only refuse it (``gradia init``
must leave it out, naming it in a warning, and ``init --strict`` refuse the folder); EITHER, show it or
refuse it (``init`` takes it, or leaves it out named, and ``--strict`` refuses exactly then).
Large kinds are crafted, never drawn: the 50000x50000 PNG is a few hundred bytes whose header
claims 7.5 GB of pixels.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

HANDLED, REFUSED = "handled", "refused"
EITHER = frozenset({HANDLED, REFUSED})
REFUSAL = frozenset({REFUSED})


@dataclass(frozen=True)
class Expected:
    """What a correct reader returns: ``rgb`` (None when any content of ``shape`` will do), within ``tolerance``
    (mean absolute difference per pixel), compared on the pixels of ``where`` only when given."""

    shape: tuple[int, int, int] | None = None
    rgb: np.ndarray | None = None
    tolerance: float = 0.0
    where: np.ndarray | None = None


@dataclass(frozen=True)
class HostileKind:
    name: str
    file_name: str  # the name it gets inside a class folder
    item: str  # the item number(s) this probes
    write: Callable[[Path, np.random.Generator], Expected | None]  # None: only a refusal is right
    outcomes: frozenset = EITHER
    needs_non_root: bool = False  # permissions mean nothing to root
    needs_pillow: bool = False


def picture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth colour gradients with a bright top-left corner (so rotations and flips show)."""
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([(xx * 255 // max(1, width - 1)), (yy * 255 // max(1, height - 1)),
                    np.full_like(xx, int(rng.integers(40, 200)))], axis=-1).astype(np.uint8)
    rgb[: max(1, height // 4), : max(1, width // 4)] = (250, 250, 20)
    return rgb


def _encode(rgb: np.ndarray, ext: str, params: tuple = ()) -> bytes:
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params))
    assert ok, ext
    return buf.tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_png_bytes(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG whose valid header claims width x height RGB pixels, with a tiny IDAT (two rows of zeros)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(2 * (1 + 3 * width)), 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


# ---- writers ------------------------------------------------------------------------------------
def _huge(path: Path, rng) -> None:
    path.write_bytes(huge_png_bytes())


def _truncated_png(path: Path, rng) -> None:
    data = _encode(picture(rng, 48, 64), ".png")
    path.write_bytes(data[: len(data) // 2])


def _truncated_jpeg(path: Path, rng) -> Expected:
    data = _encode(picture(rng, 48, 64), ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 90))
    path.write_bytes(data[: len(data) * 2 // 3])
    return Expected((48, 64, 3))  # a decoder may show the part that is there, or refuse


def _zero_bytes(path: Path, rng) -> None:
    path.write_bytes(b"")


def _text(path: Path, rng) -> None:
    path.write_text("this is not a picture\n" * 20)


def _cmyk_jpeg(path: Path, rng) -> Expected:
    from PIL import Image

    rgb = picture(rng, 40, 56)
    Image.fromarray(rgb).convert("CMYK").save(path, "JPEG", quality=95)
    return Expected((40, 56, 3), rgb, tolerance=12.0)


def _palette_png(path: Path, rng) -> Expected:
    from PIL import Image

    rgb = picture(rng, 32, 48)
    image = Image.fromarray(rgb).quantize(colors=16)
    corner = np.asarray(image)[-1, -1]  # that palette entry becomes fully transparent
    image.save(path, transparency=int(corner))
    shown = np.asarray(image.convert("RGB"))
    return Expected((32, 48, 3), shown, tolerance=0.5, where=np.asarray(image) != corner)


def _animated_gif(path: Path, rng) -> Expected:
    from PIL import Image

    frames = [Image.fromarray(picture(rng, 30, 40)).quantize(colors=32) for _ in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)
    return Expected((30, 40, 3), np.asarray(frames[0].convert("RGB")), tolerance=0.5)


def _multipage_tiff(path: Path, rng) -> Expected:
    from PIL import Image

    pages = [Image.fromarray(picture(rng, 36, 44)) for _ in range(3)]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    return Expected((36, 44, 3), np.asarray(pages[0]), tolerance=0.5)


def _webp(path: Path, rng) -> Expected:
    rgb = picture(rng, 40, 40)
    path.write_bytes(_encode(rgb, ".webp", (cv2.IMWRITE_WEBP_QUALITY, 101)))  # above 100: lossless
    return Expected((40, 40, 3), rgb, tolerance=0.5)


def _plain_png(height: int, width: int):
    def write(path: Path, rng) -> Expected:
        rgb = picture(rng, height, width)
        path.write_bytes(_encode(rgb, ".png"))
        return Expected((height, width, 3), rgb, tolerance=0.0)
    return write


def _chmod_000(path: Path, rng) -> None:
    path.write_bytes(_encode(picture(rng, 16, 16), ".png"))
    path.chmod(0)


def _symlink_loop(path: Path, rng) -> None:
    os.symlink(path.name, path)


def _fifo(path: Path, rng) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path, rng) -> None:
    os.symlink("/dev/zero", path)


def _png_16bit(path: Path, rng) -> Expected:
    """A narrow range of 16-bit values: stretching it to 0..255 would be a silent alteration."""
    rgb8 = (40 + picture(rng, 24, 32).astype(np.uint16) // 5).astype(np.uint8)  # 40..91
    rgb16 = rgb8.astype(np.uint16) * 257
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert ok
    path.write_bytes(buf.tobytes())
    return Expected((24, 32, 3), rgb8, tolerance=1.0)


def _float_tiff_nan(path: Path, rng) -> Expected:
    grey = np.linspace(0, 1, 24 * 32, dtype=np.float32).reshape(24, 32)
    grey[5, 7] = np.nan
    ok, buf = cv2.imencode(".tiff", grey)
    assert ok
    path.write_bytes(buf.tobytes())
    return Expected((24, 32, 3))  # no agreed rendering of a NaN: any image of the right size, or a refusal


def _exif_rotated_jpeg(path: Path, rng) -> Expected:
    """Stored 56 wide x 32 high with orientation 6: shown rotated a quarter turn clockwise, 32 x 56."""
    from PIL import Image

    stored = picture(rng, 32, 56)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(path, "JPEG", quality=95, exif=exif.tobytes())
    return Expected((56, 32, 3), np.ascontiguousarray(np.rot90(stored, k=-1)), tolerance=8.0)


KINDS: tuple[HostileKind, ...] = (
    HostileKind("huge dimensions (50000x50000 header, tiny IDAT)", "huge.png", "5", _huge, REFUSAL),
    HostileKind("truncated PNG", "truncated.png", "12", _truncated_png, REFUSAL),
    HostileKind("truncated JPEG", "truncated.jpg", "12", _truncated_jpeg),
    HostileKind("zero bytes", "empty.png", "12", _zero_bytes, REFUSAL),
    HostileKind("text named .png", "text.png", "12", _text, REFUSAL),
    HostileKind("CMYK JPEG", "cmyk.jpg", "12", _cmyk_jpeg, needs_pillow=True),
    HostileKind("palette PNG with transparency", "palette.png", "12", _palette_png, needs_pillow=True),
    HostileKind("animated GIF", "animated.gif", "12", _animated_gif, needs_pillow=True),
    HostileKind("multi-page TIFF", "pages.tif", "12", _multipage_tiff, needs_pillow=True),
    HostileKind("WebP", "lossless.webp", "12", _webp),
    HostileKind("non-ASCII name", "naïve-日本-ø.png", "12", _plain_png(20, 28)),
    HostileKind("chmod 000", "locked.png", "12", _chmod_000, REFUSAL, needs_non_root=True),
    HostileKind("symlink loop", "loop.png", "6", _symlink_loop, REFUSAL),
    HostileKind("1x1 image", "dot.png", "12", _plain_png(1, 1)),
    HostileKind("1x10000 image", "line.png", "12", _plain_png(1, 10_000)),
    HostileKind("FIFO named .png", "pipe.png", "6", _fifo, REFUSAL),
    HostileKind("link to /dev/zero named .png", "zero-device.png", "6", _dev_zero, REFUSAL),
    HostileKind("16-bit PNG (narrow range)", "deep.png", "12", _png_16bit),
    HostileKind("float32 TIFF with a NaN", "float.tiff", "12", _float_tiff_nan),
    HostileKind("EXIF-rotated JPEG", "rotated.jpg", "12", _exif_rotated_jpeg, needs_pillow=True),
)


def pillow_available() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


def skip_reason(kind: HostileKind) -> str | None:
    if kind.needs_non_root and hasattr(os, "geteuid") and os.geteuid() == 0:
        return "running as root: permissions do not apply"
    if kind.needs_pillow and not pillow_available():
        return "Pillow is not installed (needed to write this kind)"
    return None


def kind_by_name(name: str) -> HostileKind:
    return next(k for k in KINDS if k.name == name)


def check_loaded(expected: Expected | None, rgb: np.ndarray) -> str | None:
    """Why a loaded image is not what a correct reader returns (None when it is)."""
    if expected is None:
        return f"loaded as {rgb.shape} where only a refusal is right"
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        return f"loaded as {rgb.dtype} {rgb.shape}, not (H, W, 3) uint8"
    if expected.shape is not None and rgb.shape != expected.shape:
        return f"loaded as {rgb.shape[1]}x{rgb.shape[0]}, expected {expected.shape[1]}x{expected.shape[0]}"
    if expected.rgb is not None:
        diff = np.abs(rgb.astype(np.int16) - expected.rgb.astype(np.int16)).mean(axis=2)
        if expected.where is not None:
            diff = diff[expected.where]
        if diff.size and float(diff.mean()) > expected.tolerance:
            return f"pixels differ from the file's content (mean difference {float(diff.mean()):.1f} levels)"
    return None


def rgb_photo_as_mask(path: Path, height: int, width: int, rng: np.random.Generator) -> None:
    """A colour photo where a mask belongs (issue item 2): it must be refused, not read as 'nonzero = mask'."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_encode(picture(rng, height, width), ".png"))
