"""All reliability probes in one run, and docs/RELIABILITY.md written from their results.

``run_reliability(trials, workdir)`` runs the mask crash trials (``trials`` kills), the training and
export kill trials (a share of that), the hostile-image corpus and the damaged/read-only/locked
project probes; ``markdown`` turns the result into the document.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ...core.progress import Progress
from .crash_trials import CrashSummary, run_mask_trials
from .damage_probes import run_damage_probes
from .hostile_runs import run_hostile_corpus
from .probe_rows import ProbeRow, ProbeSummary
from .process_kills import run_export_trials, run_training_trials

PARTS = ("masks", "training", "export", "hostile", "damage")


def training_trials_for(trials: int) -> int:
    """Training kills cost a torch start each (~3 s): one per 20 mask kills, at least 3."""
    return max(3, trials // 20)


def export_trials_for(trials: int) -> int:
    return max(4, trials // 10)


@dataclass
class Reliability:
    trials: int
    crash: list[CrashSummary] = field(default_factory=list)
    probes: list[ProbeSummary] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[str]:
        out = []
        for summary in self.crash:
            if not summary.check_available:
                out.append(f"{summary.fault}: core.project_check is missing, integrity not checked")
            out += [f"{summary.fault}, kill after {t.delay_s:.3f}s: {f}" for t in summary.failed for f in t.failures]
        for summary in self.probes:
            out += [f"{r.subject} / {r.stage} (item {r.item}): {r.status}: {r.detail}" for r in summary.failed]
        return out


def run_reliability(trials: int, workdir: Path, progress: Progress = None, parts=PARTS, seed: int = 0) -> Reliability:
    """Every probe of the harness, working under ``workdir`` (which must be empty or missing)."""
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    result = Reliability(trials)
    if "masks" in parts:
        result.crash.append(run_mask_trials(workdir / "masks", trials, seed, progress))
    if "training" in parts:
        result.crash.append(run_training_trials(workdir / "training", training_trials_for(trials), seed, progress))
    if "export" in parts:
        result.crash.append(run_export_trials(workdir / "export", export_trials_for(trials), seed, progress))
    if "hostile" in parts:
        result.probes.append(run_hostile_corpus(workdir / "hostile", progress))
    if "damage" in parts:
        result.probes.append(run_damage_probes(workdir / "damage", progress))
    result.seconds = time.monotonic() - started
    return result


# ---- the document -------------------------------------------------------------------------------
def _machine() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch_text = f", torch {version('torch')}"
    except PackageNotFoundError:  # pragma: no cover - torch is a dependency
        torch_text = ""
    return (f"{os.cpu_count()} CPU cores, {platform.system()} {platform.release()} ({platform.machine()}), "
            f"Python {sys.version.split()[0]}{torch_text}, running as {'root' if _is_root() else 'a normal user'}")


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _repair_kinds(trials) -> dict[str, int]:
    """Trials per kind of repair: '1 temp file of an interrupted write: masks/.x.tmp' -> 'temp file of an
    interrupted write'; 'v2: still marked running, ...' -> 'still marked running, ...'."""
    kinds: dict[str, int] = {}
    for trial in trials:
        for text in {re.sub(r"^(\d+ |v\d+: )", "", p).split(":")[0] for p in trial.repaired_by_reopen}:
            kinds[text] = kinds.get(text, 0) + 1
    return kinds


def _crash_section(summary: CrashSummary) -> list[str]:
    killed = sum(t.killed for t in summary.trials)
    repaired = [t for t in summary.trials if t.repaired_by_reopen]
    lines = [f"### {summary.fault}", "",
             f"{len(summary.trials)} trials in {summary.seconds:.0f} s: {killed} killed mid-run, "
             f"{len(summary.trials) - killed} finished before the kill. "
             + (f"{summary.operations} operations announced, {summary.acknowledged} acknowledged before the kills. "
                if summary.operations > len(summary.trials) else "")
             + (f"In {len(repaired)} trials the kill left something that the next open repaired ("
                + ", ".join(f"{what}: {n}" for what, n in _repair_kinds(repaired).items()) + ")." if repaired else ""),
             ""]
    lines[2] = lines[2].rstrip()
    if not summary.check_available:
        lines += ["**The integrity check (core.project_check) was missing: only the reopen and the data were "
                  "checked.**", ""]
    notes: dict[str, int] = {}
    for t in summary.trials:
        if t.note:
            notes[t.note] = notes.get(t.note, 0) + 1
    if notes:
        lines += ["After the kill: " + ", ".join(f"{what} ({n})" for what, n in notes.items()) + ".", ""]
    failed = summary.failed
    lines.append(f"**Outcome: {len(summary.trials) - len(failed)} of {len(summary.trials)} trials passed.**")
    for t in failed[:10]:
        lines.append(f"- kill after {t.delay_s:.3f} s: " + "; ".join(_cell(f) for f in t.failures[:3]))
    if len(failed) > 10:
        lines.append(f"- ... and {len(failed) - 10} more failed trials")
    return lines + [""]


def _probe_table(summary: ProbeSummary) -> list[str]:
    stages: list[str] = []
    for row in summary.rows:
        if row.stage not in stages:
            stages.append(row.stage)
    subjects: dict[str, dict[str, ProbeRow]] = {}
    for row in summary.rows:
        subjects.setdefault(row.subject, {})[row.stage] = row
    head = ["what", "item", *stages]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for subject, rows in subjects.items():
        item = next(iter(rows.values())).item
        cells = []
        for stage in stages:
            row = rows.get(stage)
            cells.append("" if row is None else row.status if row.ok else f"**{row.status} (FAIL)**")
        lines.append("| " + " | ".join([_cell(subject), item, *cells]) + " |")
    return lines


def _probe_section(summary: ProbeSummary) -> list[str]:
    failed = summary.failed
    lines = [f"### {summary.name[0].upper()}{summary.name[1:]}", "",
             f"{len(summary.rows)} checks in {summary.seconds:.0f} s; **{len(summary.rows) - len(failed)} passed, "
             f"{len(failed)} failed.**", "", *_probe_table(summary), ""]
    for subject, why in summary.skipped.items():
        lines.append(f"- not run: {subject} ({why})")
    for row in failed:
        lines.append(f"- FAIL {_cell(row.subject)} / {row.stage} (item {row.item}): {row.status}: {_cell(row.detail)}")
    return lines + ([""] if failed or summary.skipped else [])


# The list of faults, by item number.
ITEMS = {"1": "mask saved under the wrong sample (GUI)", "2": "colour photos accepted as masks",
         "3": "clearing/replacing a mask not crash-consistent", "4": "read-only projects cannot be opened",
         "5": "decompression bombs", "6": "FIFO hangs, /dev/zero, link loops", "7": "damaged projects",
         "8": "no lock", "9": "imports that crash", "10": "full disk while training",
         "11": "leftovers (running runs, .partial folders, temp files)",
         "12": "silent alterations and unreadable files"}
KILL_ITEMS = {"mask save / clear / judgement": "3, 8, 11", "gradia train": "11", "gradia export": "11"}


def _summary_table(result: Reliability) -> list[str]:
    lines = ["| item | fault | probed by | trials / checks | outcome |", "|---|---|---|---|---|"]
    for s in result.crash:
        ok = len(s.trials) - len(s.failed)
        lines.append(f"| {KILL_ITEMS.get(s.fault, '')} | {s.fault} killed at random | kill trials | {len(s.trials)} | "
                     f"{ok} of {len(s.trials)} passed{'' if s.check_available else ' (no integrity check)'} |")
    by_item: dict[str, list[ProbeRow]] = {}
    for s in result.probes:
        for row in s.rows:
            by_item.setdefault(row.item, []).append(row)
    skipped = {subject: why for s in result.probes for subject, why in s.skipped.items()}
    for item in ("1", "4"):  # the GUI's item is tested by pytest only; read-only needs a normal user
        by_item.setdefault(item, [])
    for item, rows in sorted(by_item.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 99):
        if not rows:
            why = "; ".join(f"{k} not run ({v})" for k, v in skipped.items() if "read-only" in k) or "not run"
            if item == "1":
                why = "the GUI: tests/qt/canvas/test_hostile_canvas.py (pytest), not this command"
            lines.append(f"| {item} | {ITEMS[item]} | {why} | - | - |")
            continue
        bad = sum(not r.ok for r in rows)
        subjects = len({r.subject for r in rows})
        probed = f"{subjects} input{'s' if subjects > 1 else ''} or situation{'s' if subjects > 1 else ''}"
        lines.append(f"| {item} | {ITEMS.get(item, '')} | {probed} | {len(rows)} | "
                     f"{len(rows) - bad} of {len(rows)} passed |")
    return lines


def markdown(result: Reliability, command: str) -> str:
    lines = ["# Reliability: nothing lost, nothing let in", "",
             f"Produced by `{command}` on {date.today().isoformat()} ({_machine()}); "
             f"{result.seconds / 60:.1f} minutes. The ordinary tests (tests/bench/test_reliability.py) run the "
             "same harness (gradia_desktop/bench/reliability) with fewer trials; the GUI canvas part is "
             "tests/qt/canvas/test_hostile_canvas.py.", "",
             "Kill trials: a child process works on a small project and is SIGKILLed after a random delay "
             "(spread over three scales so kills land in file writes and commits); then the project must "
             "reopen, pass `gradia check` after the open's own reconciliation, and hold every acknowledged "
             "write byte-identical (for masks: the last acknowledged mask or one still in flight, nothing else). "
             "Probes: each hostile file or damaged project goes through the commands in one child process "
             "(memory cap 8 GiB of address space, an alarm per step); each step must be handled or refused in "
             "one line (exit status 2, one `gradia <cmd>: error:` line, no traceback), never a traceback, hang or "
             "memory blow-up.", "",
             "## Summary", "", *_summary_table(result), ""]
    failures = result.failures
    lines += [f"**{len(failures)} failure{'s' if len(failures) > 1 else ''}.**" if failures else "**No failures.**", ""]
    lines += ["## Kill trials", ""]
    for summary in result.crash:
        lines += _crash_section(summary)
    lines += ["## Probes", ""]
    for summary in result.probes:
        lines += _probe_section(summary)
    return "\n".join(lines).rstrip() + "\n"
