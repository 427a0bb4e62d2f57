"""Create a project from an images folder (plus optional masks): IMAGES/{train,val,test}/<class>/<file>,
or IMAGES/<class>/<file> with a seeded split (core/dataset_scan.py lists the folder, core/split.py splits).

Entries that are not images are skipped, and images that cannot be decoded are left out, each with its
reason (``InitResult``); with ``strict`` any of them refuses the whole folder, all listed at once.
Everything is read and checked before anything is written; the project folder is built under a
temporary name and renamed into place, so a failure leaves no half-made project behind.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path


from ..errors import GradiaError
from . import images
from .atomic import staged_directory
from .dataset_scan import DatasetScan, Problem, ScannedImage, count_images, scan_dataset
from .mask_layers import MaskLayers
from .mask_rule import MaskRule
from .progress import Progress, report
from .split import SPLIT_META_KEY
from .store import Project

LISTED_PROBLEMS = 5  # in a refusal's one line; the exception carries them all


class DatasetRefused(GradiaError):
    """``strict``: the folder holds entries that would be skipped or left out; ``problems`` lists them all."""

    def __init__(self, images_dir: Path, problems: list[Problem]):
        self.images_dir, self.problems = images_dir, problems
        shown = "; ".join(str(p) for p in problems[:LISTED_PROBLEMS])
        more = f"; and {len(problems) - LISTED_PROBLEMS} more" if len(problems) > LISTED_PROBLEMS else ""
        super().__init__(f"{images_dir}: {len(problems)} entr{'y' if len(problems) == 1 else 'ies'} "
                         f"refused (strict): {shown}{more}")


@dataclass
class _Entry:
    image: ScannedImage
    width: int = 0
    height: int = 0
    mask: MaskLayers | None = None


@dataclass
class InitResult:
    project: Project  # open; the caller closes it
    scan: DatasetScan  # what was listed: classes, skipped entries, masks matched
    counts: dict[str, dict[str, int]]  # split -> class -> images in the project
    masks: int  # masks imported
    left_out: list[Problem] = field(default_factory=list)  # unreadable images, and the masks of those images

    def split_totals(self) -> dict[str, int]:
        return {split: sum(per_class.values()) for split, per_class in self.counts.items()}


def _problem(path: Path, exc: GradiaError) -> Problem:
    """The error's reason without the path it starts with (the Problem names the path)."""
    text, prefix = str(exc), f"{path}: "
    return Problem(path, text[len(prefix):] if text.startswith(prefix) else text)


def _read_sizes(entries: list[_Entry], progress: Progress) -> list[Problem]:
    """Decode each image (a JPEG at 1/8 size) for its upright size; the unreadable ones, in order."""
    def size_of(entry: _Entry) -> Problem | None:
        try:
            entry.width, entry.height = images.verify_image(entry.image.path)
        except GradiaError as exc:
            return _problem(entry.image.path, exc)
        return None

    unreadable = []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        for done, problem in enumerate(pool.map(size_of, entries), 1):
            if problem is not None:
                unreadable.append(problem)
            if done % 64 == 0 or done == len(entries):
                report(progress, "reading images", done, len(entries))
    return unreadable


def _require_training_images(scan: DatasetScan, entries: list[_Entry], lost: set[Path]) -> None:
    trained = {e.image.class_name for e in entries if e.image.split == "train"}
    for name in scan.classes:
        if name not in trained:
            unreadable = [i.path for i in scan.images if i.class_name == name and i.split == "train" and i.path in lost]
            raise GradiaError(f"{unreadable[0]}: class {name!r} has no readable training image left "
                              f"({len(unreadable)} unreadable)")


def _attach_masks(entries: list[_Entry], scan: DatasetScan, progress: Progress, rule: MaskRule | None) -> None:
    todo = [(e, scan.masks[e.image.rel]) for e in entries if e.image.rel in scan.masks]
    for done, (entry, path) in enumerate(todo, 1):
        mask = images.read_mask_layers(path, rule)
        if mask.shape != (entry.height, entry.width):
            raise GradiaError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but its image "
                              f"{entry.image.rel} is {entry.width}x{entry.height}")
        entry.mask = mask
        report(progress, "reading masks", done, len(todo))


def check_project_target(project_dir: Path) -> None:
    """A one-line GradiaError unless ``project_dir`` can become a new project (missing, or an empty folder)."""
    if project_dir.exists() and (not project_dir.is_dir() or any(project_dir.iterdir())):
        raise GradiaError(f"{project_dir}: already exists and is not an empty folder")


def _write(project_dir: Path, scan: DatasetScan, entries: list[_Entry]) -> None:
    with staged_directory(project_dir) as stage:
        conn = Project.initialise(stage, scan.images_dir, scan.classes)
        try:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO meta VALUES (?, ?)", (SPLIT_META_KEY, json.dumps(scan.split_record())))
            for sample_id, e in enumerate(entries, 1):
                conn.execute("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                             (sample_id, e.image.rel, scan.classes.index(e.image.class_name), e.image.split,
                              e.width, e.height))
                if e.mask is not None:
                    images.write_mask_png(stage / "masks" / f"{sample_id}.png", e.mask.look, atomic=False,
                                          avoid=e.mask.avoid)
                    conn.execute("INSERT INTO masks VALUES (?, ?, 'import', strftime('%s','now'))",
                                 (sample_id, int(e.mask.look.sum())))
                    if e.mask.three_state:
                        conn.execute("INSERT INTO mask_avoid VALUES (?, ?)", (sample_id, int(e.mask.avoid.sum())))
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        (stage / "models").mkdir()


def init_project(project_dir: str | os.PathLike, images_dir: str | os.PathLike,
                 masks_dir: str | os.PathLike | None = None, progress: Progress = None,
                 mask_rule: MaskRule | None = None, split: tuple[float, float, float] | None = None,
                 seed: int = 0, strict: bool = False) -> InitResult:
    """Scan, check, and create a project; returns it opened, with what was skipped and left out.

    ``split``/``seed``: the train, val and test fractions for class folders (IMAGES/<class>/<file>;
    see core/split.py). ``strict``: refuse (DatasetRefused, every problem listed) rather than skip
    entries that are not images or leave out unreadable images. ``mask_rule`` says how mask values
    become attention (default: only clear masks are accepted; see core/mask_rule.py); a mask that
    cannot be read or does not fit its image refuses the folder either way."""
    project_dir = Path(project_dir).expanduser().resolve()
    check_project_target(project_dir)
    scan = scan_dataset(images_dir, masks_dir, split, seed)
    entries = [_Entry(image) for image in scan.images]
    unreadable = _read_sizes(entries, progress)
    if strict and (scan.problems or unreadable):
        raise DatasetRefused(scan.images_dir, scan.problems + unreadable)
    lost = {p.path for p in unreadable}
    entries = [e for e in entries if e.image.path not in lost]
    _require_training_images(scan, entries, lost)
    left_out = list(unreadable)
    for image in scan.images:
        if image.path in lost and image.rel in scan.masks:
            left_out.append(Problem(scan.masks[image.rel], f"its image {image.rel} was left out"))
    _attach_masks(entries, scan, progress, mask_rule)
    _write(project_dir, scan, entries)
    return InitResult(Project.open(project_dir), scan, count_images(scan.classes, [e.image for e in entries]),
                      sum(e.mask is not None for e in entries), left_out)


def create_project(project_dir: str | os.PathLike, images_dir: str | os.PathLike,
                   masks_dir: str | os.PathLike | None = None, progress: Progress = None,
                   mask_rule: MaskRule | None = None, split: tuple[float, float, float] | None = None,
                   seed: int = 0, strict: bool = False) -> Project:
    """``init_project``'s project alone (what was skipped or left out is not reported)."""
    return init_project(project_dir, images_dir, masks_dir, progress, mask_rule, split, seed, strict).project
