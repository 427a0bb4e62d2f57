"""Importing masks into an existing project from a PNG mask folder or a COCO RLE JSON file.

All or nothing, per import: every entry is read and checked first (paths, RLE, sizes, duplicates,
images the project does not have), and any problem rejects the whole import before a single mask
is written; each problem names its entry. If a write then fails (disk full, Cancel), the masks
already written are put back as they were. Only the project's own masks are ever written.

Policy: a sample that already has a mask keeps it unless ``overwrite``; an empty mask is not
imported (the store has no empty masks: "no mask" and "empty mask" are the same). Several COCO
annotations on one image are merged (their union is the mask).

Three-state masks (core/mask_layers.py) come back whole: a PNG of only 0, 64 and 255 (what export
writes) under the default mask rule, and COCO annotations of the "don't look here" category, give
the "don't look here" layer; a mask marking only that is imported as such (and is a mask the
overwrite policy keeps).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from ..errors import GradiaError
from . import coco, images
from .atomic import atomic_write_bytes
from .export import COCO_NAME, reason_counts
from .image_file import read_file_bytes
from .mask_layers import MaskLayers, decode as decode_layers
from .mask_rule import MaskRule
from .parallel import ordered_map
from .progress import Progress, report
from .records import SPLITS, Sample
from .schema import DB_NAME
from .store import Project

IMPORT_FORMATS = ("png", "coco")
SHOWN_PROBLEMS = 3


class ImportRejected(GradiaError):
    """The input has problems; nothing was imported. ``problems`` lists them, each naming its entry."""

    def __init__(self, source: Path, problems: list[str], count: int | None = None):
        self.problems = problems
        count = len(problems) if count is None else count
        head = "; ".join(problems[:SHOWN_PROBLEMS])
        more = f" (and {count - SHOWN_PROBLEMS} more)" if count > SHOWN_PROBLEMS else ""
        super().__init__(f"{source}: nothing imported, {count} problem{'s' if count != 1 else ''}: {head}{more}")


@dataclass
class ImportSummary:
    source: str
    format: str
    matched: list[str] = field(default_factory=list)  # sample paths whose mask was written
    overwritten: list[str] = field(default_factory=list)  # of those, the ones that replaced a mask
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, reason)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.matched)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [{"entry": e, "reason": r} for e, r in self.skipped]
        return d

    def text(self) -> str:
        head = (f"imported {len(self.matched)} masks from {self.source} ({len(self.overwritten)} replaced "
                f"an existing mask), skipped {len(self.skipped)} in {self.seconds:.1f}s")
        return "\n".join([head, *reason_counts(self.skipped)])


@dataclass
class _Planned:
    sample: Sample
    where: str  # how messages name the entry
    rle: dict | None  # "look here", compressed, checked; None: the entry marks only "don't look here"
    avoid: dict | None = None  # "don't look here", likewise; None: no such layer

    def empty(self) -> bool:
        return all(r is None or coco.area(r) == 0 for r in (self.rle, self.avoid))

    def layers(self) -> tuple[np.ndarray, np.ndarray | None]:
        """("look here" as (H, W) bool, "don't look here" or None)."""
        shape = (self.sample.height, self.sample.width)
        look = coco.decode(self.rle) if self.rle is not None else np.zeros(shape, bool)
        return look, None if self.avoid is None else coco.decode(self.avoid)


# ---- PNG mask folder ------------------------------------------------------------------------------
def _mask_root(source: Path) -> Path:
    if not source.is_dir():
        raise GradiaError(f"{source}: mask folder not found")
    if not any((source / s).is_dir() for s in SPLITS) and (source / "masks").is_dir():
        return source / "masks"  # an export folder: its masks/ part
    return source


def _inside(real_root: str, path: Path) -> bool:
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _mask_files(root: Path, problems: list[str], skipped: list) -> list[tuple[str, Path]]:
    real_root = os.path.realpath(root)
    found = []
    def unlistable(exc: OSError) -> None:
        problems.append(f"{Path(exc.filename).relative_to(root).as_posix()}: cannot list the folder "
                        f"({exc.strerror or exc})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=unlistable):  # links to folders are not followed
        here = Path(dirpath)
        for name in sorted(dirnames):
            if (here / name).is_symlink():
                rel = (here / name).relative_to(root).as_posix()
                if _inside(real_root, here / name):
                    skipped.append((rel, "link to a folder, not followed"))
                else:
                    problems.append(f"{rel}: link to a folder outside the mask folder, refused")
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() and not _inside(real_root, path):
                problems.append(f"{rel}: link to a file outside the mask folder, refused")
            elif not images.is_image_name(path):
                skipped.append((rel, "not an image file"))
            else:
                found.append((rel, path))
    return found


def _layout_hint(by_key: dict[str, Sample | None]) -> str:
    """How the project's images are laid out, e.g. "train/<class>/<image stem>.png", for a problem line."""
    depth = max((len(PurePosixPath(k).parts) for k in by_key), default=3)
    return {1: "<image stem>.png", 2: "<class>/<image stem>.png",
            3: "{train,val,test}/<class>/<image stem>.png"}.get(depth, "<folders>/<image stem>.png")


def _plan_png(project: Project, source: Path, progress: Progress, workers: int | None, rule: MaskRule | None):
    root = _mask_root(source)
    problems: list[str] = []
    skipped: list[tuple[str, str]] = []
    by_key: dict[str, Sample | None] = {}  # an image's path without its suffix, as export names its mask
    for s in project.samples():
        key = PurePosixPath(s.path).with_suffix("").as_posix()
        by_key[key] = None if key in by_key else s  # None: two images share the stem
    candidates, first_for = [], {}
    for rel, path in _mask_files(root, problems, skipped):
        key = PurePosixPath(rel).with_suffix("").as_posix()
        if key not in by_key:
            problems.append(f"{rel}: no image {key}.* in the project (masks are named as the images are: "
                            f"{_layout_hint(by_key)})")
        elif by_key[key] is None:
            folder, stem = PurePosixPath(key).parent.as_posix(), PurePosixPath(key).name
            problems.append(f"{rel}: ambiguous, several images in {folder} are named {stem}.*")
        elif by_key[key].id in first_for:
            problems.append(f"{rel}: duplicate, {first_for[by_key[key].id]} is a mask for the same image "
                            f"{by_key[key].path}")
        else:
            first_for[by_key[key].id] = rel
            candidates.append((rel, path, by_key[key]))

    def check(item):
        rel, path, sample = item
        try:
            layers = images.read_mask_layers(path, rule)
        except GradiaError as exc:
            return None, f"{rel}: {exc}"
        if layers.shape != (sample.height, sample.width):
            return None, (f"{rel}: mask is {layers.shape[1]}x{layers.shape[0]} but the image {sample.path} is "
                          f"{sample.width}x{sample.height}")
        avoid = coco.encode(layers.avoid) if layers.three_state else None
        return _Planned(sample, rel, coco.encode(layers.look), avoid), None

    planned = []
    for plan, problem in ordered_map(check, candidates, progress, "checking masks", workers):
        if problem:
            problems.append(problem)
        else:
            planned.append(plan)
    return planned, skipped, problems, len(problems)


# ---- COCO JSON ------------------------------------------------------------------------------------
def _plan_coco(project: Project, source: Path, progress: Progress):
    path = source / COCO_NAME if source.is_dir() and (source / COCO_NAME).is_file() else source
    report(progress, "checking annotations", 0, 1)
    plan = coco.plan_coco(coco.read_json(path), {s.path: s for s in project.samples()})
    planned = [_Planned(m.sample, m.where, coco.merged(m.rles) if m.rles else None,
                        coco.merged(m.avoid_rles) if m.avoid_rles else None) for m in plan.masks]
    report(progress, "checking annotations", 1, 1)
    return planned, plan.skipped, plan.problems, plan.n_problems


# ---- writing, all or nothing ----------------------------------------------------------------------
def _mask_sources(project: Project) -> dict[int, str]:
    """Where each stored mask came from ('import', 'painted'), to restore it exactly on rollback."""
    uri = f"file:{urllib.parse.quote((project.root / DB_NAME).as_posix())}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            return dict(conn.execute("SELECT sample_id, source FROM masks"))
    except sqlite3.Error:
        return {}


def _restore(project: Project, sample: Sample, before: tuple[bytes, str] | None) -> None:
    if before is None:
        project.delete_mask(sample.id)
        return
    data, source = before
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if img is not None and img.ndim == 3:
        img = img[..., :3].max(axis=2)
    layers = None if img is None else decode_layers(img) or MaskLayers.of(img)
    if layers is not None and layers.shape == (sample.height, sample.width) and not layers.empty:
        _write(project, sample, layers.look, layers.avoid if layers.three_state else None, source)
    else:  # a stored mask the store would not write again (wrong size): put its bytes back as they were
        atomic_write_bytes(project.mask_path(sample.id), data)


def _write(project: Project, sample: Sample, look: np.ndarray, avoid: np.ndarray | None, source: str) -> None:
    """Project.write_mask, with the "don't look here" layer only when there is one."""
    if avoid is None:
        project.write_mask(sample, look, source=source)
    else:
        project.write_mask(sample, look, source=source, avoid=avoid)


def _apply(project: Project, planned: list[_Planned], had: set[int], progress: Progress) -> None:
    """Write the planned masks; ``had``: ids of the samples whose mask they replace."""
    sources = _mask_sources(project) if any(p.sample.id in had for p in planned) else {}
    undo: list[tuple[Sample, tuple[bytes, str] | None]] = []
    current = None
    try:
        for n, current in enumerate(planned, 1):
            before = None
            if current.sample.id in had:
                with contextlib.suppress(GradiaError):  # a pipe swapped in is not waited on
                    before = (read_file_bytes(project.mask_path(current.sample.id)),
                              sources.get(current.sample.id, "painted"))
            undo.append((current.sample, before))
            _write(project, current.sample, *current.layers(), source="import")
            report(progress, "writing masks", n, len(planned))
    except BaseException as exc:
        failed = []
        for sample, before in reversed(undo):
            try:
                _restore(project, sample, before)
            except Exception as err:  # noqa: BLE001 (keep restoring the others)
                failed.append(f"{sample.path} ({err})")
        if failed:
            raise GradiaError(f"import failed at {current.where} ({exc}) and {len(failed)} masks could not be "
                              f"restored: {'; '.join(failed[:SHOWN_PROBLEMS])}") from exc
        if isinstance(exc, GradiaError):
            raise GradiaError(f"import failed at {current.where}, nothing changed: {exc}") from exc
        if isinstance(exc, OSError):
            raise GradiaError(f"import failed at {current.where}, nothing changed: "
                              f"{exc.strerror or exc}") from exc
        raise


def import_masks(project: Project, fmt: str, source: str | os.PathLike, overwrite: bool = False,
                 progress: Progress = None, workers: int | None = None,
                 mask_rule: MaskRule | None = None) -> ImportSummary:
    """Import masks from ``source`` (a PNG mask folder or a COCO JSON file); see the module docstring.
    ``mask_rule`` (PNG folders only) says how mask values become attention: by default only clear
    masks are accepted, a colour photograph or a JPEG is a problem (see core/mask_rule.py).

    Raises ImportRejected (a GradiaError listing the problems) when the input has any, Cancelled when
    ``progress`` raises it; in both cases the project is unchanged.
    """
    started = time.perf_counter()
    if fmt not in IMPORT_FORMATS:
        raise GradiaError(f"unknown import format {fmt!r} (expected {', '.join(IMPORT_FORMATS)})")
    if project.readonly:
        raise GradiaError(f"{project.root}: the project is open read-only")
    if fmt != "png" and mask_rule not in (None, MaskRule()):
        raise GradiaError("a mask threshold or channel applies to PNG mask folders, not to COCO RLE masks")
    source = Path(source).expanduser().resolve()
    if fmt == "png":
        planned, skipped, problems, count = _plan_png(project, source, progress, workers, mask_rule)
    else:
        planned, skipped, problems, count = _plan_coco(project, source, progress)
    if problems:
        raise ImportRejected(source, problems, count)
    summary = ImportSummary(str(source), fmt, skipped=list(skipped))
    avoided = project.avoid_pixels()
    had = {p.sample.id for p in planned if p.sample.has_mask or p.sample.id in avoided}  # a mask of either layer
    to_write = []
    for p in planned:
        if p.empty():
            summary.skipped.append((p.where, "empty mask, nothing to import"))
        elif p.sample.id in had and not overwrite:
            summary.skipped.append((p.where, "the sample already has a mask (overwrite to replace it)"))
        else:
            to_write.append(p)
    _apply(project, to_write, had, progress)
    summary.matched = [p.sample.path for p in to_write]
    summary.overwritten = [p.sample.path for p in to_write if p.sample.id in had]
    summary.seconds = time.perf_counter() - started
    return summary
