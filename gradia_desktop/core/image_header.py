"""An image's size and EXIF orientation from its header alone, checked against the pixel limit.

Nothing is decoded here, so a file whose header claims 50000x50000 pixels costs a few bytes to
refuse. The formats are the ones the decoder is trusted with: PNG, JPEG, BMP, GIF, TIFF, WebP and
PNM (PBM/PGM/PPM/PAM/PFM); any other content is refused before it reaches the decoder.
"""

from __future__ import annotations

import io
import os
import re
import struct
from dataclasses import dataclass
from typing import BinaryIO, Callable

from ..errors import GradiaError
from .image_file import positive_int_setting

MAX_PIXELS_ENV = "GRADIA_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 100_000_000  # 100 megapixels: about 300 MB once decoded as 8-bit RGB

ORIENTATION_TAG = 0x0112  # EXIF / TIFF Orientation
_MAX_CHUNKS = 4096  # PNG chunks, JPEG segments, WebP chunks or TIFF entries looked at before giving up
_MAX_EXIF_BYTES = 1 << 20


class _BadHeader(ValueError):
    pass


@dataclass(frozen=True)
class ImageHeader:
    format: str  # png, jpeg, bmp, gif, tiff, webp, pnm
    width: int  # as stored, before the orientation is applied
    height: int
    orientation: int = 1  # EXIF orientation, 1 (as stored) to 8

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) once the orientation is applied: what the user sees."""
        return (self.height, self.width) if self.orientation >= 5 else (self.width, self.height)


def max_image_pixels() -> int:
    """The largest image decoded, in pixels: ``GRADIA_MAX_IMAGE_PIXELS``, 100 million by default."""
    return positive_int_setting(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS)


def _exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) < n:
        raise _BadHeader("header cut short")
    return data


# ---- TIFF structures (TIFF files, and the EXIF blocks of JPEG, PNG and WebP) ------------------------
def _tiff_tags(f: BinaryIO, wanted: set[int]) -> dict[int, int]:
    """The single-number tags of the first IFD that are in ``wanted``."""
    order = _exact(f, 2)
    if order not in (b"II", b"MM"):
        raise _BadHeader("bad TIFF byte order")
    e = "<" if order == b"II" else ">"
    (magic,) = struct.unpack(e + "H", _exact(f, 2))
    if magic == 42:
        (ifd,) = struct.unpack(e + "I", _exact(f, 4))
        count_fmt, entry_fmt = "H", "HHI4s"
    elif magic == 43:  # BigTIFF
        _exact(f, 4)
        (ifd,) = struct.unpack(e + "Q", _exact(f, 8))
        count_fmt, entry_fmt = "Q", "HHQ8s"
    else:
        raise _BadHeader("bad TIFF magic number")
    f.seek(ifd)
    (n,) = struct.unpack(e + count_fmt, _exact(f, struct.calcsize(count_fmt)))
    if n > _MAX_CHUNKS:
        raise _BadHeader(f"{n} TIFF directory entries")
    size = struct.calcsize(e + entry_fmt)
    entries = _exact(f, n * size)
    tags = {}
    for i in range(n):
        tag, kind, count, value = struct.unpack_from(e + entry_fmt, entries, i * size)
        if tag in wanted and count == 1 and kind in (3, 4, 16):  # SHORT, LONG, LONG8: left-justified
            tags[tag] = struct.unpack_from(e + {3: "H", 4: "I", 16: "Q"}[kind], value)[0]
    return tags


def _exif_orientation(block: bytes) -> int:
    """The orientation in an EXIF block (a TIFF structure, maybe after 'Exif\\0\\0'); 1 if unreadable."""
    if block.startswith(b"Exif\x00\x00"):
        block = block[6:]
    try:
        value = _tiff_tags(io.BytesIO(block), {ORIENTATION_TAG}).get(ORIENTATION_TAG, 1)
    except (_BadHeader, struct.error, OverflowError):
        return 1  # a damaged EXIF block does not make the picture unreadable
    return value if 1 <= value <= 8 else 1


# ---- one parser per format: f is positioned anywhere, the format already recognised ----------------
def _png(f: BinaryIO) -> ImageHeader:
    f.seek(8)
    length, kind = struct.unpack(">I4s", _exact(f, 8))
    if kind != b"IHDR" or length != 13:
        raise _BadHeader("no IHDR chunk")
    width, height = struct.unpack(">II", _exact(f, 8))
    f.seek(9, io.SEEK_CUR)  # the rest of IHDR and its CRC
    orientation = 1
    for _ in range(_MAX_CHUNKS):  # eXIf counts only before the image data
        head = f.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"eXIf":
            orientation = _exif_orientation(f.read(min(length, _MAX_EXIF_BYTES)))
            break
        f.seek(length + 4, io.SEEK_CUR)
    return ImageHeader("png", width, height, orientation)


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD9)}


def _jpeg(f: BinaryIO) -> ImageHeader:
    f.seek(2)
    orientation = 1
    for _ in range(_MAX_CHUNKS):
        if _exact(f, 1) != b"\xff":
            raise _BadHeader("JPEG marker expected")
        marker = 0xFF
        while marker == 0xFF:  # fill bytes
            marker = _exact(f, 1)[0]
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0xD9, 0xDA):
            raise _BadHeader("no JPEG frame header before the image data")
        (length,) = struct.unpack(">H", _exact(f, 2))
        if length < 2:
            raise _BadHeader("bad JPEG segment length")
        if marker in _SOF_MARKERS:
            _precision, height, width = struct.unpack(">BHH", _exact(f, 5))
            if height == 0:
                raise _BadHeader("JPEG height given after the image data (DNL), not supported")
            return ImageHeader("jpeg", width, height, orientation)
        if marker == 0xE1 and orientation == 1:  # APP1: EXIF, or XMP and others
            payload = _exact(f, length - 2)
            if payload.startswith(b"Exif\x00\x00"):
                orientation = _exif_orientation(payload)
        else:
            f.seek(length - 2, io.SEEK_CUR)
    raise _BadHeader("no JPEG frame header")


def _bmp(f: BinaryIO) -> ImageHeader:
    f.seek(14)
    (dib_size,) = struct.unpack("<I", _exact(f, 4))
    if dib_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", _exact(f, 4))
    elif dib_size >= 16:
        width, height = struct.unpack("<ii", _exact(f, 8))
        height = abs(height)  # negative: stored top-down
    else:
        raise _BadHeader("bad BMP header size")
    return ImageHeader("bmp", width, height)


def _gif(f: BinaryIO) -> ImageHeader:
    f.seek(6)
    width, height = struct.unpack("<HH", _exact(f, 4))
    return ImageHeader("gif", width, height)


def _tiff(f: BinaryIO) -> ImageHeader:
    f.seek(0)
    tags = _tiff_tags(f, {256, 257, ORIENTATION_TAG})
    if 256 not in tags or 257 not in tags:
        raise _BadHeader("TIFF without width or height")
    orientation = tags.get(ORIENTATION_TAG, 1)
    return ImageHeader("tiff", tags[256], tags[257], orientation if 1 <= orientation <= 8 else 1)


def _webp(f: BinaryIO) -> ImageHeader:
    f.seek(12)
    kind, size = struct.unpack("<4sI", _exact(f, 8))
    if kind == b"VP8 ":
        data = _exact(f, 10)
        if data[3:6] != b"\x9d\x01\x2a":
            raise _BadHeader("bad VP8 start code")
        width, height = (v & 0x3FFF for v in struct.unpack_from("<HH", data, 6))
        return ImageHeader("webp", width, height)
    if kind == b"VP8L":
        data = _exact(f, 5)
        if data[0] != 0x2F:
            raise _BadHeader("bad VP8L signature")
        bits = int.from_bytes(data[1:5], "little")
        return ImageHeader("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind != b"VP8X":
        raise _BadHeader(f"unknown WebP chunk {kind!r}")
    data = _exact(f, 10)
    width, height = int.from_bytes(data[4:7], "little") + 1, int.from_bytes(data[7:10], "little") + 1
    orientation = 1
    if data[0] & 0x08:  # has EXIF
        f.seek(20 + size + (size & 1))
        for _ in range(_MAX_CHUNKS):
            head = f.read(8)
            if len(head) < 8:
                break
            kind, size = struct.unpack("<4sI", head)
            if kind == b"EXIF":
                orientation = _exif_orientation(f.read(min(size, _MAX_EXIF_BYTES)))
                break
            f.seek(size + (size & 1), io.SEEK_CUR)
    return ImageHeader("webp", width, height, orientation)


def _pnm(f: BinaryIO) -> ImageHeader:
    f.seek(0)
    head = f.read(4096)
    if head[1:2] == b"7":  # PAM: 'WIDTH n' and 'HEIGHT n' lines
        fields = dict(re.findall(rb"^(WIDTH|HEIGHT)[ \t]+(\d+)", head, re.MULTILINE))
        if b"WIDTH" not in fields or b"HEIGHT" not in fields:
            raise _BadHeader("PAM without WIDTH or HEIGHT")
        return ImageHeader("pnm", int(fields[b"WIDTH"]), int(fields[b"HEIGHT"]))
    tokens = re.sub(rb"#[^\n]*", b" ", head[2:]).split(None, 2)
    if len(tokens) < 2 or not (tokens[0].isdigit() and tokens[1].isdigit()):
        raise _BadHeader("no PNM width and height")
    return ImageHeader("pnm", int(tokens[0]), int(tokens[1]))


def _recognise(head: bytes) -> Callable[[BinaryIO], ImageHeader] | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg
    if head.startswith(b"BM"):
        return _bmp
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _gif
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp
    if head[:1] == b"P" and head[1:2] in (b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"f", b"F") \
            and head[2:3].isspace():
        return _pnm
    return None


def read_header(f: BinaryIO, path: str | os.PathLike) -> ImageHeader:
    """The header of the image in ``f`` (seekable, at any position); refuses unknown content, damaged
    headers and images above the pixel limit, each in one line naming ``path``."""
    f.seek(0)
    parse = _recognise(f.read(16))
    if parse is None:
        raise GradiaError(f"{path}: not a readable image (corrupt or unsupported format)")
    try:
        header = parse(f)
    except (_BadHeader, struct.error, OverflowError, ValueError) as exc:
        raise GradiaError(f"{path}: not a readable image (damaged header: {exc})") from None
    except OSError as exc:
        raise GradiaError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if header.width <= 0 or header.height <= 0:
        raise GradiaError(f"{path}: not a readable image (its header says {header.width}x{header.height} pixels)")
    limit = max_image_pixels()
    if header.width * header.height > limit:
        width, height = header.upright_size
        raise GradiaError(f"{path}: {width}x{height} pixels is above the limit of {limit:,} pixels "
                          f"(set {MAX_PIXELS_ENV} to allow it)")
    return header
