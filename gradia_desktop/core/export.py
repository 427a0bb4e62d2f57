"""Exporting a project's masks as a dataset folder: PNG masks, COCO RLE JSON, a manifest, the images.

The folder is built under a temporary name beside ``out`` and renamed into place at the end, so an
interrupted or failed export leaves nothing that looks complete. Layout (each part on request)::

    OUT/masks/{split}/<class>/<image stem>.png   8-bit, image size (what `init --masks` reads)
    OUT/coco.json                                 images, categories (the classes), one RLE annotation per mask
    OUT/manifest.csv, OUT/manifest.jsonl          one row per selected sample
    OUT/images/{split}/<class>/<file>             the image files, byte for byte (`init --images`)

A PNG mask holds the values of core/mask_layers.py: 255 "look here", 64 "don't look here", 0 not
marked; a mask without a "don't look here" layer is the 0/255 file earlier versions wrote, byte for
byte. In COCO each class is a category (id = class index + 1) and each "look here" mask one
annotation of its image's class; when any exported mask marks "don't look here", one more category
named "don't look here" (id = number of classes + 1) is added, with one annotation per such mask,
after all the "look here" annotations. The manifest counts both layers (mask_pixels, avoid_pixels).

Only samples that have a mask get a PNG or an annotation: no mask means "not annotated", which an
all-zero mask would misstate (``init`` would import it as a mask). A mask that only marks "don't
look here" is a mask too. A stored mask that cannot be read or whose size differs from its image is
skipped and listed in the summary with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from ..errors import GradiaError
from . import coco, images
from .assessment import assess, filter_assessed
from .atomic import staged_directory
from .image_file import open_regular, read_file_bytes
from .manifest import manifest_rows, write_manifest
from .mask_layers import AVOID, LOOK
from .parallel import ordered_map
from .progress import Progress, report
from .records import QUADRANTS, SPLITS, Sample, Version
from .safe_paths import clean_relative
from .store import Project

FORMATS = ("png", "coco", "manifest")
COCO_NAME = "coco.json"
AUTO = "auto"  # has_mask: only masked samples for PNG/COCO alone, every sample once a manifest is asked for
AVOID_DESCRIPTION = ("not a class: what the expert marked as what the model must not use (a ruler, a watermark, "
                     "a tag); value 64 in the PNG masks, where 255 is \"look here\" and 0 not marked")


@dataclass(frozen=True)
class ExportFilter:
    split: str | None = None
    class_name: str | None = None
    quadrant: str | None = None  # RA, UA, RI, UI under the export's version
    judged: bool | None = None  # judged by a human under the export's version
    has_mask: bool | None | str = AUTO

    def needs_version(self) -> bool:
        return self.quadrant is not None or self.judged is not None


@dataclass
class ExportSummary:
    out: str
    formats: list[str]
    version: int | None
    samples: int
    masks: int
    images: int
    files: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        return d

    def text(self) -> str:
        what = f"{self.samples} samples, {self.masks} masks" + (f", {self.images} images" if self.images else "")
        lines = [f"exported {what} ({', '.join(self.formats)}) to {self.out} in {self.seconds:.1f}s"
                 + (f" (model version v{self.version})" if self.version is not None else "")]
        return "\n".join(lines + reason_counts(self.skipped))


def reason_counts(skipped: list[tuple[str, str]]) -> list[str]:
    """'skipped N: reason' lines, one per distinct reason (the entries themselves are in the summary)."""
    counts: dict[str, int] = defaultdict(int)
    for _, reason in skipped:
        counts[reason] += 1
    return [f"skipped {n}: {reason}" for reason, n in counts.items()]


def parse_formats(value: str | Sequence[str]) -> tuple[str, ...]:
    """'png', 'png,coco' or a sequence; in FORMATS order, each once."""
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [i.strip().lower() for i in items if i.strip()]
    for item in items:
        if item not in FORMATS:
            raise GradiaError(f"unknown export format {item!r} (expected {', '.join(FORMATS)})")
    if not items:
        raise GradiaError(f"no export format given (expected {', '.join(FORMATS)})")
    return tuple(f for f in FORMATS if f in items)


def export_version(project: Project, spec: str | int | None, needed: bool) -> Version | None:
    """The version whose predictions and judgements the export uses: ``spec``, or the latest; 'none' for none."""
    if isinstance(spec, str) and spec.strip().lower() == "none":
        version = None
    elif spec is None:
        version = project.latest_version()
    else:
        version = project.resolve_version(spec)
    if needed and version is None:
        raise GradiaError(f"{project.root}: the quadrant and judged filters need a trained model version")
    return version


def check_filter(project: Project, flt: ExportFilter) -> None:
    if flt.quadrant is not None and flt.quadrant not in QUADRANTS:
        raise GradiaError(f"unknown quadrant {flt.quadrant!r} (expected one of {', '.join(QUADRANTS)})")
    if flt.split is not None and flt.split not in SPLITS:
        raise GradiaError(f"unknown split {flt.split!r} (expected one of {', '.join(SPLITS)})")
    if flt.class_name is not None and flt.class_name not in project.classes:
        raise GradiaError(f"unknown class {flt.class_name!r} (classes: {', '.join(project.classes)})")


def select(project: Project, flt: ExportFilter, formats: Sequence[str], version: Version | None):
    """(samples, their assessments by id or None) that pass the filter, in id order."""
    has_mask = flt.has_mask
    if has_mask == AUTO:
        has_mask = None if "manifest" in formats else True
    samples = project.samples(split=flt.split, class_name=flt.class_name, has_mask=has_mask)
    if version is None:
        return samples, None
    rows = filter_assessed(assess(project, version.id, samples), flt.quadrant, flt.judged)
    return [r.sample for r in rows], {r.sample.id: r for r in rows}


@dataclass
class _Done:
    sample: Sample
    rle: dict | None = None  # "look here"
    avoid_rle: dict | None = None  # "don't look here"
    png: bool = False
    image: bool = False
    skip: str | None = None


def _stored(sample: Sample, avoided: Collection[int]) -> bool:
    """Whether the sample has a mask: "look here", or only "don't look here" (ids in ``avoided``)."""
    return sample.has_mask or sample.id in avoided


def _png_names(samples: list[Sample], avoided: Collection[int]) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """masks/... name per sample id; samples whose names would collide (same stem, same folder) are refused."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        if _stored(s, avoided):
            groups[PurePosixPath(clean_relative(s.path)).with_suffix(".png").as_posix()].append(s)
    names, refused = {}, []
    for name, group in groups.items():
        if len(group) == 1:
            names[group[0].id] = name
        else:
            reason = (f"another image in the same folder has the stem of {name} (PNG export names masks by "
                      f"stem; use COCO)")
            refused += [(s.path, reason) for s in group]
    return names, refused


def _read_stored(path: Path) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """A stored mask's "look here" layer as 0/1 uint8, its "don't look here" layer (bool) or None when
    it has none, and the file's bytes when they already are an 8-bit PNG of 0 and 255 (or 0, 64, 255)."""
    data = read_file_bytes(path)  # only a regular file, size-bounded: never blocks on a pipe
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if img is None:
        raise GradiaError(f"{path}: not a readable image")
    if img.ndim == 2 and img.dtype == np.uint8:  # what the store writes; OpenCV calls release the GIL
        png = data[:4] == b"\x89PNG"
        between = cv2.countNonZero(cv2.inRange(img, 1, 254))
        if not between:  # 0 and 255: two-state
            return cv2.threshold(img, 0, 1, cv2.THRESH_BINARY)[1], None, data if png else None
        avoid = cv2.inRange(img, AVOID, AVOID)
        if cv2.countNonZero(avoid) == between:  # 0, 64 and 255: three-state
            return cv2.threshold(img, LOOK - 1, 1, cv2.THRESH_BINARY)[1], avoid > 0, data if png else None
        return cv2.threshold(img, 0, 1, cv2.THRESH_BINARY)[1], None, None  # other values: nonzero is "look here"
    layers = images.read_mask_layers(path)  # other depths and channel counts
    return layers.look.astype(np.uint8), layers.avoid if layers.three_state else None, None


def _image_problem(path: Path) -> str | None:
    """Why the image file cannot be copied byte for byte, or None (only regular files are read)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "image file not found"
    except OSError as exc:
        return f"cannot read the image file ({exc.strerror or exc})"
    return None if stat.S_ISREG(info.st_mode) else "not a regular file (a pipe, device or folder), not copied"


def _export_one(project: Project, sample: Sample, stage: Path, png_name: str | None, want_rle: bool,
                with_images: bool, avoided: Collection[int]) -> _Done:
    done = _Done(sample)
    if _stored(sample, avoided) and (png_name or want_rle):
        try:
            mask, avoid, raw = _read_stored(project.mask_path(sample.id))
        except GradiaError as exc:
            done.skip = f"stored mask unreadable ({exc})"
            return done
        if mask.shape != (sample.height, sample.width):
            done.skip = (f"stored mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                         f"{sample.width}x{sample.height}")
            return done
        if png_name:
            target = stage / "masks" / png_name
            if raw is None:
                images.write_mask_png(target, mask, atomic=False, avoid=avoid)
            else:  # already 8-bit, 0 and 255 (or 0, 64, 255), the image's size: the bytes as they are
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(raw)
            done.png = True
        if want_rle:
            if sample.has_mask:
                done.rle = coco.encode(mask)
            if avoid is not None and avoid.any():
                done.avoid_rle = coco.encode(avoid)
    if with_images:
        source = project.image_path(sample)
        target = stage / "images" / clean_relative(sample.path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open_regular(source) as (image, _size), open(target, "wb") as copy:  # a pipe swapped in is refused
                shutil.copyfileobj(image, copy, 1 << 20)
        except OSError as exc:
            raise GradiaError(f"{source}: cannot copy the image ({exc.strerror or exc})") from None
        done.image = True
    return done


def _coco_document(project: Project, done: list[_Done], version: Version | None) -> dict:
    kept = [d for d in done if d.skip is None]
    annotations = []
    for d in kept:
        if d.rle is not None:
            annotations.append({"id": len(annotations) + 1, "image_id": d.sample.id,
                                "category_id": d.sample.class_idx + 1, "iscrowd": 0, **coco.annotation_fields(d.rle)})
    categories = [{"id": i + 1, "name": name, "supercategory": ""} for i, name in enumerate(project.classes)]
    avoid_id = len(project.classes) + 1  # one above the classes' ids
    for d in kept:  # after every "look here" annotation, whose ids stay those of a two-state export
        if d.avoid_rle is not None:
            annotations.append({"id": len(annotations) + 1, "image_id": d.sample.id, "category_id": avoid_id,
                                "iscrowd": 0, **coco.annotation_fields(d.avoid_rle)})
    if any(d.avoid_rle is not None for d in kept):
        categories.append({"id": avoid_id, "name": coco.AVOID_CATEGORY, "supercategory": "",
                           "description": AVOID_DESCRIPTION})
    return {
        "info": {"description": f"GRADIA attention masks of {project.root.name}", "version": "1.0",
                 "date_created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "model_version": None if version is None else version.name},
        "licenses": [],
        "images": [{"id": d.sample.id, "file_name": d.sample.path, "width": d.sample.width,
                    "height": d.sample.height, "split": d.sample.split, "class": d.sample.class_name} for d in kept],
        "categories": categories,
        "annotations": annotations,
    }


def check_new_folder(out: Path) -> None:
    """Refuse ``out`` unless it is missing or an empty folder (a one-line error naming it)."""
    try:
        taken = out.exists() and (not out.is_dir() or any(out.iterdir()))
    except OSError as exc:
        raise GradiaError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    if taken:
        raise GradiaError(f"{out}: already exists and is not an empty folder (choose a new one)")


def export_masks(project: Project, out: str | os.PathLike, formats: str | Sequence[str] = ("png",),
                 flt: ExportFilter = ExportFilter(), version: str | int | None = None, with_images: bool = False,
                 progress: Progress = None, workers: int | None = None) -> ExportSummary:
    """Export the samples that pass ``flt`` into the new folder ``out``; see the module docstring."""
    started = time.perf_counter()
    formats = parse_formats(formats)
    out = Path(out).expanduser().resolve()
    check_new_folder(out)
    check_filter(project, flt)
    uses_version = flt.needs_version() or "manifest" in formats or version is not None
    ver = export_version(project, version, flt.needs_version()) if uses_version else None
    samples, assessed = select(project, flt, formats, ver)
    if not samples:
        raise GradiaError("nothing to export: no sample passes the filters")
    if with_images:
        problems = [(s.path, why) for s in samples if (why := _image_problem(project.image_path(s)))]
        if problems:
            raise GradiaError(f"{project.images_root / problems[0][0]}: {problems[0][1]}"
                              + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                              + "; export without the images or restore them")
    avoided = project.avoid_pixels()
    png_names, skipped = _png_names(samples, avoided) if "png" in formats else ({}, [])
    try:
        with staged_directory(out) as stage:
            if "png" in formats:
                (stage / "masks").mkdir()
            want_rle = "coco" in formats
            done = ordered_map(lambda s: _export_one(project, s, stage, png_names.get(s.id), want_rle, with_images,
                                                     avoided), samples, progress, "exporting", workers)
            skipped += [(d.sample.path, d.skip) for d in done if d.skip]
            files = ["masks/"] if "png" in formats else []
            if "coco" in formats:
                report(progress, "writing COCO JSON", 0, 1)
                with open(stage / COCO_NAME, "w", encoding="utf-8") as fh:
                    json.dump(_coco_document(project, done, ver), fh, separators=(",", ":"), ensure_ascii=False)
                report(progress, "writing COCO JSON", 1, 1)
                files.append(COCO_NAME)
            if "manifest" in formats:
                files += write_manifest(stage, manifest_rows(samples, project.classes, project.mask_pixels(),
                                                             assessed, None if ver is None else ver.id, avoided))
            if with_images:
                files.append("images/")
    except FileExistsError:
        raise GradiaError(f"{out}: already exists and is not an empty folder (choose a new one)") from None
    except OSError as exc:
        raise GradiaError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    return ExportSummary(str(out), list(formats), None if ver is None else ver.id, len(samples),
                         sum(d.png or d.rle is not None or d.avoid_rle is not None for d in done),
                         sum(d.image for d in done), files,
                         skipped, time.perf_counter() - started)
