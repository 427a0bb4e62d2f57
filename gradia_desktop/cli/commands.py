"""The sub-commands. Each ``add_*`` registers its arguments and a handler returning (json, text)."""

from __future__ import annotations

from pathlib import Path

from ..core.records import QUADRANTS, UNASSESSED
from ..errors import GradiaError
from .options import add_output_flags
from .report_lines import LISTED_WARNINGS, fmt, split_line
from .bench import add_bench
from .check import add_check
from .desktop_command import add_desktop
from .train_command import add_train
from .weights import add_weights
from .transfer import add_export, add_import, add_mask_flags, mask_rule
from .judge_command import add_judge
from .version_reports import add_compare, add_matrix
from .explain_command import add_explain
from .model_import import add_import_model
from .reference_import import add_import_reference

EVAL_MATRIX_COUNTS = (*QUADRANTS, "human", "suggestion", UNASSESSED)  # what `gradia eval --json` prints
# The shortcut probe's figures (training/shortcut_probe.py): null where the split has < 2 masked images.
PROBE_KEYS = ("n_counterfactual", "masked_accuracy", "counterfactual_accuracy", "shortcut_reliance")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---- demo -------------------------------------------------------------------------------------
def add_demo(sub) -> None:
    p = sub.add_parser("demo", help="write the demo dataset (images + masks) with a planted background shortcut",
                       description="Write OUT/images/{train,val,test}/<class>/*.png and OUT/masks/... .")
    p.add_argument("out", type=Path, help="output folder (must not exist or be empty)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same images")
    p.add_argument("--mask-fraction", type=float, default=0.15, help="share of training images with a mask")
    add_output_flags(p)
    p.set_defaults(handler=run_demo)


def run_demo(args, progress):
    from ..core.demo import generate_demo

    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise GradiaError(f"{args.out}: already exists and is not an empty folder")
    out = generate_demo(args.out, seed=args.seed, mask_fraction=args.mask_fraction, progress=progress)
    n_images = sum(1 for _ in (out / "images").rglob("*.png"))
    n_masks = sum(1 for _ in (out / "masks").rglob("*.png"))
    result = {"out": str(out), "images": n_images, "masks": n_masks,
              "init": f"gradia init PROJECT --images {out / 'images'} --masks {out / 'masks'}"}
    return result, f"wrote {plural(n_images, 'image')} and {plural(n_masks, 'mask')} to {out}\nnext: {result['init']}"


# ---- init -------------------------------------------------------------------------------------
def add_init(sub) -> None:
    p = sub.add_parser("init", help="create a project from IMAGES/{train,val,test}/<class>/<file>, or from "
                                    "IMAGES/<class>/<file> with --split",
                       description="Create a project folder. Images stay where they are; masks are copied in. "
                                   "Files that are not images (README.txt, Thumbs.db, folders inside class folders) "
                                   "are skipped and images that cannot be read are left out, each named on stderr; "
                                   "--strict refuses the folder instead, naming them all.")
    p.add_argument("project", type=Path)
    p.add_argument("--images", type=Path, required=True,
                   help="IMAGES folder: train/ (and val/, test/) holding class folders, or class folders alone "
                        "(then give --split)")
    p.add_argument("--masks", type=Path, help="MASKS/{split}/<class>/<image stem>.png (MASKS/<class>/<image stem>.png "
                   "with --split): binary masks (0 and one value, or a few label colours on black); anything else "
                   "needs --mask-threshold")
    p.add_argument("--split", metavar="TRAIN,VAL,TEST",
                   help="split class folders (IMAGES/<class>/<file>) into train, val and test by these fractions, "
                        "class by class, e.g. 0.7,0.15,0.15; stored in the project and never redone")
    p.add_argument("--seed", type=int, help="seed of --split: the same seed and files give the same split (default 0)")
    p.add_argument("--strict", action="store_true",
                   help="refuse the folder, naming every problem, instead of skipping files that are not images "
                        "and leaving out images that cannot be read")
    add_mask_flags(p)
    add_output_flags(p)
    p.set_defaults(handler=run_init)


def _init_split(args) -> tuple[float, float, float] | None:
    from ..core.split import parse_fractions

    if args.split is None:
        if args.seed is not None:
            raise GradiaError(f"--seed {args.seed} seeds --split: give --split too (e.g. --split 0.7,0.15,0.15)")
        return None
    try:
        return parse_fractions(args.split)
    except GradiaError as exc:
        raise GradiaError(f"--{exc}") from None  # "split '...': why" as the flag the user typed


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _warn_entries(progress, problems: list[tuple[str, object]]) -> None:
    """One warning line per (verb, Problem), the first LISTED_WARNINGS of them, then how many more."""
    for verb, problem in problems[:LISTED_WARNINGS]:
        progress.warn(f"gradia init: warning: {verb} {problem}")
    if len(problems) > LISTED_WARNINGS:
        progress.warn(f"gradia init: warning: ... and {len(problems) - LISTED_WARNINGS} more skipped or left out "
                      "(gradia init --json lists them all)")


def run_init(args, progress):
    from ..core.project_init import DatasetRefused, init_project

    split = _init_split(args)
    try:
        result = init_project(args.project, args.images, args.masks, progress=progress, mask_rule=mask_rule(args),
                              split=split, seed=args.seed or 0, strict=args.strict)
    except DatasetRefused as exc:
        for problem in exc.problems:
            progress.warn(f"gradia init: {problem}")
        raise GradiaError(f"{exc.images_dir}: {_entries(len(exc.problems))} not images or not readable (named "
                          "above): --strict refuses the folder; without it they are skipped") from None
    scan = result.scan
    with result.project as project:
        root = str(project.root)
    _warn_entries(progress, [("skipped", p) for p in scan.problems] + [("left out", p) for p in result.left_out])
    splits = result.split_totals()
    out = {"project": root, "samples": sum(splits.values()), "classes": scan.classes, "splits": splits,
           "masks": result.masks, "layout": scan.layout, "split": scan.split_record(), "per_class": result.counts,
           "skipped": [{"path": str(p.path), "reason": p.reason} for p in scan.problems],
           "left_out": [{"path": str(p.path), "reason": p.reason} for p in result.left_out],
           "next": [f"gradia train {root} --mode baseline", f"gradia-desktop {root}"]}
    how = (f", split {','.join(f'{f:g}' for f in scan.split.fractions)} with seed {scan.split.seed}"
           if scan.split is not None else "")
    trouble = [f"{_entries(len(scan.problems))} skipped"] if scan.problems else []
    trouble += [f"{len(result.left_out)} left out"] if result.left_out else []
    text = (f"created {root}: {plural(out['samples'], 'sample')} ({splits['train']} train, {splits['val']} val, "
            f"{splits['test']} test{how}), classes {', '.join(scan.classes)}, {plural(result.masks, 'mask')}"
            + (f"; {', '.join(trouble)} (named above)" if trouble else "") + "\n"
            f"next: {out['next'][0]}   (a first model; or open it: {out['next'][1]})")
    return out, text


# ---- models -----------------------------------------------------------------------------------
def add_models(sub) -> None:
    p = sub.add_parser("models", help="list the architectures --arch takes",
                       description="Every architecture `gradia train --arch` and `gradia bench --arch` take: tiny "
                                   "(a small CNN, 64 px, the default) and torchvision's classifiers (random "
                                   "weights, or ImageNet weights from its local cache with --pretrained).")
    add_output_flags(p)
    p.set_defaults(handler=run_models)


def run_models(args, progress):
    import textwrap

    from ..training.models import available_architectures

    names = available_architectures()
    text = f"{len(names)} architectures:\n" + textwrap.fill(", ".join(names), width=100)
    return {"architectures": names}, text


def add_layers(sub) -> None:
    p = sub.add_parser("layers", help="the layers of an architecture Grad-CAM can read, with their grid sizes",
                       description="List the modules of ARCH whose output Grad-CAM can read (--cam-layer takes "
                                   "their names), in execution order, each with its channels and the CAM's grid "
                                   "at --image-size; the default layer is marked. The model is built with random "
                                   "weights; nothing is downloaded.")
    p.add_argument("arch", help="an architecture (`gradia models` lists them)")
    p.add_argument("--image-size", type=int, help="input size in px (default 64 for tiny, 224 otherwise)")
    p.add_argument("--all", dest="every", action="store_true",
                   help="every module with a feature map, not only stages, blocks and the default")
    add_output_flags(p)
    p.set_defaults(handler=run_layers)


def run_layers(args, progress):
    from ..training.models import TINY, build_model, cam_layer_choices, find_cam_layer

    size = args.image_size or (64 if args.arch in TINY else 224)
    if size < 8:
        raise GradiaError(f"--image-size {size}: too small (at least 8 px)")
    model = build_model(args.arch, 2, size)
    default = find_cam_layer(model, size)
    choices = cam_layer_choices(model, size, every=args.every)
    rows = [{"name": c.name, "kind": c.kind, "channels": c.channels, "grid": list(c.grid), "block": c.block,
             "default": c.name == default} for c in choices]
    width = max(len(c.name) for c in choices)
    lines = [f"{c.name:<{width}}  {c.kind:<22} {c.channels:>5} ch  {c.grid[0]}x{c.grid[1]}"
             + ("  (default)" if c.name == default else "") for c in choices]
    text = f"{args.arch} at {size} px: {len(choices)} layers (--cam-layer NAME)\n" + "\n".join(lines)
    return {"arch": args.arch, "image_size": size, "default": default, "layers": rows}, text


# ---- train ------------------------------------------------------------------------------------
# ---- eval -------------------------------------------------------------------------------------
def _open_for_eval(path: Path, progress):
    """Writable when possible (fresh predictions are stored); read-only, storing nothing, when the
    project is in use by another process or cannot be written."""
    from ..core.project_lock import ProjectInUse
    from ..core.store import Project

    try:
        return Project.open(path)
    except ProjectInUse as exc:
        progress.warn(f"gradia eval: {exc}; evaluating read-only, nothing will be stored")
        return Project.open(path, readonly=True)


def add_eval(sub) -> None:
    p = sub.add_parser("eval", help="accuracy, attention metrics and the Reasonability Matrix of a version",
                       description="Report a version's metrics on a split (stored predictions; computed if missing).")
    p.add_argument("project", type=Path)
    p.add_argument("--version", help="model version (default: the latest)")
    p.add_argument("--split", choices=("train", "val", "test"), default="val", help="the split to report")
    p.add_argument("--device", default="auto", help="where to run the model when results must be computed")
    p.add_argument("--recompute", action="store_true", help="run the model again instead of using stored results")
    p.add_argument("--faithfulness", action="store_true",
                   help="also measure deletion and insertion AUC (does the model use what its heatmap points "
                        "at?), per image and for the split, and record the split's figures with the version")
    p.add_argument("--steps", type=int, default=20, help="with --faithfulness: fractions of the pixels per curve")
    add_output_flags(p)
    p.set_defaults(handler=run_eval)


def run_eval(args, progress):
    from ..core.assessment import assess, split_summary

    with _open_for_eval(args.project, progress) as project:
        version = project.resolve_version(args.version)
        samples = project.samples(split=args.split)
        if not samples:
            raise GradiaError(f"{project.root}: the {args.split} split has no images")
        stored = project.predictions(version.id, args.split)
        probe = {k: ((version.metrics or {}).get(args.split) or {}).get(k) for k in PROBE_KEYS}
        unstored = None
        if args.recompute or len(stored) < len(samples):
            from ..training.checkpoint import load_checkpoint
            from ..training.device import pick_device
            from ..training.evaluate import evaluate_and_store

            device = pick_device(args.device)
            model, layer, spec = load_checkpoint(project.root / version.checkpoint, device)
            fresh = evaluate_and_store(project, version.id, model, layer, spec.image_size, device, (args.split,),
                                       progress=progress, probe_splits=(args.split,), store=not project.readonly,
                                       warn=lambda line: progress.warn(f"gradia eval: {line}"))
            probe = {k: (fresh.get(args.split) or {}).get(k) for k in PROBE_KEYS}
            if project.readonly:  # nothing was stored: the fresh summary is the only one
                unstored = fresh.get(args.split)
        base = unstored or split_summary(assess(project, version.id, samples))
        summary = {**base, **probe}
        per_image = _faithfulness(project, version, args, progress, summary) if args.faithfulness else None
    out = {"version": version.id, "split": args.split, **{k: v for k, v in summary.items() if k != "matrix"},
           "matrix": {k: summary["matrix"][k] for k in EVAL_MATRIX_COUNTS}}
    text = f"model version v{version.id} ({version.mode})\n" + split_line(args.split, summary)
    if per_image is not None:
        out["faithfulness"] = per_image
        text += (f"\n  faithfulness: deletion AUC {fmt(summary['deletion_auc'])} (lower: the model uses what the "
                 f"heatmap shows), insertion AUC {fmt(summary['insertion_auc'])} (higher: it is enough)")
    return out, text


def _faithfulness(project, version, args, progress, summary: dict) -> list[dict]:
    """Measure deletion / insertion AUC on the split, add the means to ``summary``, record them with
    the version where the project is writable; the per-image rows."""
    from ..training.device import pick_device
    from ..training.faithfulness import split_faithfulness

    if args.steps < 2:
        raise GradiaError(f"--steps {args.steps}: at least 2")
    figures, samples = split_faithfulness(project, version, args.split, pick_device(args.device), args.steps,
                                          progress, warn=lambda line: progress.warn(f"gradia eval: {line}"))
    summary.update(figures.means())
    if not project.readonly:
        project.add_split_metrics(version.id, args.split, {**figures.means(), "faithfulness_steps": args.steps})
    return [{"path": s.path, "predicted": project.classes[int(c)], "deletion_auc": round(float(d), 6),
             "insertion_auc": round(float(i), 6)}
            for s, c, d, i in zip(samples, figures.predicted, figures.deletion, figures.insertion)]


REGISTRY = (add_demo, add_init, add_train, add_eval, add_matrix, add_compare, add_judge, add_explain, add_models,
            add_layers, add_weights, add_bench, add_export, add_import, add_import_model, add_import_reference,
            add_check, add_desktop)
