"""Random-kill trials of whole commands: ``gradia train`` and ``gradia export`` (issue items 3 and 11).

Training: after each kill the project opens, the integrity check passes after the open's own
reconciliation, the killed run is no longer marked running, and every finished version's checkpoint
still loads. Export: the destination is either absent or complete (the same files as an export
nobody killed), and the next export leaves no stale staging folder beside it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from ...core.export import ExportFilter, export_masks
from ...core.progress import Progress, report
from ...core.store import Project
from ...errors import GradiaError
from .crash_trials import CrashSummary, TrialResult
from .integrity import check_around_reopen, check_available
from .tiny_projects import CLASSES, TRAIN_LAYOUT, copy_project, make_project
from .zygote import Zygote

TRAIN_ARGS = ("--arch", "tiny", "--epochs", "3", "--image-size", "32", "--device", "cpu", "--batch-size", "4")
EXPORT_FORMATS = "png,coco,manifest"
EXPORT_LAYOUT = tuple(("train", cls, f"{cls}{i:02d}", 96, 80) for cls in CLASSES for i in range(20))


def leftovers(folder: Path) -> list[str]:
    """Temp files and staging folders (what an interrupted atomic write or export leaves)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            if name.startswith(".") and (".tmp" in name or name.endswith(".partial")):
                found.append(os.path.relpath(os.path.join(dirpath, name), folder))
    return sorted(found)


# ---- training -----------------------------------------------------------------------------------
def _check_trained_project(root: Path, result: TrialResult, versions_before: int) -> None:
    from ...training.checkpoint import load_checkpoint  # torch: only for this check

    def reopen() -> None:
        try:
            with Project.open(root) as project:
                versions = project.versions(status=None)
        except GradiaError as exc:
            result.failures.append(f"reopen after the kill: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - a traceback from the product is a finding
            result.failures.append(f"reopen after the kill raised {type(exc).__name__}: {exc}")
            return
        killed = versions[versions_before:]
        result.note = "no version made yet" if not killed else f"the run's version ended {killed[-1].status}"
        for v in versions:
            if v.status == "running":
                result.failures.append(f"v{v.id} is still marked running after the reopen")
            if v.status == "done":
                try:
                    load_checkpoint(root / v.checkpoint, "cpu")
                except (GradiaError, OSError, ValueError, RuntimeError) as exc:
                    result.failures.append(f"v{v.id}: finished version's checkpoint is damaged: {exc}")

    integrity = check_around_reopen(root, reopen)
    if integrity.available:
        result.repaired_by_reopen = integrity.before_reopen
        result.failures += [f"integrity after reopen: {p}" for p in integrity.after_reopen]
    result.failures += [f"left over after the reopen: {p}" for p in leftovers(root)]


def run_training_trials(workdir: Path, trials: int, seed: int = 0, progress: Progress = None) -> CrashSummary:
    """``gradia train`` (tiny, 3 epochs, 32 px) killed at a random point after it starts loading images
    (the delays spread over the time a run nobody kills takes)."""
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    template = make_project(workdir / "train-template", TRAIN_LAYOUT, seed)
    results = []
    (workdir / "train-jobs").mkdir()
    with Zygote(["gradia_desktop.cli", "gradia_desktop.training.trainer"], workdir / "train-jobs") as zygote:
        duration = _timed_run(zygote, ["train", str(template), *TRAIN_ARGS], "loading")  # v1: must survive
        for k in range(trials):
            root = copy_project(template, workdir / f"train-trial-{k}")
            delay = float(rng.uniform(0, duration))
            worker = zygote.spawn("gradia_desktop.cli:main", ["train", str(root), *TRAIN_ARGS])
            worker.wait_for("loading", timeout=60)
            killed = worker.kill_after(delay)
            result = TrialResult(delay, issued=1, acknowledged=int(not killed and worker.status == 0), killed=killed)
            if not killed and worker.status != 0:
                last = (worker.stderr().strip().splitlines() or ["?"])[-1]
                result.failures.append(f"the run failed by itself: {last}")
            _check_trained_project(root, result, versions_before=1)
            results.append(result)
            report(progress, "training crash trials", k + 1, trials)
    return CrashSummary("gradia train", results, check_available(), time.monotonic() - started)


def _timed_run(zygote: Zygote, argv: list[str], marker: str) -> float:
    """Run a command to its end in a worker; seconds from ``marker`` to the end. Raises if it failed."""
    worker = zygote.spawn("gradia_desktop.cli:main", argv)
    worker.wait_for(marker, timeout=120)
    began = time.monotonic()
    worker.kill_after(900)
    if worker.status != 0:
        raise GradiaError(f"gradia {argv[0]} (not killed) failed: {(worker.stderr().strip().splitlines() or ['?'])[-1]}")
    return time.monotonic() - began


# ---- export -------------------------------------------------------------------------------------
def _listing(folder: Path) -> dict[str, bytes | None]:
    """Relative path -> bytes (None for the JSON files, whose contents carry the export's time)."""
    out = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(folder).as_posix()
            out[rel] = None if name.endswith((".json", ".jsonl", ".csv")) else path.read_bytes()
    return out


def _export(project_dir: Path, out: Path) -> None:
    with Project.open(project_dir, readonly=True) as project:
        export_masks(project, out, EXPORT_FORMATS, ExportFilter(has_mask=None), version=None, with_images=True)


def _check_export(dest: Path, reference: dict[str, bytes | None], result: TrialResult) -> None:
    if not dest.exists():
        result.note = "destination absent"
        return
    result.note = "destination complete"
    found = _listing(dest)
    if sorted(found) != sorted(reference):
        missing = sorted(set(reference) - set(found))
        result.failures.append(f"{dest.name} exists but is incomplete ({len(found)} of {len(reference)} files; "
                               f"missing e.g. {missing[:3]})")
        return
    for rel, data in found.items():
        if data is not None and data != reference[rel]:
            result.failures.append(f"{dest.name}/{rel} differs from an export nobody killed")
        if data is None:
            try:
                text = (dest / rel).read_text()
                if rel.endswith(".json"):
                    json.loads(text)
            except (ValueError, OSError) as exc:
                result.failures.append(f"{dest.name}/{rel} is damaged: {exc}")


def run_export_trials(workdir: Path, trials: int, seed: int = 0, progress: Progress = None) -> CrashSummary:
    """``gradia export --with-images`` of 40 masked samples, killed at a random point once it is exporting
    (the delays spread over the time an export nobody kills takes)."""
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    project_dir = make_project(workdir / "export-template", EXPORT_LAYOUT, seed)
    _mask_everything(project_dir, rng)
    results = []
    (workdir / "export-jobs").mkdir()
    with Zygote(["gradia_desktop.cli", "gradia_desktop.training.config"], workdir / "export-jobs") as zygote:
        reference_dir = workdir / "export-reference"
        duration = _timed_run(zygote, _export_argv(project_dir, reference_dir), "exporting")
        reference = _listing(reference_dir)
        for k in range(trials):
            delay = float(rng.uniform(0, duration))
            results.append(_export_trial(zygote, project_dir, workdir / f"export-trial-{k}", reference, delay))
            report(progress, "export crash trials", k + 1, trials)
    return CrashSummary("gradia export", results, check_available(), time.monotonic() - started)


def _export_argv(project_dir: Path, dest: Path) -> list[str]:
    return ["export", str(project_dir), "--format", EXPORT_FORMATS, "--with-images", "--has-mask", "any",
            "--version", "none", "--out", str(dest)]


def _export_trial(zygote: Zygote, project_dir: Path, parent: Path, reference: dict, delay: float) -> TrialResult:
    """``gradia export`` in a forked worker (the command's own code, without its start-up), killed at random."""
    parent.mkdir()
    dest = parent / "out"
    worker = zygote.spawn("gradia_desktop.cli:main", _export_argv(project_dir, dest))
    worker.wait_for("exporting", timeout=60)
    killed = worker.kill_after(delay)
    result = TrialResult(delay, issued=1, acknowledged=int(not killed and worker.status == 0), killed=killed)
    if not killed and worker.status != 0:
        result.failures.append(f"the export failed by itself: {(worker.stderr().strip().splitlines() or ['?'])[-1]}")
    _check_export(dest, reference, result)
    try:  # the next export beside it (to the same place when the killed one left nothing)
        _export(project_dir, dest if not dest.exists() else parent / "again")
    except GradiaError as exc:
        result.failures.append(f"the export after the kill failed: {exc}")
    result.failures += [f"stale after the next export: {p}" for p in leftovers(parent)]
    return result


def _mask_everything(project_dir: Path, rng: np.random.Generator) -> None:
    from .tiny_projects import random_mask

    with Project.open(project_dir) as project:
        for sample in project.samples():
            project.write_mask(sample, random_mask(rng, (sample.height, sample.width)))
