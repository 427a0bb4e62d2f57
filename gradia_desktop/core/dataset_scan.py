"""What an images folder (and a masks folder) holds, before a project is made from it: the layout, the
classes, the images per split and class, the entries skipped and why, and the masks that match.

Only lists files, never decodes them (project_init decodes while creating), so the GUI can show the
result at once; the CLI and the GUI read a folder through this one function.

Two layouts:

* split folders: IMAGES/{train,val,test}/<class>/<file>, masks at MASKS/{train,val,test}/<class>/<stem>.png;
* class folders: IMAGES/<class>/<file>, split by a seeded, stratified split (core/split.py), masks at
  MASKS/<class>/<stem>.png.

With either, the masks may also lie side by side in MASKS itself, named by their image's file name
or stem (MASKS/<file> or MASKS/<stem>.png), as the GRADIA reference code keeps its attention labels.

What does not belong to the layout (README.txt, Thumbs.db, a folder inside a class folder, a file
outside any class folder, a class folder without images, a mask without its image) is skipped, each
with its reason. Names starting with a dot are hidden and not mentioned at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GradiaError
from . import images as image_files
from .records import SPLITS
from .split import FOLDERS_RECORD, SplitSpec, assign_splits, check_fractions

SPLIT_FOLDERS = "split folders"  # IMAGES/{train,val,test}/<class>/<file>
CLASS_FOLDERS = "class folders"  # IMAGES/<class>/<file>
SPLIT_HINT = "--split 0.7,0.15,0.15"


@dataclass(frozen=True)
class Problem:
    """An entry left out of the project, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class ScannedImage:
    split: str
    class_name: str
    path: Path  # absolute
    rel: str  # relative to the images folder, '/'-separated


@dataclass
class DatasetScan:
    images_dir: Path
    layout: str  # SPLIT_FOLDERS or CLASS_FOLDERS
    classes: list[str]
    images: list[ScannedImage]  # by split, class, then file name: the order of the project's sample ids
    skipped: list[Problem] = field(default_factory=list)
    split: SplitSpec | None = None  # the split made here (CLASS_FOLDERS only)
    masks_dir: Path | None = None
    masks: dict[str, Path] = field(default_factory=dict)  # image rel -> its mask file
    masks_skipped: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        return count_images(self.classes, self.images)

    def split_totals(self) -> dict[str, int]:
        return {s: sum(per_class.values()) for s, per_class in self.counts().items()}

    def split_record(self) -> dict:
        """How the project made from this scan is split (stored in its meta table)."""
        return self.split.record() if self.split is not None else dict(FOLDERS_RECORD)

    @property
    def problems(self) -> list[Problem]:
        return self.skipped + self.masks_skipped


def count_images(classes: list[str], images: list[ScannedImage]) -> dict[str, dict[str, int]]:
    """split -> class -> number of images, every split and class present (zeros included)."""
    table = {split: dict.fromkeys(classes, 0) for split in SPLITS}
    for image in images:
        table[image.split][image.class_name] += 1
    return table


def _visible(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise GradiaError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None


def detect_layout(images_dir: str | os.PathLike) -> str:
    """SPLIT_FOLDERS when IMAGES holds train/, CLASS_FOLDERS otherwise; a one-line error for a folder
    that is missing, or that holds val/ or test/ without train/."""
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise GradiaError(f"{images_dir}: images folder not found")
    if (images_dir / "train").is_dir():
        return SPLIT_FOLDERS
    if any((images_dir / s).is_dir() for s in SPLITS[1:]):
        raise GradiaError(f"{images_dir}: no train/ folder beside val/ or test/ "
                          "(expected IMAGES/{train,val,test}/<class>/<file>)")
    return CLASS_FOLDERS


def _list_class(class_dir: Path, skipped: list[Problem]) -> list[Path]:
    """The image files of one class folder; everything else goes to ``skipped``."""
    found = []
    for path in _visible(class_dir):
        if path.is_dir():
            skipped.append(Problem(path, "a folder inside a class folder"))
        elif not image_files.is_image_name(path):
            skipped.append(Problem(path, f"not an image file (suffix {path.suffix or 'missing'})"))
        else:
            found.append(path)
    if not found:
        skipped.append(Problem(class_dir, "no images in this class folder"))
    return found


def _list_class_folders(folder: Path, where: str, skipped: list[Problem]) -> dict[str, list[Path]]:
    """class name -> image files, for the class folders inside ``folder`` (IMAGES or IMAGES/<split>)."""
    by_class = {}
    for entry in _visible(folder):
        if entry.is_dir():
            files = _list_class(entry, skipped)
            if files:
                by_class[entry.name] = files
        else:
            skipped.append(Problem(entry, f"not inside a class folder (expected {where}/<class>/<file>)"))
    return by_class


def _scan_split_folders(images_dir: Path, skipped: list[Problem]) -> tuple[list[str], list[ScannedImage]]:
    listed = {}
    for entry in _visible(images_dir):
        if entry.is_dir() and entry.name in SPLITS:
            listed[entry.name] = _list_class_folders(entry, f"IMAGES/{entry.name}", skipped)
        elif entry.is_dir():
            skipped.append(Problem(entry, "not a split folder (only train/, val/ and test/ are read)"))
        else:
            skipped.append(Problem(entry, "not inside a split folder "
                                          "(expected IMAGES/{train,val,test}/<class>/<file>)"))
    classes = sorted(listed["train"])
    for split in SPLITS[1:]:
        for name in listed.get(split, {}):
            if name not in classes:
                raise GradiaError(f"{images_dir / split / name}: class {name!r} has no images in train/")
    _require_two_classes(images_dir / "train", classes)
    found = [ScannedImage(split, name, path, path.relative_to(images_dir).as_posix())
             for split in SPLITS for name, paths in sorted(listed.get(split, {}).items()) for path in paths]
    return classes, found


def _scan_class_folders(images_dir: Path, spec: SplitSpec | None,
                        skipped: list[Problem]) -> tuple[list[str], list[ScannedImage]]:
    by_class = _list_class_folders(images_dir, "IMAGES", skipped)
    if not by_class and not any(p.is_dir() for p in _visible(images_dir)):
        raise GradiaError(f"{images_dir}: no class folders and no train/ folder (expected IMAGES/<class>/<file>, "
                          "or IMAGES/{train,val,test}/<class>/<file>)")
    classes = sorted(by_class)
    _require_two_classes(images_dir, classes)
    if spec is None:
        raise GradiaError(f"{images_dir}: class folders without train/, val/ and test/; say how to split them, "
                          f"e.g. {SPLIT_HINT} (seeded by --seed, stored in the project)")
    rels = {name: [p.relative_to(images_dir).as_posix() for p in paths] for name, paths in by_class.items()}
    split_of = assign_splits(rels, spec)
    found = [ScannedImage(split_of[rel], name, images_dir / rel, rel) for name in classes for rel in rels[name]]
    order = {s: i for i, s in enumerate(SPLITS)}
    found.sort(key=lambda image: order[image.split])  # stable: class, then file name, within each split
    return classes, found


def _require_two_classes(folder: Path, classes: list[str]) -> None:
    if len(classes) < 2:
        raise GradiaError(f"{folder}: needs at least two class folders with images, found {len(classes)}")


# ---- masks ------------------------------------------------------------------------------------
def _mask_files(masks_dir: Path) -> list[Path]:
    """Every visible entry under ``masks_dir`` but folders: pipes, devices and broken links included,
    so that each is refused by name when read rather than skipped in silence."""
    found = []
    for folder, dirnames, filenames in os.walk(masks_dir, onerror=_walk_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(folder, name) for name in filenames if not name.startswith(".")]
    return sorted(found)


def _walk_error(exc: OSError) -> None:
    raise GradiaError(f"{exc.filename}: cannot list the folder ({exc.strerror or exc})")


def _match_masks(scan: DatasetScan, masks_dir: Path) -> None:
    """Fill ``scan.masks`` (image rel -> mask file) and ``scan.masks_skipped``."""
    if not masks_dir.is_dir():
        raise GradiaError(f"{masks_dir}: masks folder not found")
    files = _mask_files(masks_dir)
    if files and all(path.parent == masks_dir for path in files):
        _match_flat_masks(scan, files)
        return
    split_folders = scan.layout == SPLIT_FOLDERS
    place = "MASKS/{train,val,test}/<class>/<image stem>.png" if split_folders else "MASKS/<class>/<image stem>.png"
    by_key: dict[tuple[str, ...], str | None] = {}
    for image in scan.images:
        key = (image.split, image.class_name, image.path.stem) if split_folders else (image.class_name, image.path.stem)
        by_key[key] = None if key in by_key else image.rel  # None: several images share the stem
    for path in files:
        parts = path.relative_to(masks_dir).parts
        key = (*parts[:-1], path.stem)
        if not image_files.is_image_name(path):
            reason = f"not an image file (suffix {path.suffix or 'missing'})"
        elif len(parts) != (3 if split_folders else 2) or (split_folders and parts[0] not in SPLITS):
            reason = f"not where a mask belongs ({place})"
        elif key not in by_key:
            reason = f"no image {'/'.join(key)}.* for this mask"
        elif by_key[key] is None:
            reason = f"ambiguous: several images in {'/'.join(key[:-1])} are named {path.stem}.*"
        else:
            scan.masks[by_key[key]] = path
            continue
        scan.masks_skipped.append(Problem(path, reason))


def _match_flat_masks(scan: DatasetScan, files: list[Path]) -> None:
    """Masks side by side in one folder, named by their image's file name (``0001.jpg``, as the GRADIA
    reference code keeps them) or its stem (``0001.png``); a name several images share is ambiguous."""
    by_name: dict[str, str | None] = {}
    by_stem: dict[str, str | None] = {}
    for image in scan.images:
        for table, key in ((by_name, image.path.name), (by_stem, image.path.stem)):
            table[key] = None if key in table else image.rel
    for path in files:
        table, key = (by_name, path.name) if path.name in by_name else (by_stem, path.stem)
        if not image_files.is_image_name(path):
            reason = f"not an image file (suffix {path.suffix or 'missing'})"
        elif key not in table:
            reason = f"no image named {path.name} or {path.stem}.* for this mask"
        elif table[key] is None:
            reason = f"ambiguous: several images are named {key}{'' if table is by_name else '.*'}"
        else:
            scan.masks[table[key]] = path
            continue
        scan.masks_skipped.append(Problem(path, reason))


def scan_dataset(images_dir: str | os.PathLike, masks_dir: str | os.PathLike | None = None,
                 split: tuple[float, float, float] | None = None, seed: int = 0) -> DatasetScan:
    """List ``images_dir`` (and ``masks_dir``): see the module docstring. ``split`` (train, val and
    test fractions) is required for class folders and refused for split folders.

    Raises a one-line GradiaError for what no project can be made from: a missing folder, fewer
    than two classes, a val/test class absent from train, class folders without a split."""
    images_dir = Path(images_dir).expanduser().resolve()
    layout = detect_layout(images_dir)
    if split is not None and layout == SPLIT_FOLDERS:
        raise GradiaError(f"{images_dir}: already split into train/, val/ and test/; a split such as "
                          f"{SPLIT_HINT} is only for class folders (IMAGES/<class>/<file>)")
    spec = SplitSpec(check_fractions(split), int(seed)) if split is not None else None
    skipped: list[Problem] = []
    if layout == SPLIT_FOLDERS:
        classes, found = _scan_split_folders(images_dir, skipped)
    else:
        classes, found = _scan_class_folders(images_dir, spec, skipped)
    scan = DatasetScan(images_dir, layout, classes, found, skipped, spec)
    if masks_dir is not None:
        scan.masks_dir = Path(masks_dir).expanduser().resolve()
        _match_masks(scan, scan.masks_dir)
    return scan
