"""COCO run-length encoding through pycocotools, and a COCO file checked entry by entry before import.

pycocotools trusts its input: a compressed ``counts`` string whose runs add up to more pixels than
``size`` makes its decoder write past the end of the mask. So every RLE read from a file is parsed
here first (the same variable-length code as pycocotools' ``rleFrString``) and must cover exactly
height x width pixels; only then does pycocotools see it.

The file itself may be hostile too (core/bounded_json.py): it must be a regular file of at most
``MAX_COCO_BYTES`` (256 MiB: some 300,000 masks of 512x512 as compressed RLE), nested at most
``MAX_COCO_DEPTH`` levels (COCO needs 5). Ids must be plain integers that fit in 64 bits. A
``counts`` string may be no longer than the longest valid RLE of its image needs (H*W + 1 runs),
and is decoded a chunk at a time, so its memory stays proportional to the chunk, not the string.

Annotations of a category named "don't look here" (as ``gradia export`` writes it) are the "don't
look here" layer of their image's mask (core/mask_layers.py), never "look here"; the category of
every other annotation is not read.
"""

from __future__ import annotations

import math
import reprlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from .bounded_json import load_json
from .records import Sample
from .safe_paths import clean_relative

MAX_PROBLEMS = 1000  # problems kept in full; the rest are only counted
MAX_COCO_BYTES = 256 * 2**20
MAX_COCO_DEPTH = 64
MAX_ID = 2**63 - 1  # what SQLite and NumPy hold
_COUNTS_CHUNK = 1 << 16  # counts characters decoded at a time
_MAX_NUMBER_CHARS = 7  # pycocotools codes a run in at most 7 characters (35 bits)
_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlevel = 60, 60, 4, 4, 2
AVOID_CATEGORY = "don't look here"  # the category name export writes for the "don't look here" layer


# ---- encoding (export) ----------------------------------------------------------------------------
def encode(mask: np.ndarray) -> dict:
    """pycocotools' compressed RLE of an (H, W) mask (nonzero = 1); ``counts`` is bytes."""
    mask = np.asarray(mask)
    if mask.dtype != np.uint8 or mask.max(initial=0) > 1:
        mask = mask > 0
    return mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))


def annotation_fields(rle: dict) -> dict:
    """``segmentation`` (JSON-ready RLE), ``area`` and ``bbox`` [x, y, w, h] of a compressed RLE."""
    h, w = (int(v) for v in rle["size"])
    return {"segmentation": {"size": [h, w], "counts": rle["counts"].decode("ascii")},
            "area": int(mask_utils.area(rle)),
            "bbox": [float(v) for v in mask_utils.toBbox(rle)]}


def area(rle: dict) -> int:
    return int(mask_utils.area(rle))


def decode(rle: dict) -> np.ndarray:
    """An (H, W) bool mask from a compressed RLE that came from ``encode`` or ``checked_rle``."""
    with warnings.catch_warnings():  # pycocotools' own NumPy 2 deprecation notice, not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


# ---- checking (import) ----------------------------------------------------------------------------
def max_counts_chars(height: int, width: int) -> int:
    """The longest compressed ``counts`` string a valid RLE of a height x width mask can have.

    At most H*W + 1 runs (a leading empty run, then every pixel flipping); each is coded as the
    difference to the run two before, in [-H*W, H*W], five bits and a sign per character.
    """
    pixels = height * width
    return (pixels + 1) * min(_MAX_NUMBER_CHARS, math.ceil((pixels.bit_length() + 1) / 5))


def _numbers(raw: bytes) -> Iterator[np.ndarray]:
    """The signed numbers coded in a compressed ``counts`` string, a chunk at a time; ValueError if malformed."""
    pos = 0
    while pos < len(raw):
        stop = min(len(raw), pos + _COUNTS_CHUNK)
        c = np.frombuffer(raw, np.uint8, count=stop - pos, offset=pos).astype(np.int64) - 48
        if (c < 0).any() or (c > 63).any():
            raise ValueError("counts holds characters outside the RLE alphabet")
        more = (c & 0x20) != 0
        ends = np.flatnonzero(~more)
        if stop < len(raw):  # cut after the chunk's last complete number; the rest starts the next chunk
            if not ends.size:
                raise ValueError("a number in counts is too long")
            keep = ends[-1] + 1
            c, more = c[:keep], more[:keep]
        elif more[-1]:
            raise ValueError("counts ends in the middle of a number")
        starts = np.concatenate(([0], ends[:-1] + 1))
        lengths = ends - starts + 1
        if lengths.max() > _MAX_NUMBER_CHARS:
            raise ValueError("a number in counts is too long")
        k = np.arange(c.size) - np.repeat(starts, lengths)
        x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
        yield np.where((c[ends] & 0x10) != 0, x - (np.int64(1) << (5 * lengths)), x)  # sign bit
        pos += c.size


def _runs(raw: bytes) -> Iterator[np.ndarray]:
    """The run lengths of a compressed ``counts`` string, a chunk at a time.

    From the fourth run on, each is stored as a difference to the run two before; the last odd
    and even runs are carried from chunk to chunk.
    """
    done, last = 0, [0, 0]  # runs so far; the latest run at an even and an odd index (0 before index 2)
    for x in _numbers(raw):
        index = done + np.arange(x.size)
        runs = x.copy()
        for parity in (0, 1):
            pick = (index % 2 == parity) & (index >= 2 if parity == 0 else index >= 1)
            if pick.any():
                runs[pick] = last[parity] + np.cumsum(x[pick])
                last[parity] = int(runs[pick][-1])
        done += x.size
        yield runs


def string_counts(text: str) -> np.ndarray:
    """The run lengths in a compressed ``counts`` string (pycocotools' format); ValueError if malformed."""
    chunks = list(_runs(_ascii(text)))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int64)


def _ascii(text: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("counts holds non-ASCII characters") from None


def _string_total(text: str) -> int:
    """Pixels covered by the runs of a compressed ``counts`` string; ValueError on a negative run."""
    total = 0
    for runs in _runs(_ascii(text)):
        if runs.size and runs.min() < 0:
            raise ValueError("malformed RLE: negative run length in counts")
        total += int(runs.sum())
    return total


def checked_rle(segmentation: object, shape: tuple[int, int]) -> dict:
    """A compressed RLE from a COCO ``segmentation``, checked against the image's (H, W) ``shape``.

    ValueError names the problem: polygons, a size other than the image's, malformed counts.
    """
    if isinstance(segmentation, list):
        raise ValueError("polygon segmentation is not supported (RLE only)")  # noqa: TRY004 (bad data)
    if not isinstance(segmentation, dict) or "counts" not in segmentation or "size" not in segmentation:
        raise ValueError("segmentation is not an RLE object with 'size' and 'counts'")
    size = segmentation["size"]
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise ValueError(f"malformed RLE: size {_shown(size)} is not [height, width]")
    h, w = size
    if (h, w) != tuple(shape):
        raise ValueError(f"mask is {w}x{h} but the image is {shape[1]}x{shape[0]}")
    counts = segmentation["counts"]
    if isinstance(counts, str):
        if len(counts) > max_counts_chars(h, w):
            raise ValueError(f"malformed RLE: counts has {len(counts)} characters, more than any RLE of a "
                             f"{w}x{h} mask needs ({max_counts_chars(h, w)})")
        total = _string_total(counts)
    elif isinstance(counts, list):
        if len(counts) > h * w + 1:
            raise ValueError(f"malformed RLE: counts has {len(counts)} runs, more than a {w}x{h} mask can have")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
            raise ValueError("malformed RLE: counts is a list with non-integer entries")
        if counts and min(counts) < 0:
            raise ValueError("malformed RLE: negative run length in counts")
        total = sum(counts)
    else:
        raise ValueError("malformed RLE: counts is neither a string nor a list of integers")  # noqa: TRY004
    if total != h * w:
        raise ValueError(f"malformed RLE: runs cover {total} pixels but size {w}x{h} has {h * w}")
    if isinstance(counts, str):
        return {"size": [h, w], "counts": counts.encode("ascii")}
    return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)


def read_json(path: Path) -> object:
    """The COCO document in ``path``, read within the bounds in the module docstring; GradiaError otherwise."""
    return load_json(path, "a COCO JSON file", MAX_COCO_BYTES, MAX_COCO_DEPTH)


@dataclass
class CocoMask:
    """The annotations of one image, all checked; their union is the sample's mask ("look here"), the
    union of ``avoid_rles`` (the "don't look here" category) its "don't look here" layer."""

    sample: Sample
    where: str
    rles: list[dict] = field(default_factory=list)
    avoid_rles: list[dict] = field(default_factory=list)


@dataclass
class CocoPlan:
    masks: list[CocoMask] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    n_problems: int = 0

    def problem(self, text: str) -> None:
        self.n_problems += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID <= value <= MAX_ID


def _shown(value: object) -> str:
    """A short ``repr``: a hostile file's 20 MB name or million-entry list stays out of the messages."""
    return _SHORT.repr(value)


def _check_images(images: list, by_path: dict[str, Sample], plan: CocoPlan) -> dict:
    by_id: dict = {}  # image id -> CocoMask, or None where the image entry itself was refused
    names: dict[str, str] = {}
    for i, img in enumerate(images):
        if not isinstance(img, dict):
            plan.problem(f"images[{i}]: not a JSON object")
            continue
        iid, name = img.get("id"), img.get("file_name")
        where = f"images[{i}] (id {_shown(iid)}, file_name {_shown(name)})"
        if not _is_id(iid):
            plan.problem(f"{where}: 'id' is missing or not an integer of at most 64 bits")
            continue
        if iid in by_id:
            plan.problem(f"{where}: duplicate image id {iid}")
            continue
        by_id[iid] = None
        try:
            rel = clean_relative(name)
        except ValueError as exc:
            plan.problem(f"{where}: file_name refused: {exc}")
            continue
        if rel in names:
            plan.problem(f"{where}: duplicate file_name {_shown(rel)} (also {names[rel]})")
            continue
        names[rel] = where
        sample = by_path.get(rel)
        if sample is None:
            plan.problem(f"{where}: no image {_shown(rel)} in the project")
            continue
        w, h = img.get("width"), img.get("height")
        if (w is not None or h is not None) and (w, h) != (sample.width, sample.height):
            plan.problem(f"{where}: the file says {_shown(w)}x{_shown(h)} but the project's image is "
                         f"{sample.width}x{sample.height}")
            continue
        by_id[iid] = CocoMask(sample, f"{rel} ({where})")
    return by_id


def is_avoid_category(name: object) -> bool:
    """Whether a category name is "don't look here" (case, spaces and a typographic apostrophe aside)."""
    return isinstance(name, str) and " ".join(name.replace("\u2019", "'").casefold().split()) == AVOID_CATEGORY


def avoid_category_ids(categories: object) -> set[int]:
    """The ids of the categories named "don't look here"; a missing or malformed list has none."""
    if not isinstance(categories, list):
        return set()
    return {c["id"] for c in categories
            if isinstance(c, dict) and _is_id(c.get("id")) and is_avoid_category(c.get("name"))}


def plan_coco(data: object, by_path: dict[str, Sample]) -> CocoPlan:
    """Check a loaded COCO document against the project's samples (keyed by their relative path)."""
    plan = CocoPlan()
    if not isinstance(data, dict):
        plan.problem("top level: expected a JSON object with 'images' and 'annotations'")
        return plan
    images, annotations = data.get("images"), data.get("annotations")
    for key, value in (("images", images), ("annotations", annotations)):
        if not isinstance(value, list):
            plan.problem(f"top level: '{key}' is missing or not a list")
    if plan.problems:
        return plan
    by_id = _check_images(images, by_path, plan)
    avoid_ids = avoid_category_ids(data.get("categories"))
    seen: dict = {}
    for j, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            plan.problem(f"annotations[{j}]: not a JSON object")
            continue
        aid, iid = ann.get("id"), ann.get("image_id")
        where = f"annotations[{j}] (id {_shown(aid)}, image_id {_shown(iid)})"
        if not _is_id(aid):
            plan.problem(f"{where}: 'id' is missing or not an integer of at most 64 bits")
        elif aid in seen:
            plan.problem(f"{where}: duplicate annotation id {aid} (also annotations[{seen[aid]}])")
            continue
        else:
            seen[aid] = j
        if not _is_id(iid) or iid not in by_id:
            plan.problem(f"{where}: image_id {_shown(iid)} is not in the file's images")
            continue
        target = by_id[iid]
        if target is None:  # the image entry was refused and reported already
            continue
        where = f"{where}, image {target.sample.path!r}"
        cid = ann.get("category_id")
        layer = target.avoid_rles if _is_id(cid) and cid in avoid_ids else target.rles
        try:
            layer.append(checked_rle(ann.get("segmentation"), (target.sample.height, target.sample.width)))
        except ValueError as exc:
            plan.problem(f"{where}: {exc}")
    for entry in by_id.values():
        if entry is None:
            continue
        if entry.rles or entry.avoid_rles:
            plan.masks.append(entry)
        else:
            plan.skipped.append((entry.sample.path, "no annotation in the file"))
    return plan


def merged(rles: list[dict]) -> dict:
    """The union of checked RLEs of one image, as one compressed RLE."""
    return rles[0] if len(rles) == 1 else mask_utils.merge(rles, intersect=0)
