"""Hand-made image files for the decoding tests: crafted headers, EXIF blocks, pipes that could hang."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

ONE_LINE_SECONDS = 10  # a refusal that takes longer than this is a hang
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")


def encode(suffix: str, array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(suffix, array)
    assert ok, suffix
    return buf.tobytes()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR (valid CRC) claims width x height RGB pixels, with one tiny IDAT: a few
    hundred bytes that a decoder trusting the header would try to allocate gigabytes for."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def exif_block(orientation: int, big_endian: bool = False) -> bytes:
    """A TIFF structure with one IFD holding the Orientation tag."""
    e = ">" if big_endian else "<"
    order = b"MM" if big_endian else b"II"
    entry = struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "H", orientation) + b"\x00\x00"
    return order + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", 1) + entry + struct.pack(e + "I", 0)


def jpeg_with_orientation(jpeg: bytes, orientation: int, big_endian: bool = False) -> bytes:
    payload = b"Exif\x00\x00" + exif_block(orientation, big_endian)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def png_with_orientation(png: bytes, orientation: int) -> bytes:
    ihdr_end = 8 + 8 + 13 + 4
    return png[:ihdr_end] + _chunk(b"eXIf", exif_block(orientation)) + png[ihdr_end:]


def call_with_timeout(fn, *args, seconds: float = ONE_LINE_SECONDS):
    """``fn(*args)``'s result or exception, or AssertionError when it hangs (as reading a pipe would)."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 (handed back to the test)
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"{getattr(fn, '__name__', fn)} hung for {seconds}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def release_fifo(path: Path) -> None:
    """Unblock a reader stuck opening the pipe at ``path`` (it then reads end-of-file)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # nobody is waiting on it
    os.close(fd)
