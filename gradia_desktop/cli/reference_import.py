"""`gradia import-reference`: work kept as the GRADIA reference code keeps it, made a project in one command.

The reference code reads ImageFolder splits (DATA/train/<class>/<file>, DATA/val/..., DATA/test/...),
attention labels as image files in one folder named as their images (DATA/label/<file>), and the
expert's judgements of its model as JSON keyed by file name (reasonablity_val.json:
``{"file.jpg": "Unreasonable Accurate", ...}``). This command runs what `gradia init`, `gradia
import-model` and `gradia judge --import` run, in that order: every file is checked before the
project is created, and a failure after that leaves the project as far as it got (named in the
error), never a half-written file.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GradiaError
from .options import add_output_flags
from .report_lines import LISTED_WARNINGS

LABEL_FOLDERS = ("label", "labels", "attention_label", "attention")  # looked for in DATA, in this order
DEFAULT_THRESHOLD = 127.0  # the reference labels are often JPEGs: soft edges, so a threshold is needed


def add_import_reference(sub) -> None:
    p = sub.add_parser("import-reference",
                       help="a dataset, model and judgements kept as the GRADIA reference code keeps them, as a "
                            "project in one command",
                       description="Create PROJECT from DATA/{train,val,test}/<class>/<file> with the attention "
                                   "labels of --labels (image files named as their images), import the model "
                                   "trained on it (--arch, --weights-file) as v1, and record the authors' "
                                   "judgement files (--reasonability) for it.")
    p.add_argument("project", type=Path, help="the new project folder")
    p.add_argument("--data", type=Path, required=True, help="DATA: train/, val/ (and test/) class folders")
    p.add_argument("--labels", type=Path, help="the attention labels (default: the first of DATA/" +
                   ", DATA/".join(LABEL_FOLDERS) + " that exists; none if none does)")
    p.add_argument("--mask-threshold", type=float, default=DEFAULT_THRESHOLD,
                   help="label values above this (0-255) are attention")
    p.add_argument("--arch", help="the reference model's architecture (with --weights-file)")
    p.add_argument("--weights-file", type=Path, help="the reference model's weights (.pth, .pth.tar, .pt, "
                                                     ".safetensors; read with weights-only semantics)")
    p.add_argument("--image-size", type=int, help="the size the model was trained at (default 224; 64 for tiny)")
    p.add_argument("--reasonability", type=Path, action="append", default=[], metavar="FILE",
                   help="the authors' judgement JSON for that model (repeatable, e.g. reasonablity_val.json)")
    p.add_argument("--device", default="auto", help="where to evaluate the model")
    add_output_flags(p)
    p.set_defaults(handler=run_import_reference)


def _labels_folder(args) -> Path | None:
    if args.labels is not None:
        return args.labels
    return next((args.data / name for name in LABEL_FOLDERS if (args.data / name).is_dir()), None)


def run_import_reference(args, progress):
    from ..core.judgement_file import read_authors_file
    from ..core.mask_rule import MaskRule
    from ..core.project_init import init_project

    if (args.arch is None) != (args.weights_file is None):
        raise GradiaError("--arch and --weights-file go together: the model trained on the dataset")
    if args.reasonability and args.weights_file is None:
        raise GradiaError("--reasonability judges a model's heatmaps: give the model too (--arch, --weights-file)")
    if args.weights_file is not None and not args.weights_file.is_file():
        raise GradiaError(f"{args.weights_file}: weights file not found")
    judged = [(path, read_authors_file(path)) for path in args.reasonability]  # every file checked first
    labels = _labels_folder(args)
    made = init_project(args.project, args.data, labels, progress=progress,
                        mask_rule=MaskRule(args.mask_threshold, None))
    skipped = [*made.scan.problems, *made.left_out]
    for problem in skipped[:LISTED_WARNINGS]:
        progress.warn(f"gradia import-reference: warning: skipped {problem}")
    with made.project as project:
        root = project.root
        result = {"project": str(root), "samples": sum(made.split_totals().values()), "masks": made.masks,
                  "labels": None if labels is None else str(labels), "version": None, "judgements": []}
        lines = [f"created {root}: {result['samples']} samples, {made.masks} masks"
                 + (f" from {labels}" if labels is not None else " (no label folder)")
                 + (f"; {len(skipped)} files skipped (the first named above)" if skipped else "")]
        if args.weights_file is not None:
            lines += _model_and_judgements(project, args, judged, progress, result)
    return result, "\n".join(lines)


def _model_and_judgements(project, args, judged, progress, result: dict) -> list[str]:
    from ..training.import_model import import_model
    from .judge_command import import_judgements

    where = f"{project.root} was created"
    try:
        done = import_model(project, args.arch, args.weights_file, image_size=args.image_size, device=args.device,
                            progress=progress, warn=lambda line: progress.warn(f"gradia import-reference: {line}"))
    except GradiaError as exc:
        raise GradiaError(f"{exc} ({where}; import the model with gradia import-model)") from None
    result["version"] = done.version
    lines = [f"v{done.version}: {args.arch} from {args.weights_file}, evaluated on every split"]
    for path, entries in judged:
        try:
            counts, text = import_judgements(project, done.version, "all", path, entries, progress)
        except GradiaError as exc:
            raise GradiaError(f"{exc} ({where} with v{done.version}; record it with gradia judge --import)") from None
        result["judgements"].append(counts)
        lines.append(text)
    return lines
