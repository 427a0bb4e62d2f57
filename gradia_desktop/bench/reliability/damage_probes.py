"""Damaged, read-only and locked projects, a full disk, hostile imports, silent alterations (items 4, 7-10, 12).

* **damaged** (7): a trained project is damaged one way at a time (``damage.DAMAGES``); opening it,
  ``gradia check``, ``eval``, ``export`` and ``check --repair`` must each be handled or refused in one
  line, and ``check`` must find something.
* **hostile imports** (9): ``gradia import --format coco`` of deep JSON, a 5000-digit id, a 20 MB RLE
  string: refused in one line.
* **read-only** (4): after ``chmod -R a-w`` (as root: in a child without root's permission bypass,
  through setpriv) the project opens read-only and
  ``eval``, ``export`` and ``check`` work.
* **full disk** (10): ``gradia train`` with every file capped at 64 KB (RLIMIT_FSIZE): refused in one
  line, and the project opens and checks clean afterwards.
* **silent alterations** (12): a weights file with a mid-layer mismatch is refused; masks, the database
  and an export get the permissions the umask gives, not a temp file's 0600.
* **locked** (8): while this process holds the project open for writing, a second process that opens
  it for writing is refused with "in use by PID <ours>"; reading it still works.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from ...core.progress import Progress, report
from ...core.store import Project
from .damage import DAMAGES, HOSTILE_IMPORTS
from .probe_rows import ProbeRow, ProbeSummary
from .step_runner import GOOD, HANDLED, REFUSED, StepOutcome, run_steps
from .tiny_projects import TRAIN_LAYOUT, write_image_tree

FOUND = "found problems"
TRAIN = ("--arch", "tiny", "--epochs", "1", "--image-size", "32", "--device", "cpu", "--batch-size", "8", "--quiet")
MODULE = "gradia_desktop.bench.reliability.damage"


def _cli(*argv, timeout: int = 60) -> dict:
    return {"op": "cli", "argv": [str(a) for a in argv], "timeout": timeout}


def _call(function: str, *args) -> dict:
    return {"op": "call", "function": f"{MODULE}:{function}", "args": [str(a) for a in args]}


def _status(outcome: StepOutcome) -> str:
    """``gradia check`` exits 1 when it finds problems: that is its answer, not a failure."""
    if outcome.step.get("argv", [""])[0] == "check" and outcome.raw.get("code") == 1:
        return FOUND
    return outcome.status


def _template_steps(work: Path) -> tuple[Path, list[tuple[str, str, str, dict]]]:
    images, masks = write_image_tree(work / "tree", TRAIN_LAYOUT, seed=2, masked=4)
    template = work / "template"
    return template, [("template", "-", "-", _cli("init", template, "--images", images, "--masks", masks, "--quiet")),
                      ("template", "-", "-", _cli("train", template, *TRAIN, timeout=180)),
                      ("template", "-", "-", _call("enrich", template))]


def _damage_steps(work: Path, template: Path) -> list[tuple[str, str, str, dict]]:
    staged = []
    for k, name in enumerate(DAMAGES):
        project = work / f"damaged-{k}"
        staged += [(name, "7", "-", {"op": "copy", "from": str(template), "to": str(project)}),
                   (name, "7", "-", _call("apply_damage", project, name, k)),
                   (name, "7", "open", {"op": "open", "project": str(project)}),
                   (name, "7", "check", _cli("check", project, "--quiet")),
                   (name, "7", "eval", _cli("eval", project, "--split", "val", "--device", "cpu", "--quiet")),
                   (name, "7", "export", _cli("export", project, "--format", "png,coco,manifest", "--has-mask", "any",
                                              "--out", work / f"damaged-export-{k}", "--quiet")),
                   (name, "7", "check --repair", _cli("check", project, "--repair", "--quiet")),
                   (name, "7", "open after repair", {"op": "open", "project": str(project)})]
    return staged


def _import_steps(work: Path, template: Path) -> list[tuple[str, str, str, dict]]:
    project = work / "import-target"
    staged = [("imports", "9", "-", {"op": "copy", "from": str(template), "to": str(project)})]
    for k, name in enumerate(HOSTILE_IMPORTS):
        source = work / f"hostile-import-{k}.json"
        staged += [(f"COCO import: {name}", "9", "-", _call("write_hostile_import", source, name)),
                   (f"COCO import: {name}", "9", "import", _cli("import", project, "--format", "coco", "--from", source))]
    return staged


READ_ONLY = "read-only project (chmod -R a-w)"
# Root writes through file modes; setpriv takes that bypass away from the child, so the probe still means something.
DROP_ROOT_BYPASS = ("setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search")


def permission_bound_prefix() -> tuple[str, ...] | None:
    """The command prefix under which file permissions bind the child; None where none can be had."""
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return ()
    return DROP_ROOT_BYPASS if shutil.which("setpriv") else None


def _read_only_steps(work: Path, template: Path) -> list[tuple[str, str, str, dict]]:
    subject = READ_ONLY
    project = work / "read-only"
    return [(subject, "4", "-", {"op": "copy", "from": str(template), "to": str(project)}),
            (subject, "4", "-", _call("make_read_only", project)),
            (subject, "4", "open", {"op": "open", "project": str(project), "expect_readonly": True}),
            (subject, "4", "eval", _cli("eval", project, "--split", "val", "--device", "cpu", "--quiet")),
            (subject, "4", "export", _cli("export", project, "--format", "png,coco,manifest", "--has-mask", "any",
                                          "--out", work / "read-only-export", "--quiet")),
            (subject, "4", "check", _cli("check", project, "--quiet"))]


def _full_disk_steps(work: Path, template: Path) -> list[tuple[str, str, str, dict]]:
    """Item 10: no file may grow past 64 KB (the checkpoint is ~1 MB), as on a disk that fills up mid-run."""
    subject = "disk full while training (files capped at 64 KB)"
    project = work / "full-disk"
    return [(subject, "10", "-", {"op": "copy", "from": str(template), "to": str(project)}),
            (subject, "10", "train", _cli("train", project, *TRAIN, timeout=180) | {"file_size_limit": 64 << 10}),
            (subject, "10", "open after", {"op": "open", "project": str(project)}),
            (subject, "10", "check after", _cli("check", project, "--quiet") | {"expect_clean": True})]


def _alteration_steps(work: Path, template: Path) -> list[tuple[str, str, str, dict]]:
    """Item 12: weights with a mid-layer mismatch must be refused; files the app writes follow the umask."""
    weights, project = work / "mismatched.safetensors", work / "alterations"
    mismatch, modes = "weights file with a mid-layer shape mismatch", "file modes of masks, database and export"
    return [(mismatch, "12", "-", _call("write_mismatched_weights", template, weights)),
            (mismatch, "12", "-", {"op": "copy", "from": str(template), "to": str(project)}),
            (mismatch, "12", "train --weights-file", _cli("train", project, *TRAIN, "--weights-file", weights,
                                                          timeout=180) | {"expect_refused": True}),
            (modes, "12", "-", _call("paint_one_mask", project)),
            (modes, "12", "-", _cli("export", project, "--format", "png,coco,manifest", "--with-images",
                                    "--has-mask", "any", "--out", work / "alterations-export", "--quiet")),
            (modes, "12", "modes after a mask write and an export",
             _call("mode_problems", project, work / "alterations-export"))]


def _lock_steps(work: Path, project: Path) -> list[tuple[str, str, str, dict]]:
    subject = "project held open for writing by another process"
    return [(subject, "8", "open for writing", {"op": "open", "project": str(project), "expect_in_use": os.getpid()}),
            (subject, "8", "import", _cli("import", project, "--format", "png", "--from", work / "no-masks",
                                          "--quiet", ) | {"expect_in_use": os.getpid()}),
            (subject, "8", "export (reads only)", _cli("export", project, "--format", "png", "--out",
                                                       work / "locked-export", "--quiet") | {"expect_handled": True}),
            (subject, "8", "check (reads only)", _cli("check", project, "--quiet"))]


def _judge(subject: str, item: str, stage: str, outcome: StepOutcome) -> ProbeRow:
    status, detail = _status(outcome), outcome.detail
    if status == FOUND:
        found = [line.strip() for line in outcome.raw.get("stdout", "").splitlines() if "problem:" in line]
        detail = "; ".join(found[:2]) + (f" (+{len(found) - 2} more)" if len(found) > 2 else "")
    ok = status in GOOD or status == FOUND
    step = outcome.step
    if item == "7" and stage == "check" and status == HANDLED:
        ok, detail = False, "check found nothing wrong with a damaged project"
    if "expect_in_use" in step and not (status == REFUSED and f"in use by PID {step['expect_in_use']}" in detail):
        ok, detail = False, f"expected a refusal naming PID {step['expect_in_use']}; got {status}: {detail}"
    if step.get("expect_handled") and status != HANDLED:
        ok, detail = False, f"reading a project another process writes should work; got {status}: {detail}"
    if step.get("expect_refused") and status != REFUSED:
        ok, detail = False, f"expected a refusal; got {status}: {detail or 'it went ahead'}"
    if step.get("expect_clean") and status != HANDLED:
        ok, detail = False, f"expected a clean project; got {status}: {detail}"
    if step.get("expect_readonly") and not (status == HANDLED and outcome.raw.get("readonly")):
        ok, detail = False, f"expected it to open read-only; got {status}: {detail}"
    return ProbeRow(subject, item, stage, status, detail, ok, outcome.seconds)


def _collect(summary: ProbeSummary, staged, outcomes: list[StepOutcome]) -> None:
    for (subject, item, stage, _step), outcome in zip(staged, outcomes):
        if stage == "-":
            if outcome.status != HANDLED:
                summary.rows.append(ProbeRow(subject, item, "set-up", outcome.status, outcome.detail, False))
            continue
        summary.rows.append(_judge(subject, item, stage, outcome))


def run_damage_probes(workdir: Path, progress: Progress = None) -> ProbeSummary:
    """All probes of this module; see its docstring."""
    started = time.monotonic()
    summary = ProbeSummary("damaged, read-only and locked projects; a full disk; hostile imports")
    template, staged = _template_steps(workdir)
    staged += _damage_steps(workdir, template) + _import_steps(workdir, template)
    staged += _full_disk_steps(workdir, template) + _alteration_steps(workdir, template)
    report(progress, "damaged projects", 0, 2)
    _collect(summary, staged, run_steps([s[3] for s in staged], workdir / "steps"))
    prefix = permission_bound_prefix()
    if prefix is None:
        summary.skipped[READ_ONLY] = "running as root without setpriv: permissions do not apply"
    elif template.is_dir():
        staged = _read_only_steps(workdir, template)
        _collect(summary, staged, run_steps([s[3] for s in staged], workdir / "read-only-steps", prefix=prefix))
    report(progress, "damaged projects", 1, 2)
    if template.is_dir():  # the lock probes need this process to hold a project while a child tries it
        locked = workdir / "locked"
        shutil.copytree(template, locked, symlinks=True)
        (workdir / "no-masks").mkdir(exist_ok=True)
        staged = _lock_steps(workdir, locked)
        with Project.open(locked):
            outcomes = run_steps([s[3] for s in staged], workdir / "lock-steps")
        _collect(summary, staged, outcomes)
    report(progress, "damaged projects", 2, 2)
    summary.seconds = time.monotonic() - started
    return summary
