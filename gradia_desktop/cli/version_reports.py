"""`gradia matrix` and `gradia compare`: a version's Reasonability Matrix, and two versions side by side.

Both read what the project stores (predictions, judgements, the metrics each run recorded) and run no
model, so they open the project read-only and work while the app has it open. They report what the
app's matrix panel and Compare dialog show: the matrix counts the human judgements as they are now.
"""

from __future__ import annotations

from pathlib import Path

from ..core.records import QUADRANTS, SPLITS, UNASSESSED
from ..errors import GradiaError
from .options import add_output_flags
from .report_lines import fmt

MATRIX_SPLITS = (*SPLITS, "all")
MATRIX_KEYS = (*QUADRANTS, "human", "suggestion", "unjudged", UNASSESSED, "by_source")
COMPARED_METRICS = ("accuracy", "iou", "energy", "pointing", "counterfactual_accuracy", "shortcut_reliance",
                    "deletion_auc", "insertion_auc")


def _split_arg(p) -> None:
    p.add_argument("--split", choices=MATRIX_SPLITS, default="val", help="the split, or all samples")


def add_matrix(sub) -> None:
    p = sub.add_parser("matrix", help="a version's Reasonability Matrix (RA / UA / RI / UI) on a split",
                       description="Print a model version's Reasonability Matrix on a split, from its stored "
                                   "predictions and the judgements made so far (human first, then suggestions).")
    p.add_argument("project", type=Path)
    p.add_argument("--version", help="model version, e.g. v2 or 2 (default: the latest)")
    _split_arg(p)
    add_output_flags(p)
    p.set_defaults(handler=run_matrix)


def add_compare(sub) -> None:
    p = sub.add_parser("compare", help="two versions side by side: matrices, metrics and their changes",
                       description="Compare two model versions: each one's Reasonability Matrix on a split and "
                                   "the metrics its run recorded on every split, with the change from the "
                                   "first to the second.")
    p.add_argument("project", type=Path)
    p.add_argument("first", help="the version compared from, e.g. v1")
    p.add_argument("second", help="the version compared to, e.g. v2")
    _split_arg(p)
    add_output_flags(p)
    p.set_defaults(handler=run_compare)


def _matrix(project, version, split: str) -> dict:
    from ..core.assessment import assess, reasonability_matrix

    rows = assess(project, version.id, project.samples(split=None if split == "all" else split))
    if not any(r.prediction is not None for r in rows):
        where = "any split" if split == "all" else f"the {split} split"
        raise GradiaError(f"{project.root}: v{version.id} has no predictions on {where} "
                          f"(gradia eval {project.root} --version {version.id} --split ... computes them)")
    m = reasonability_matrix(rows)
    return {k: m[k] for k in MATRIX_KEYS}


def _matrix_text(m: dict) -> str:
    return (f"RA={m['RA']} UA={m['UA']} RI={m['RI']} UI={m['UI']} ({m['human']} judged by a human, "
            f"{m['suggestion']} suggested, {m[UNASSESSED]} not placed)")


def _open(path: Path):
    from ..core.store import Project

    return Project.open(path, readonly=True)


def run_matrix(args, progress):
    with _open(args.project) as project:
        version = project.resolve_version(args.version)
        m = _matrix(project, version, args.split)
    return ({"version": version.id, "split": args.split, "matrix": m},
            f"model version v{version.id} ({version.mode}), {args.split}: {_matrix_text(m)}")


def _stored_metrics(version) -> dict:
    from ..core.assessment import stored_metric

    return {split: {k: stored_metric(version, split, k) for k in COMPARED_METRICS} for split in SPLITS}


def _change(a, b):
    return None if a is None or b is None else round(b - a, 6)


def run_compare(args, progress):
    from ..core.assessment import matrix_delta

    with _open(args.project) as project:
        first, second = project.resolve_version(args.first), project.resolve_version(args.second)
        if first.id == second.id:
            raise GradiaError(f"compare needs two different versions (got v{first.id} twice)")
        versions = []
        for v in (first, second):
            versions.append({"version": v.id, "mode": v.mode, "arch": v.arch, "parent": v.parent_id,
                             "matrix": _matrix(project, v, args.split), "metrics": _stored_metrics(v)})
    a, b = versions
    metric_change = {split: {k: _change(a["metrics"][split][k], b["metrics"][split][k]) for k in COMPARED_METRICS}
                     for split in SPLITS}
    result = {"split": args.split, "versions": versions, "matrix_change": matrix_delta(b["matrix"], a["matrix"]),
              "metric_change": metric_change}
    lines = [f"v{v['version']} ({v['mode']}), {args.split}: {_matrix_text(v['matrix'])}" for v in versions]
    change = result["matrix_change"]
    lines.append("matrix change: " + " ".join(f"{q}={change[q]:+d}" for q in QUADRANTS))
    for split in SPLITS:
        shown = [k for k in COMPARED_METRICS if a["metrics"][split][k] is not None or b["metrics"][split][k] is not None]
        if shown:
            lines.append(f"  {split:<5} " + "  ".join(
                f"{k} {fmt(a['metrics'][split][k])} -> {fmt(b['metrics'][split][k])}" for k in shown))
    return result, "\n".join(lines)
