"""Reading images and masks from disk, with one-line errors that name the file.

Every read opens a regular file of bounded size (core/image_file.py), reads its header and checks
the pixel limit before decoding (core/image_header.py), and applies the EXIF orientation, so an
image and its mask always live in the upright frame.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import GradiaError
from .atomic import atomic_write
from .image_file import open_regular, read_file_bytes
from .image_header import ImageHeader, read_header
from .mask_layers import MaskLayers, decode as decode_layers
from .mask_rule import MaskRule, interpret_mask

if "OPENCV_LOG_LEVEL" not in os.environ:  # a damaged file is reported in one line, without OpenCV's warnings
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

_JPEG_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
               8: cv2.IMREAD_REDUCED_COLOR_8}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def is_image_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _orient(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an image as stored into the upright frame its EXIF orientation (2 to 8) describes."""
    if orientation in (5, 6, 7, 8):
        img = img.swapaxes(0, 1)  # transpose; then each case is a flip of the transpose
    flip = {2: (1,), 3: (0, 1), 4: (0,), 6: (1,), 7: (0, 1), 8: (0,)}.get(orientation, ())
    return np.ascontiguousarray(np.flip(img, flip) if flip else img)


def fitted_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """A (width, height) image scaled down (never up), aspect kept, to fit inside ``box`` (width, height)."""
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale))


def largest_reduction(size: tuple[int, int], at_least: tuple[int, int]) -> int:
    """The largest JPEG decoding reduction (8, 4, 2, else 1) that keeps a (width, height) image at
    least ``at_least`` (width, height)."""
    return next((k for k in (8, 4, 2) if -(-size[0] // k) >= at_least[0] and -(-size[1] // k) >= at_least[1]), 1)


def _reduction(header: ImageHeader, max_side: int | None, screen: tuple[int, int] | None) -> int:
    """How much a JPEG may be shrunk while decoding (1, 2, 4 or 8): both sides staying >= max_side,
    or the result staying at least as sharp as the whole image fitted on ``screen``."""
    if header.format != "jpeg":
        return 1
    size = header.upright_size
    if screen is not None:
        return largest_reduction(size, fitted_size(size, screen))
    if not max_side or max_side < 1:
        return 1
    return largest_reduction(size, (max_side, max_side))


def _decode(path: Path, max_side: int | None = None, for_mask: bool = False,
            screen: tuple[int, int] | None = None) -> tuple[np.ndarray, ImageHeader]:
    """The stored pixels (OpenCV's channel order, any depth), upright, and the header.

    The header is read first: unknown content and images above the pixel limit are refused
    before any pixel is decoded.
    """
    data = read_file_bytes(path)
    header = read_header(io.BytesIO(data), path)
    k = 1 if for_mask else _reduction(header, max_side, screen)
    if header.format == "jpeg" and not for_mask:
        flags = _JPEG_FLAGS[k] | cv2.IMREAD_IGNORE_ORIENTATION
    else:
        flags = cv2.IMREAD_UNCHANGED  # keeps 16-bit, float, alpha; ignores EXIF (applied below)
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        raise GradiaError(f"{path}: not a readable image ({str(exc).strip().splitlines()[-1]})") from None
    if img is None or img.size == 0:
        raise GradiaError(f"{path}: not a readable image (corrupt or unsupported format)")
    # OpenCV's TIFF decoder applies the TIFF orientation itself, whatever the flags; other formats
    # come as stored and are turned here
    decoder_orients = header.format == "tiff"
    width, height = header.upright_size if decoder_orients else (header.width, header.height)
    expected = (-(-height // k), -(-width // k))
    if img.shape[:2] != expected:
        raise GradiaError(f"{path}: not a readable image (decoded as {img.shape[1]}x{img.shape[0]} pixels, but "
                          f"its header says {expected[1]}x{expected[0]})")
    return (img if decoder_orients else _orient(img, header.orientation)), header


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Pixel values on a fixed scale, never stretched per image: 16-bit / 257, other integers scaled
    from their type's range, floats in [0, 1] x 255; negative, NaN and infinite values become 0."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if img.dtype.kind in "iu":
        scaled = np.clip(img, 0, None).astype(np.float64) * (255.0 / np.iinfo(img.dtype).max)
    else:
        scaled = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0) * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _as_rgb(img: np.ndarray) -> np.ndarray:
    img = to_uint8(img)
    if img.ndim == 3 and img.shape[2] in (1, 2):  # grey, or grey + alpha
        img = img[..., 0]
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] >= 4:  # alpha is dropped, not composited
        return cv2.cvtColor(np.ascontiguousarray(img[..., :4]), cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of the upright image, from its header alone; refuses what read_rgb would refuse
    before decoding (not an image file, unknown content, above the pixel limit)."""
    with open_regular(path) as (file, _size):
        return read_header(file, path).upright_size


def decode_rgb(path: str | os.PathLike, max_side: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """read_rgb's image, and the (width, height) of the upright image at full size."""
    img, header = _decode(Path(path), max_side)
    return _as_rgb(img), header.upright_size


def read_rgb_preview(path: str | os.PathLike, screen: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """A first look at an image shown on a ``screen`` (width, height) pixels large: a JPEG decoded at
    1/2, 1/4 or 1/8 of its size while still at least as sharp as the whole image fitted on that
    screen (a fraction of the time); other formats in full. With the upright (width, height) at
    full size: the caller tells a reduced result by its shape."""
    img, header = _decode(Path(path), screen=screen)
    return _as_rgb(img), header.upright_size


def read_rgb(path: str | os.PathLike, max_side: int | None = None) -> np.ndarray:
    """An image as an upright (H, W, 3) uint8 RGB array, whatever its depth or channel count.

    With ``max_side`` (for a caller that shrinks the image to at most that many pixels a side) a
    JPEG is decoded at 1/2, 1/4 or 1/8 of its size while both sides stay at least ``max_side``;
    other formats are decoded in full. See to_uint8 for how deep pixels become 8-bit.
    """
    return decode_rgb(path, max_side)[0]


def verify_image(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of a readable image, upright: decodes it (a JPEG at 1/8 size) so a corrupt
    or truncated file fails here rather than in training."""
    return _decode(Path(path), max_side=1)[1].upright_size


def read_mask(path: str | os.PathLike, rule: MaskRule | None = None) -> np.ndarray:
    """A mask's "look here" layer as an upright (H, W) bool array; ``rule`` says how values become
    attention and which files are refused (see core/mask_rule.py; the default accepts the masks the
    app writes)."""
    return read_mask_layers(path, rule).look


def read_mask_layers(path: str | os.PathLike, rule: MaskRule | None = None) -> MaskLayers:
    """Both layers of a mask file (core/mask_layers.py). Under the default rule a grey 8-bit file
    holding only 0, 64 and 255 is three-state; any other accepted file is "look here" only."""
    img, header = _decode(Path(path), for_mask=True)
    if rule is None or rule == MaskRule():
        grey = img if img.ndim == 2 else img[..., 0] if img.shape[2] == 1 else None
        layers = decode_layers(grey) if grey is not None and header.format != "jpeg" else None
        if layers is not None:
            return layers
    return MaskLayers.of(interpret_mask(img, rule or MaskRule(), path, lossy=header.format == "jpeg"))


def _store(path: str | os.PathLike, data: bytes, atomic: bool) -> None:
    if atomic:
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
    else:  # inside a staging folder that is renamed into place as a whole
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)


def write_mask_png(path: str | os.PathLike, mask: np.ndarray, atomic: bool = True,
                   avoid: np.ndarray | None = None) -> None:
    """Save a mask as an 8-bit PNG (atomically unless inside a staging folder): 255 where ``mask`` is
    nonzero, 64 where only ``avoid`` ("don't look here") is, 0 elsewhere."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise GradiaError(f"{path}: a mask must be a 2-D array, got shape {mask.shape}")
    if avoid is not None and np.shape(avoid) != mask.shape:
        raise GradiaError(f"{path}: the \"don't look here\" layer has shape {np.shape(avoid)}, the mask {mask.shape}")
    ok, buf = cv2.imencode(".png", MaskLayers.of(mask, avoid).encode())
    if not ok:
        raise GradiaError(f"{path}: could not encode the mask as PNG")
    _store(path, buf.tobytes(), atomic)


def write_rgb_png(path: str | os.PathLike, rgb: np.ndarray, atomic: bool = True) -> None:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise GradiaError(f"{path}: could not encode the image as PNG")
    _store(path, buf.tobytes(), atomic)
