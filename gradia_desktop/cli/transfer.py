"""`gradia export` and `gradia import`: the mask dataset out of a project and back in (core.export, core.mask_import)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import GradiaError
from .options import add_output_flags


def _yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in ("yes", "y", "true", "1"):
        return True
    if value in ("no", "n", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: expected yes or no")


def _yes_no_any(text: str):
    value = text.strip().lower()
    return None if value == "any" else value if value == "auto" else _yes_no(text)


def _list_skipped(progress, command: str, skipped: list[tuple[str, str]], shown: int = 10) -> None:
    for entry, reason in skipped[:shown]:
        progress.warn(f"gradia {command}: skipped {entry}: {reason}")
    if len(skipped) > shown:
        progress.warn(f"gradia {command}: ... and {len(skipped) - shown} more skipped (--json lists them all)")


def add_mask_flags(p) -> None:
    """--mask-threshold and --mask-channel, for init and import (see core/mask_rule.py)."""
    from ..core.mask_rule import MASK_CHANNELS

    p.add_argument("--mask-threshold", type=float, metavar="T",
                   help="read mask values above T (0-255 scale) as attention: needed for JPEG masks, antialiased "
                        "edges and other masks that are not plainly binary")
    p.add_argument("--mask-channel", choices=MASK_CHANNELS,
                   help="the channel of a colour mask to read (max: the largest colour channel)")


def mask_rule(args):
    from ..core.mask_rule import MaskRule

    return MaskRule(args.mask_threshold, args.mask_channel)


# ---- export -----------------------------------------------------------------------------------
def add_export(sub) -> None:
    p = sub.add_parser("export", help="export masks as PNG, COCO RLE JSON and/or a manifest (CSV + JSON Lines)",
                       description="Write a new dataset folder: OUT/masks/{split}/<class>/<stem>.png (png), "
                                   "OUT/coco.json (coco), OUT/manifest.csv and OUT/manifest.jsonl (manifest), "
                                   "OUT/images/... (--with-images). Built under a temporary name and renamed "
                                   "into place when complete.")
    p.add_argument("project", type=Path)
    p.add_argument("--format", required=True, metavar="png|coco|manifest",
                   help="one format, or several separated by commas (e.g. png,coco,manifest)")
    p.add_argument("--out", type=Path, required=True, help="new output folder (must not exist or be empty)")
    p.add_argument("--split", choices=("train", "val", "test"))
    p.add_argument("--class", dest="class_name", metavar="CLASS")
    p.add_argument("--quadrant", choices=("RA", "UA", "RI", "UI"), help="under the model version (--version)")
    p.add_argument("--judged", type=_yes_no, metavar="yes|no", help="judged by a human under the model version")
    p.add_argument("--has-mask", type=_yes_no_any, default="auto", metavar="yes|no|any",
                   help="default: yes for png/coco alone, any once the manifest is asked for")
    p.add_argument("--version", help="model version for the manifest and the quadrant/judged filters "
                                     "(default: the latest; 'none' for none)")
    p.add_argument("--with-images", action="store_true", help="copy the images too: a self-contained dataset")
    add_output_flags(p)
    p.set_defaults(handler=run_export)


def run_export(args, progress):
    from ..core.export import AUTO, ExportFilter, export_masks
    from ..core.store import Project

    flt = ExportFilter(split=args.split, class_name=args.class_name, quadrant=args.quadrant, judged=args.judged,
                       has_mask=AUTO if args.has_mask == "auto" else args.has_mask)
    with Project.open(args.project, readonly=True) as project:
        summary = export_masks(project, args.out, args.format, flt, version=args.version,
                               with_images=args.with_images, progress=progress)
    _list_skipped(progress, "export", summary.skipped)
    return summary.to_dict(), summary.text()


# ---- import -----------------------------------------------------------------------------------
def add_import(sub) -> None:
    p = sub.add_parser("import", help="import masks from a PNG mask folder or a COCO RLE JSON file",
                       description="Import masks into an existing project. Every entry is checked first; any "
                                   "problem (unknown image, malformed RLE, size mismatch, '..' or absolute path, "
                                   "duplicate) rejects the whole import and nothing changes.")
    p.add_argument("project", type=Path)
    p.add_argument("--format", required=True, choices=("png", "coco"))
    p.add_argument("--from", dest="source", type=Path, required=True,
                   help="png: MASKS/{split}/<class>/<image stem>.png, or MASKS/<class>/<image stem>.png for class "
                        "folders: each image's path with .png (or an export folder); coco: the JSON file")
    p.add_argument("--overwrite", action="store_true", help="replace masks that samples already have (default: skip)")
    add_mask_flags(p)
    add_output_flags(p)
    p.set_defaults(handler=run_import)


def run_import(args, progress):
    from ..core.mask_import import ImportRejected, import_masks
    from ..core.store import Project

    with Project.open(args.project) as project:
        if project.readonly:
            raise GradiaError(f"{project.root}: the project is read-only (no write permission)")
        try:
            summary = import_masks(project, args.format, args.source, overwrite=args.overwrite, progress=progress,
                                   mask_rule=mask_rule(args))
        except ImportRejected as exc:
            for problem in exc.problems[3:]:  # the first ones are in the error line
                progress.warn(f"gradia import: problem: {problem}")
            raise
    _list_skipped(progress, "import", summary.skipped)
    return summary.to_dict(), summary.text()


REGISTRY = (add_export, add_import)
