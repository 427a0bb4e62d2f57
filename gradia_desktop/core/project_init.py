"""Create a project from an ``IMAGES/{train,val,test}/<class>/<file>`` tree (plus optional masks).

Everything is read and checked before anything is written; the project folder is built under a
temporary name and renamed into place, so a failure leaves no half-made project behind.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GradiaError
from . import images
from .atomic import staged_directory
from .mask_rule import MaskRule
from .progress import Progress, report
from .records import SPLITS
from .store import Project


@dataclass
class _Entry:
    split: str
    class_name: str
    path: Path  # absolute
    rel: str  # relative to the images root, '/'-separated
    width: int = 0
    height: int = 0
    mask: np.ndarray | None = None


def _visible(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise GradiaError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None


def _scan_images(images_dir: Path) -> list[_Entry]:
    if not images_dir.is_dir():
        raise GradiaError(f"{images_dir}: images folder not found")
    present = [s for s in SPLITS if (images_dir / s).is_dir()]
    if "train" not in present:
        raise GradiaError(f"{images_dir}: no train/ folder (expected IMAGES/{{train,val,test}}/<class>/<file>)")
    entries: list[_Entry] = []
    train_classes: set[str] = set()
    for split in present:
        for class_dir in _visible(images_dir / split):
            if not class_dir.is_dir():
                raise GradiaError(f"{class_dir}: files must sit in a class folder (IMAGES/{split}/<class>/<file>)")
            if split != "train" and class_dir.name not in train_classes:
                raise GradiaError(f"{class_dir}: class {class_dir.name!r} has no images in train/")
            files = [p for p in _visible(class_dir)]
            if not files:
                raise GradiaError(f"{class_dir}: empty class folder (no images)")
            for path in files:
                if path.is_dir():
                    raise GradiaError(f"{path}: unexpected folder inside a class folder")
                if not images.is_image_name(path):
                    raise GradiaError(f"{path}: not an image file (suffix {path.suffix or 'missing'})")
                rel = path.relative_to(images_dir).as_posix()
                entries.append(_Entry(split, class_dir.name, path, rel))
            if split == "train":
                train_classes.add(class_dir.name)
    if len(train_classes) < 2:
        raise GradiaError(f"{images_dir / 'train'}: needs at least two class folders, found {len(train_classes)}")
    return entries


def _read_sizes(entries: list[_Entry], progress: Progress) -> None:
    def size_of(entry: _Entry) -> None:
        # decodes (a JPEG at 1/8 size), so corrupt files fail here, not in training; the size is upright
        entry.width, entry.height = images.verify_image(entry.path)

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        for done, _ in enumerate(pool.map(size_of, entries), 1):
            if done % 64 == 0 or done == len(entries):
                report(progress, "reading images", done, len(entries))


def _mask_files(masks_dir: Path) -> list[Path]:
    """Every visible entry under ``masks_dir`` but folders: pipes, devices and broken links included,
    so that each is refused by name rather than skipped in silence."""
    found = []
    for folder, dirnames, filenames in os.walk(masks_dir, onerror=_walk_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(folder, name) for name in filenames if not name.startswith(".")]
    return sorted(found)


def _walk_error(exc: OSError) -> None:
    raise GradiaError(f"{exc.filename}: cannot list the folder ({exc.strerror or exc})")


def _attach_masks(entries: list[_Entry], masks_dir: Path, progress: Progress, rule: MaskRule | None) -> None:
    if not masks_dir.is_dir():
        raise GradiaError(f"{masks_dir}: masks folder not found")
    by_key: dict[tuple[str, str, str], _Entry | None] = {}
    for entry in entries:
        key = (entry.split, entry.class_name, entry.path.stem)
        by_key[key] = None if key in by_key else entry  # None: two images share the stem
    mask_files = _mask_files(masks_dir)
    for done, path in enumerate(mask_files, 1):
        parts = path.relative_to(masks_dir).parts
        if len(parts) != 3 or parts[0] not in SPLITS:
            raise GradiaError(f"{path}: masks must sit at MASKS/{{train,val,test}}/<class>/<image stem>.png")
        key = (parts[0], parts[1], path.stem)
        if key not in by_key:
            raise GradiaError(f"{path}: no image {parts[0]}/{parts[1]}/{path.stem}.* for this mask")
        entry = by_key[key]
        if entry is None:
            raise GradiaError(f"{path}: ambiguous, several images in {parts[0]}/{parts[1]} are named {path.stem}.*")
        mask = images.read_mask(path, rule)
        if mask.shape != (entry.height, entry.width):
            raise GradiaError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but its image "
                              f"{entry.rel} is {entry.width}x{entry.height}")
        entry.mask = mask
        report(progress, "reading masks", done, len(mask_files))


def create_project(project_dir: str | os.PathLike, images_dir: str | os.PathLike,
                   masks_dir: str | os.PathLike | None = None, progress: Progress = None,
                   mask_rule: MaskRule | None = None) -> Project:
    """Scan, check, and create a project; returns it opened. ``mask_rule`` says how mask values become
    attention (default: only clear masks are accepted; see core/mask_rule.py)."""
    project_dir = Path(project_dir).expanduser().resolve()
    images_dir = Path(images_dir).expanduser().resolve()
    if project_dir.exists() and (not project_dir.is_dir() or any(project_dir.iterdir())):
        raise GradiaError(f"{project_dir}: already exists and is not an empty folder")
    entries = _scan_images(images_dir)
    _read_sizes(entries, progress)
    if masks_dir is not None:
        _attach_masks(entries, Path(masks_dir).expanduser().resolve(), progress, mask_rule)
    classes = sorted({e.class_name for e in entries if e.split == "train"})
    with staged_directory(project_dir) as stage:
        conn = Project.initialise(stage, images_dir, classes)
        try:
            conn.execute("BEGIN")
            for sample_id, e in enumerate(entries, 1):
                conn.execute("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                             (sample_id, e.rel, classes.index(e.class_name), e.split, e.width, e.height))
                if e.mask is not None:
                    images.write_mask_png(stage / "masks" / f"{sample_id}.png", e.mask, atomic=False)
                    conn.execute("INSERT INTO masks VALUES (?, ?, 'import', strftime('%s','now'))",
                                 (sample_id, int(e.mask.sum())))
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        (stage / "models").mkdir()
    return Project.open(project_dir)
