"""`gradia judge`: the expert's judgements of a version's attention ("reasonable?"), per sample.

Set by hand for named samples, or moved in and out in the GRADIA authors' JSON format
(core/judgement_file.py). Every write is one transaction made after all input was checked, so a bad
sample or a bad file changes nothing. Import and export run no model: the Accurate / Inaccurate part
of the authors' format is checked against, or taken from, the predictions the version stored.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..core.records import SPLITS, Sample
from ..errors import GradiaError
from .options import add_output_flags
from .report_lines import LISTED_WARNINGS

JUDGE_SPLITS = (*SPLITS, "all")
VERDICTS = {"reasonable": "reasonable", "r": "reasonable", "unreasonable": "unreasonable", "u": "unreasonable",
            "clear": "clear"}
STORED = {"reasonable": True, "unreasonable": False, "clear": None}
PROGRESS_FROM = 1000  # entries: smaller imports finish before a progress line would help
PROGRESS_STEP = 500


def _verdict(text: str) -> str:
    # canonical strings, never None: argparse would take a None from --set clear for "not given"
    try:
        return VERDICTS[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected reasonable, unreasonable or clear (or R, U)") from None


def add_judge(sub) -> None:
    p = sub.add_parser("judge", help="record, import or export the expert's judgements of a version's attention",
                       description="Record whether a model version's attention on samples is reasonable "
                                   "(--set), or import / export the judgements in the GRADIA authors' JSON format "
                                   '{"file.jpg": "Unreasonable Accurate", ...} (keyed by file name alone). '
                                   "Nothing is written unless all the input is good.")
    p.add_argument("project", type=Path)
    p.add_argument("--version", help="model version, e.g. v2 or 2 (default: the latest)")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--set", dest="verdict", type=_verdict, metavar="reasonable|unreasonable|clear",
                        help="judge the --samples (R and U for short); clear removes their judgements")
    action.add_argument("--import", dest="import_file", type=Path, metavar="FILE",
                        help="record the judgements of an authors' JSON file; a file name matching no sample is "
                             "reported and skipped")
    action.add_argument("--export", dest="export_file", type=Path, metavar="FILE",
                        help="write the version's judgements as an authors' JSON file (Accurate / Inaccurate from "
                             "its stored predictions); an existing FILE is replaced whole")
    p.add_argument("--samples", action="append", metavar="SPEC[,SPEC...]",
                   help="with --set: sample ids, image paths relative to the images folder, or file names that "
                        "name one image; separated by commas, or the flag given again")
    p.add_argument("--split", choices=JUDGE_SPLITS, default="all",
                   help="where samples and file names are looked up, and what --export writes")
    add_output_flags(p)
    p.set_defaults(handler=run_judge)


# ---- shared -------------------------------------------------------------------------------------
def _scope(project, split: str) -> tuple[list[Sample], str]:
    samples = project.samples(split=None if split == "all" else split)
    return samples, "in the project" if split == "all" else f"in the {split} split"


def _open_for_writing(path: Path):
    from ..core.store import Project

    project = Project.open(path)  # ProjectInUse (a GradiaError) says who holds it
    if project.readonly:
        project.close()
        raise GradiaError(f"{project.root}: the project is read-only (no write permission): judgements cannot "
                          "be stored")
    return project


def _result(action: str, version, split: str, **counts) -> dict:
    base = {"action": action, "version": version.id, "split": split, "set": 0, "reasonable": 0, "unreasonable": 0,
            "cleared": 0, "disagree": 0, "without_prediction": 0, "unmatched": [], "skipped_without_prediction": 0,
            "exported": 0, "file": None}
    return {**base, **counts}


def _verdict_counts(values) -> dict:
    values = list(values)
    return {"reasonable": sum(1 for r in values if r), "unreasonable": sum(1 for r in values if not r)}


def _judgements(n: int) -> str:
    return f"{n} judgement" if n == 1 else f"{n} judgements"


def run_judge(args, progress):
    if args.verdict is None and args.samples:
        raise GradiaError("--samples goes only with --set (--import and --export work on file names or all "
                          "judged samples)")
    if args.verdict is not None and not args.samples:
        raise GradiaError("--set needs --samples SPEC[,SPEC...] (sample ids, image paths or file names)")
    if args.export_file is not None:
        return _run_export(args, progress)
    if args.import_file is not None:
        entries = _read_import(args.import_file)  # a bad file fails before the project is locked
        with _open_for_writing(args.project) as project:
            return import_judgements(project, args.version, args.split, args.import_file, entries, progress)
    with _open_for_writing(args.project) as project:
        return _run_set(args, project)


# ---- --set --------------------------------------------------------------------------------------
def _as_image_path(project, text: str) -> str:
    """A spec as a sample path: '/' separators, no './', and an absolute path made relative to the images."""
    if os.path.isabs(text):
        try:
            return Path(text).resolve().relative_to(project.images_root.resolve()).as_posix()
        except ValueError:
            return text
    return text.replace("\\", "/").removeprefix("./")


def _outside_scope(project, sample_id: int) -> str:
    try:
        return f" (sample {sample_id} is in the {project.sample(sample_id).split} split)"
    except GradiaError:
        return ""


def resolve_samples(project, specs: list[str], split: str) -> list[Sample]:
    """The samples named by ids, image paths or unique file names, within ``split``; one error for the first
    spec that names none or several."""
    from ..core.judgement_file import samples_by_file_name

    scope, where = _scope(project, split)
    by_id = {s.id: s for s in scope}
    by_path = {s.path: s for s in scope}
    by_name = samples_by_file_name(scope)
    found: dict[int, Sample] = {}
    for spec in specs:
        text = spec.strip()
        if text.isascii() and text.isdigit():
            sample = by_id.get(int(text))
            if sample is None:
                raise GradiaError(f"sample {text}: no sample with this id {where}"
                                  + ("" if split == "all" else _outside_scope(project, int(text))))
        else:
            path = _as_image_path(project, text)
            sample = by_path.get(text) or by_path.get(path)
            matches = by_name.get(path, []) if sample is None and "/" not in path else []
            if len(matches) > 1:
                raise GradiaError(f"sample {text!r}: {len(matches)} samples {where} have this file name "
                                  f"({matches[0].path}, {matches[1].path}{', ...' if len(matches) > 2 else ''}): "
                                  "give the path or the id")
            sample = sample or (matches[0] if matches else None)
            if sample is None:
                raise GradiaError(f"sample {text!r}: no sample {where} has this path or file name (paths are "
                                  f"relative to {project.images_root})")
        found[sample.id] = sample
    return list(found.values())


def _run_set(args, project):
    version = project.resolve_version(args.version)
    specs = [spec for chunk in args.samples for spec in chunk.split(",") if spec.strip()]
    if not specs:
        raise GradiaError("--samples names no sample")
    samples = resolve_samples(project, specs, args.split)
    reasonable = STORED[args.verdict]
    had = project.judgements(version.id)
    project.set_judgements(version.id, {s.id: reasonable for s in samples})
    v = f"v{version.id}"
    if reasonable is not None:
        return (_result("set", version, args.split, set=len(samples), **{args.verdict: len(samples)}),
                f"{v}: {_judgements(len(samples))} set ({args.verdict})")
    cleared = sum(1 for s in samples if s.id in had)
    none = len(samples) - cleared
    return (_result("clear", version, args.split, cleared=cleared),
            f"{v}: {_judgements(cleared)} cleared"
            + (f" ({none} of the {len(samples)} samples had none)" if none else ""))


# ---- --import -----------------------------------------------------------------------------------
def _read_import(path: Path) -> dict[str, tuple[bool, bool]]:
    from ..core.judgement_file import read_authors_file

    return read_authors_file(path)


def _warn_unmatched(progress, names: list[str], where: str) -> None:
    for name in names[:LISTED_WARNINGS]:
        progress.warn(f"gradia judge: warning: no sample {where} has the file name {name!r}")
    if len(names) > LISTED_WARNINGS:
        progress.warn(f"gradia judge: warning: ... and {len(names) - LISTED_WARNINGS} more file names matched no "
                      "sample (--json lists them all)")


def import_judgements(project, version_spec, split: str, path: Path, entries: dict[str, tuple[bool, bool]],
                      progress):
    """Record the authors' file's ``entries`` (read_authors_file) for a version: (json result, text)."""
    from ..core.judgement_file import ambiguous_name_error, samples_by_file_name

    version = project.resolve_version(version_spec)
    scope, where = _scope(project, split)
    by_name = samples_by_file_name(scope)
    predicted = project.predicted_classes(version.id)
    judgements: dict[int, bool] = {}
    unmatched: list[str] = []
    disagree = without_prediction = 0
    total = len(entries)
    for done, (name, (reasonable, accurate)) in enumerate(sorted(entries.items()), 1):
        matches = by_name.get(name, [])
        if len(matches) > 1:
            raise GradiaError(f"{path}: {ambiguous_name_error(name, matches, where)}")
        if matches:
            sample = matches[0]
            judgements[sample.id] = reasonable
            pred = predicted.get(sample.id)
            if pred is None:
                without_prediction += 1
            elif (pred == sample.class_idx) != accurate:
                disagree += 1
        else:
            unmatched.append(name)
        if total >= PROGRESS_FROM and (done % PROGRESS_STEP == 0 or done == total):
            progress("matching file names", done, total)
    project.set_judgements(version.id, judgements)
    _warn_unmatched(progress, unmatched, where)
    v = f"v{version.id}"
    if disagree:
        progress.warn(f"gradia judge: warning: {disagree} of the imported judgements disagree with {v}'s stored "
                      "predictions (Accurate where it predicted wrongly, or Inaccurate where it predicted right); "
                      "recorded as given")
    counts = _verdict_counts(judgements.values())
    result = _result("import", version, split, set=len(judgements), **counts, disagree=disagree,
                     without_prediction=without_prediction, unmatched=unmatched, file=str(path))
    text = (f"{v}: {_judgements(len(judgements))} set ({counts['reasonable']} reasonable, {counts['unreasonable']} "
            f"unreasonable), {disagree} of them disagree with {v}'s predictions")
    if without_prediction:
        text += f", {without_prediction} without a stored prediction to compare"
    if unmatched:
        text += f"; {len(unmatched)} file {'name' if len(unmatched) == 1 else 'names'} matched no sample"
    return result, text


# ---- --export -----------------------------------------------------------------------------------
def _run_export(args, progress):
    from ..core.judgement_file import (ambiguous_name_error, authors_value, file_name, samples_by_file_name,
                                       write_authors_file)
    from ..core.store import Project

    with Project.open(args.project, readonly=True) as project:
        version = project.resolve_version(args.version)
        scope, where = _scope(project, args.split)
        judged = project.judgements(version.id)
        predicted = project.predicted_classes(version.id)
    by_name = samples_by_file_name(scope)
    entries: dict[str, str] = {}
    exported: list[bool] = []
    skipped = 0
    for sample in scope:
        if sample.id not in judged:
            continue
        if sample.id not in predicted:
            skipped += 1
            continue
        name = file_name(sample.path)
        if len(by_name[name]) > 1:  # the file could not say which one, nor be imported back
            raise ambiguous_name_error(name, by_name[name], where)
        entries[name] = authors_value(judged[sample.id], predicted[sample.id] == sample.class_idx)
        exported.append(judged[sample.id])
    write_authors_file(args.export_file, entries)
    v = f"v{version.id}"
    counts = _verdict_counts(exported)
    result = _result("export", version, args.split, **counts, exported=len(entries),
                     skipped_without_prediction=skipped, file=str(args.export_file))
    text = (f"{v}: {_judgements(len(entries))} exported to {args.export_file} ({counts['reasonable']} reasonable, "
            f"{counts['unreasonable']} unreasonable)")
    if skipped:
        progress.warn(f"gradia judge: warning: {skipped} judged {'sample' if skipped == 1 else 'samples'} not "
                      f"exported: {v} has no stored prediction to say Accurate or Inaccurate (gradia eval "
                      f"{args.project} --version {version.id} --split ... computes them)")
        text += f"; {skipped} judged without a stored prediction skipped"
    return result, text
