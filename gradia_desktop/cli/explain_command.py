"""`gradia explain`: a version's heatmaps written out, laid over each image and as raw CAM arrays.

The output is a new folder, built under a temporary name and renamed into place when complete:

    OUT/heatmaps/<image's path>.png   the image with the heatmap over it, in the canvas's colormaps
    OUT/cams/<image's path>.npy       the CAM at the image's size, float32 in [0, 1] (--cams npy)
    OUT/cams/<image's path>.npz       that CAM, the CAM at the layer's grid, the class probabilities
                                      and the class explained (--cams npz)
    OUT/explain.json                  the version, method, layer and one row per image

The heatmaps are the ones the app shows (training/explain.py): Grad-CAM of the predicted class, or
of the true class with --target true; --method picks another CAM method (training/cam_methods.py).
The project is opened read-only.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import numpy as np

from ..core.heatmap_image import COLORMAPS
from ..core.cam_method_names import CAM_METHODS, DEFAULT_METHOD
from ..core.records import SPLITS
from ..errors import GradiaError
from .options import add_output_flags

CAM_FORMATS = ("npy", "npz", "none")
LISTED_SKIPS = 20


def add_explain(sub) -> None:
    p = sub.add_parser("explain", help="write a version's heatmaps: overlays (PNG) and raw CAMs (.npy/.npz)",
                       description="Write a model version's Grad-CAM heatmaps for a split's images into a new "
                                   "folder: each image with its heatmap laid over it (heatmaps/), the CAM itself "
                                   "(cams/) and explain.json, one row per image. The project is only read.")
    p.add_argument("project", type=Path)
    p.add_argument("--version", help="model version, e.g. v2 or 2 (default: the latest)")
    p.add_argument("--split", choices=(*SPLITS, "all"), default="val", help="the images to explain")
    p.add_argument("--class", dest="class_name", metavar="CLASS", help="only this class's images")
    p.add_argument("--out", type=Path, required=True, help="new output folder (must not exist or be empty)")
    p.add_argument("--method", choices=CAM_METHODS, default=DEFAULT_METHOD,
                   help="the CAM method (gradcam: the app's and the paper's; all match pytorch-grad-cam)")
    p.add_argument("--target", choices=("predicted", "true"), default="predicted",
                   help="explain the class the model predicts, or the image's true class")
    p.add_argument("--cams", choices=CAM_FORMATS, default="npy",
                   help="npy: the CAM at the image's size; npz: also the CAM at the layer's grid, the class "
                        "probabilities and the class explained; none: overlays only")
    p.add_argument("--colormap", choices=tuple(COLORMAPS), default="jet", help="the overlay's colours")
    p.add_argument("--opacity", type=float, default=0.5, help="the heatmap's weight in the overlay, 0 to 1")
    p.add_argument("--batch-size", type=int, default=16, help="images per model pass")
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    add_output_flags(p)
    p.set_defaults(handler=run_explain)


def _output_names(samples) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """Per sample id, its path without the suffix (the name of its files); samples whose names would
    collide (the same stem in the same folder) are refused, naming why."""
    from ..core.safe_paths import clean_relative

    groups: dict[str, list] = {}
    for s in samples:
        groups.setdefault(PurePosixPath(clean_relative(s.path)).with_suffix("").as_posix(), []).append(s)
    names, refused = {}, []
    for name, group in groups.items():
        if len(group) == 1:
            names[group[0].id] = name
        else:
            refused += [(s.path, f"another image in the same folder has the stem {name}") for s in group]
    return names, refused


def _check_args(args) -> None:
    if not 0 <= args.opacity <= 1:
        raise GradiaError(f"--opacity {args.opacity:g}: must lie between 0 and 1")
    if args.batch_size < 1:
        raise GradiaError(f"--batch-size {args.batch_size}: must be at least 1")


def run_explain(args, progress):
    from ..core.export import check_new_folder
    from ..core.store import Project

    _check_args(args)
    out = args.out.expanduser().resolve()
    check_new_folder(out)
    with Project.open(args.project, readonly=True) as project:
        version = project.resolve_version(args.version)
        if version.checkpoint is None:
            raise GradiaError(f"{project.root}: v{version.id} has no checkpoint (its run ended {version.status})")
        if args.class_name is not None and args.class_name not in project.classes:
            raise GradiaError(f"--class {args.class_name}: no such class (classes: {', '.join(project.classes)})")
        samples = project.samples(split=None if args.split == "all" else args.split, class_name=args.class_name)
        if not samples:
            raise GradiaError(f"{project.root}: no images to explain in the {args.split} split")
        names, skipped = _output_names(samples)
        rows, more_skipped, layer = _write_all(project, version, [s for s in samples if s.id in names], names,
                                               out, args, progress)
    skipped += more_skipped
    for path, why in skipped[:LISTED_SKIPS]:
        progress.warn(f"gradia explain: warning: skipped {path}: {why}")
    if len(skipped) > LISTED_SKIPS:
        progress.warn(f"gradia explain: warning: ... and {len(skipped) - LISTED_SKIPS} more skipped "
                      "(--json lists them all)")
    result = {"out": str(out), "version": version.id, "method": args.method, "layer": layer, "target": args.target,
              "explained": len(rows), "skipped": [{"path": p, "reason": r} for p, r in skipped]}
    text = (f"wrote {len(rows)} heatmaps of v{version.id} ({args.method}, layer {layer}) to {out}"
            + (f"; {len(skipped)} skipped (named above)" if skipped else ""))
    return result, text


def _write_all(project, version, samples, names, out: Path, args, progress):
    """Explain ``samples`` batch by batch into a staged copy of ``out``; (rows, skipped, layer name)."""
    from ..core.atomic import staged_directory
    from ..core.progress import report
    from ..training.checkpoint import load_checkpoint
    from ..training.data import Normalizer
    from ..training.device import pick_device
    from ..training.explain import explain_images

    device = pick_device(args.device)
    model, layer, spec = load_checkpoint(project.root / version.checkpoint, device)
    normalise = Normalizer(device)
    rows, skipped = [], []
    try:
        with staged_directory(out) as stage:
            for start in range(0, len(samples), args.batch_size):
                batch, images = [], []
                for s in samples[start:start + args.batch_size]:
                    try:
                        images.append(project.load_image(s))
                        batch.append(s)
                    except (GradiaError, OSError, ValueError) as exc:
                        skipped.append((s.path, str(exc)))
                if batch:
                    targets = [s.class_idx for s in batch] if args.target == "true" else None
                    explained = explain_images(model, layer, spec.image_size, normalise, images, targets, args.method)
                    rows += [_write_one(stage, names[s.id], s, rgb, e, spec.classes, args)
                             for s, rgb, e in zip(batch, images, explained)]
                report(progress, "explaining", min(start + args.batch_size, len(samples)), len(samples))
            manifest = {"version": version.id, "method": args.method, "layer": spec.cam_layer,
                        "image_size": spec.image_size, "target": args.target, "colormap": args.colormap,
                        "opacity": args.opacity, "cams": args.cams, "classes": spec.classes, "images": rows}
            (stage / "explain.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    except FileExistsError:
        raise GradiaError(f"{out}: already exists and is not an empty folder (choose a new one)") from None
    except OSError as exc:
        raise GradiaError(f"{out}: cannot write the heatmaps ({exc.strerror or exc})") from None
    return rows, skipped, spec.cam_layer


def _write_one(stage: Path, name: str, sample, rgb: np.ndarray, explained, classes: list[str], args) -> dict:
    import cv2

    from ..core.heatmap_image import blend

    overlay = stage / "heatmaps" / f"{name}.png"
    overlay.parent.mkdir(parents=True, exist_ok=True)
    picture = blend(rgb, explained.cam, args.colormap, args.opacity)
    if not cv2.imwrite(str(overlay), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{overlay}: could not be written")
    row = {"path": sample.path, "split": sample.split, "class": sample.class_name,
           "predicted": classes[int(np.argmax(explained.probs))], "confidence": round(float(explained.probs.max()), 6),
           "explained_class": classes[explained.target], "heatmap": overlay.relative_to(stage).as_posix(),
           "cam": None}
    if args.cams != "none":
        cam_file = stage / "cams" / f"{name}.{args.cams}"
        cam_file.parent.mkdir(parents=True, exist_ok=True)
        if args.cams == "npy":
            np.save(cam_file, explained.cam.astype(np.float32))
        else:
            np.savez_compressed(cam_file, cam=explained.cam.astype(np.float32),
                                grid=explained.grid.astype(np.float32), probs=explained.probs.astype(np.float32),
                                target=np.int64(explained.target))
        row["cam"] = cam_file.relative_to(stage).as_posix()
    return row
