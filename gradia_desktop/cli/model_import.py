"""`gradia import-model`: a model trained elsewhere becomes the project's next version (training/import_model.py)."""

from __future__ import annotations

from pathlib import Path

from .options import add_output_flags
from .report_lines import split_line


def add_import_model(sub) -> None:
    p = sub.add_parser("import-model", help="make a model trained elsewhere a version: predictions, heatmaps, matrix",
                       description="Load a weights file (.pt, .pth or .safetensors, read with weights-only "
                                   "semantics) for ARCH with the project's classes, copy it into the project as a "
                                   "new version and evaluate every split, so its heatmaps can be judged and its "
                                   "Reasonability Matrix built without training here. Every key must fit, the "
                                   "classifier head included.")
    p.add_argument("project", type=Path)
    p.add_argument("--arch", required=True, help="the model's architecture (`gradia models` lists them)")
    p.add_argument("--weights-file", required=True, type=Path, help="the trained weights")
    p.add_argument("--cam-layer", help="dotted module path for Grad-CAM (default: the last convolutional block; "
                                       "`gradia layers ARCH` lists them)")
    p.add_argument("--image-size", type=int, help="input size in px the model was trained at (default 64 for tiny, "
                                                  "224 otherwise)")
    p.add_argument("--started-from", choices=("imagenet", "random"),
                   help="the weights the model was first trained from, where a guided run from this version "
                        "restarts (default: imagenet, random for tiny)")
    p.add_argument("--device", default="auto", help="where to evaluate: auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    add_output_flags(p)
    p.set_defaults(handler=run_import_model)


def run_import_model(args, progress):
    from ..core.store import Project
    from ..training.import_model import import_model

    with Project.open(args.project) as project:
        done = import_model(project, args.arch, args.weights_file, args.cam_layer, args.image_size,
                            args.started_from, args.device, progress=progress,
                            warn=lambda line: progress.warn(f"gradia import-model: {line}"))
    out = {"version": done.version, "arch": done.arch, "cam_layer": done.cam_layer, "image_size": done.image_size,
           "seconds": done.seconds, **done.summaries}
    lines = [f"model version v{done.version} (imported {done.arch}, layer {done.cam_layer}, {done.image_size} px) "
             f"from {args.weights_file}"]
    lines += [split_line(split, summary) for split, summary in done.summaries.items()]
    lines.append(f"next: gradia matrix {args.project} --version {done.version}   (or judge its heatmaps in the app)")
    return out, "\n".join(lines)
