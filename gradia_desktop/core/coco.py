"""COCO run-length encoding through pycocotools, and a COCO file checked entry by entry before import.

pycocotools trusts its input: a compressed ``counts`` string whose runs add up to more pixels than
``size`` makes its decoder write past the end of the mask. So every RLE read from a file is parsed
here first (the same variable-length code as pycocotools' ``rleFrString``) and must cover exactly
height x width pixels; only then does pycocotools see it.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from ..errors import GradiaError
from .records import Sample
from .safe_paths import clean_relative

MAX_PROBLEMS = 1000  # problems kept in full; the rest are only counted


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
def string_counts(text: str) -> np.ndarray:
    """The run lengths in a compressed ``counts`` string (pycocotools' format); ValueError if malformed."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("counts holds non-ASCII characters") from None
    c = np.frombuffer(raw, np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return c
    if (c < 0).any() or (c > 63).any():
        raise ValueError("counts holds characters outside the RLE alphabet")
    more = (c & 0x20) != 0
    if more[-1]:
        raise ValueError("counts ends in the middle of a number")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 7:
        raise ValueError("a number in counts is too long")
    k = np.arange(c.size) - np.repeat(starts, lengths)
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    x = np.where((c[ends] & 0x10) != 0, x - (np.int64(1) << (5 * lengths)), x)  # sign bit
    counts = x.copy()  # from the fourth run on, each is stored as a delta to the run two before
    counts[1::2] = np.cumsum(x[1::2])
    counts[2::2] = np.cumsum(x[2::2])
    return counts


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
        raise ValueError(f"malformed RLE: size {size!r} is not [height, width]")
    h, w = size
    if (h, w) != tuple(shape):
        raise ValueError(f"mask is {w}x{h} but the image is {shape[1]}x{shape[0]}")
    counts = segmentation["counts"]
    if isinstance(counts, str):
        runs = string_counts(counts)
    elif isinstance(counts, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
            raise ValueError("malformed RLE: counts is a list with non-integer entries")
        runs = np.array(counts, dtype=object)
    else:
        raise ValueError("malformed RLE: counts is neither a string nor a list of integers")  # noqa: TRY004
    if len(runs) and min(runs) < 0:
        raise ValueError("malformed RLE: negative run length in counts")
    total = int(sum(int(v) for v in runs)) if isinstance(counts, list) else int(runs.sum())
    if total != h * w:
        raise ValueError(f"malformed RLE: runs cover {total} pixels but size {w}x{h} has {h * w}")
    if isinstance(counts, str):
        return {"size": [h, w], "counts": counts.encode("ascii")}
    return mask_utils.frPyObjects({"size": [h, w], "counts": [int(v) for v in counts]}, h, w)


def read_json(path: Path) -> object:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise GradiaError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise GradiaError(f"{path}: is a folder, expected a COCO JSON file") from None
    except UnicodeDecodeError:
        raise GradiaError(f"{path}: not UTF-8 text, so not a COCO JSON file") from None
    except json.JSONDecodeError as exc:
        raise GradiaError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except OSError as exc:
        raise GradiaError(f"{path}: cannot read ({exc.strerror or exc})") from None


@dataclass
class CocoMask:
    """The annotations of one image, all checked; their union is the sample's mask."""

    sample: Sample
    where: str
    rles: list[dict] = field(default_factory=list)


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
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def _check_images(images: list, by_path: dict[str, Sample], plan: CocoPlan) -> dict:
    by_id: dict = {}  # image id -> CocoMask, or None where the image entry itself was refused
    names: dict[str, str] = {}
    for i, img in enumerate(images):
        if not isinstance(img, dict):
            plan.problem(f"images[{i}]: not a JSON object")
            continue
        iid, name = img.get("id"), img.get("file_name")
        where = f"images[{i}] (id {iid!r}, file_name {name!r})"
        if not _is_id(iid):
            plan.problem(f"{where}: 'id' is missing or not an integer")
            continue
        if iid in by_id:
            plan.problem(f"{where}: duplicate image id {iid!r}")
            continue
        by_id[iid] = None
        try:
            rel = clean_relative(name)
        except ValueError as exc:
            plan.problem(f"{where}: file_name refused: {exc}")
            continue
        if rel in names:
            plan.problem(f"{where}: duplicate file_name {rel!r} (also {names[rel]})")
            continue
        names[rel] = where
        sample = by_path.get(rel)
        if sample is None:
            plan.problem(f"{where}: no image {rel!r} in the project")
            continue
        w, h = img.get("width"), img.get("height")
        if (w is not None or h is not None) and (w, h) != (sample.width, sample.height):
            plan.problem(f"{where}: the file says {w}x{h} but the project's image is {sample.width}x{sample.height}")
            continue
        by_id[iid] = CocoMask(sample, f"{rel} ({where})")
    return by_id


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
    seen: dict = {}
    for j, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            plan.problem(f"annotations[{j}]: not a JSON object")
            continue
        aid, iid = ann.get("id"), ann.get("image_id")
        where = f"annotations[{j}] (id {aid!r}, image_id {iid!r})"
        if not _is_id(aid):
            plan.problem(f"{where}: 'id' is missing or not an integer")
        elif aid in seen:
            plan.problem(f"{where}: duplicate annotation id {aid!r} (also annotations[{seen[aid]}])")
            continue
        else:
            seen[aid] = j
        if not _is_id(iid) or iid not in by_id:
            plan.problem(f"{where}: image_id {iid!r} is not in the file's images")
            continue
        target = by_id[iid]
        if target is None:  # the image entry was refused and reported already
            continue
        where = f"{where}, image {target.sample.path!r}"
        try:
            target.rles.append(checked_rle(ann.get("segmentation"), (target.sample.height, target.sample.width)))
        except ValueError as exc:
            plan.problem(f"{where}: {exc}")
    for entry in by_id.values():
        if entry is None:
            continue
        if entry.rles:
            plan.masks.append(entry)
        else:
            plan.skipped.append((entry.sample.path, "no annotation in the file"))
    return plan


def merged(rles: list[dict]) -> dict:
    """The union of checked RLEs of one image, as one compressed RLE."""
    return rles[0] if len(rles) == 1 else mask_utils.merge(rles, intersect=0)
