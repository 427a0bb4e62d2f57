"""Reading images and masks from disk, with one-line errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import GradiaError
from .atomic import atomic_write

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def is_image_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _decode(path: Path, flags: int) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile + imdecode copes with non-ASCII names
    except FileNotFoundError:
        raise GradiaError(f"{path}: file not found") from None
    except OSError as exc:
        raise GradiaError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise GradiaError(f"{path}: empty file, not an image")
    img = cv2.imdecode(data, flags)
    if img is None:
        raise GradiaError(f"{path}: not a readable image (corrupt or unsupported format)")
    return img


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image as an (H, W, 3) uint8 RGB array, whatever its depth or channel count."""
    img = _decode(Path(path), cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """A mask as an (H, W) bool array: any nonzero value in any colour channel is attention (alpha is ignored)."""
    img = _decode(Path(path), cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        img = img[..., :3].max(axis=2) if img.shape[2] >= 3 else img.max(axis=2)
    return img > 0


def _store(path: str | os.PathLike, data: bytes, atomic: bool) -> None:
    if atomic:
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
    else:  # inside a staging folder that is renamed into place as a whole
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)


def write_mask_png(path: str | os.PathLike, mask: np.ndarray, atomic: bool = True) -> None:
    """Save a mask as an 8-bit PNG holding 0 and 255 (atomically unless inside a staging folder)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise GradiaError(f"{path}: a mask must be a 2-D array, got shape {mask.shape}")
    ok, buf = cv2.imencode(".png", np.where(mask > 0, 255, 0).astype(np.uint8))
    if not ok:
        raise GradiaError(f"{path}: could not encode the mask as PNG")
    _store(path, buf.tobytes(), atomic)


def write_rgb_png(path: str | os.PathLike, rgb: np.ndarray, atomic: bool = True) -> None:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise GradiaError(f"{path}: could not encode the image as PNG")
    _store(path, buf.tobytes(), atomic)
