"""Random-kill trials of mask saves, clears and judgements (issue item 3, and 8 and 11 on the way).

Each trial forks ``crash_child`` (from a preloaded ``zygote``, so a trial costs no start-up) on the same project, lets it work for a random time and SIGKILLs
it. Then the project must reopen, pass the integrity check, and hold for every sample the last
acknowledged mask or one that was announced after it (in flight at the kill), nothing else;
judgements likewise. The trials run one after another on one project, so each starts from what
the previous kill left behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.progress import Progress, report
from ...core.store import Project
from ...errors import GradiaError
from .zygote import Zygote
from .digests import judgement_text, mask_digest
from .integrity import check_around_reopen, check_available
from .tiny_projects import add_judgeable_version, copy_project, make_project

CHILD = "gradia_desktop.bench.reliability.crash_child"
CHILD_JOB = CHILD + ":run"


@dataclass
class Operation:
    seq: int
    kind: str  # "mask" or "judge"
    sample: int
    value: str  # a mask digest or a judgement text


@dataclass
class State:
    masks: dict[int, str]
    judgements: dict[int, str]


@dataclass
class TrialResult:
    delay_s: float
    issued: int = 0
    acknowledged: int = 0
    unacknowledged: int = 0  # announced, not acknowledged: in flight at the kill, or coalesced away
    killed: bool = False
    note: str = ""  # what the kill left, in a few words (for the report's tallies)
    failures: list[str] = field(default_factory=list)
    repaired_by_reopen: list[str] = field(default_factory=list)


@dataclass
class CrashSummary:
    fault: str
    trials: list[TrialResult]
    check_available: bool
    seconds: float

    @property
    def failed(self) -> list[TrialResult]:
        return [t for t in self.trials if t.failures]

    @property
    def operations(self) -> int:
        return sum(t.issued for t in self.trials)

    @property
    def acknowledged(self) -> int:
        return sum(t.acknowledged for t in self.trials)


def parse_protocol(lines: list[str]) -> tuple[list[Operation], set[int], list[str]]:
    """(operations announced, sequence numbers acknowledged, errors reported) from the child's stdout."""
    ops, acked, errors = [], set(), []
    for line in lines:
        parts = line.split(" ", 3)
        if parts[0] in ("mask", "judge") and len(parts) == 4:
            ops.append(Operation(int(parts[1]), parts[0], int(parts[2]), parts[3]))
        elif parts[0] == "ack" and len(parts) == 2:
            acked.add(int(parts[1]))
        elif parts[0] == "error":
            errors.append(line)
    return ops, acked, errors


def allowed_values(initial: str, ops: list[Operation], acked: set[int]) -> set[str]:
    """What one sample may hold after the kill: the last acknowledged value or anything announced after it."""
    last = max((i for i, op in enumerate(ops) if op.seq in acked), default=None)
    if last is None:
        return {initial} | {op.value for op in ops}
    return {op.value for op in ops[last:]}


def read_state(project: Project, version: int) -> State:
    masks = {s.id: mask_digest(project.read_mask(s)) for s in project.samples()}
    judged = project.judgements(version)
    return State(masks, {sid: judgement_text(judged.get(sid)) for sid in masks})


def compare(before: State, after: State, ops: list[Operation], acked: set[int]) -> list[str]:
    problems = []
    for kind, old, new in (("mask", before.masks, after.masks), ("judge", before.judgements, after.judgements)):
        for sid in old:
            mine = [op for op in ops if op.kind == kind and op.sample == sid]
            allowed = allowed_values(old[sid], mine, acked)
            if new.get(sid) not in allowed:
                what = "mask" if kind == "mask" else "judgement"
                problems.append(f"sample {sid}: {what} {new.get(sid)} is none of the allowed {sorted(allowed)}")
    return problems


def _delay(rng: np.random.Generator) -> float:
    """Kill delays spread over three scales: the first write, the busy middle, a long run."""
    scale = rng.choice([0.02, 0.15, 0.6])
    return float(rng.uniform(0, scale))


def one_trial(zygote: Zygote, project_dir: Path, version: int, before: State, delay_s: float,
              seed: int) -> tuple[TrialResult, State | None]:
    """Kill one child; returns the trial's result and the state found (None if it could not be read)."""
    result = TrialResult(delay_s)
    worker = zygote.spawn(CHILD_JOB, str(project_dir), version, seed)
    if worker.wait_for("ready", timeout=60):
        result.killed = worker.kill_after(delay_s)
    else:
        result.killed = worker.kill_after(0)
    lines = worker.lines()
    ops, acked, errors = parse_protocol(lines)
    result.issued, result.acknowledged = len(ops), len(acked)
    result.unacknowledged = len(ops) - len(acked)
    if "ready" not in lines:
        result.failures.append(f"the child never became ready: {(worker.stderr().strip().splitlines() or ['?'])[-1]}")
    result.failures += [f"the child reported: {e}" for e in errors]
    after: list[State] = []

    def reopen() -> None:
        try:
            with Project.open(project_dir) as project:
                after.append(read_state(project, version))
        except GradiaError as exc:
            result.failures.append(f"reopen after the kill: {exc}")
        except Exception as exc:  # noqa: BLE001 - a traceback from the product is a finding
            result.failures.append(f"reopen after the kill raised {type(exc).__name__}: {exc}")

    integrity = check_around_reopen(project_dir, reopen)
    if integrity.available:
        result.repaired_by_reopen = integrity.before_reopen
        result.failures += [f"integrity after reopen: {p}" for p in integrity.after_reopen]
    if after:
        result.failures += compare(before, after[0], ops, acked)
    return result, (after[0] if after else None)


def run_mask_trials(workdir: Path, trials: int, seed: int = 0, progress: Progress = None) -> CrashSummary:
    """``trials`` random kills of the mask/judgement child on one small project under ``workdir``."""
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    template = make_project(workdir / "template")
    version = add_judgeable_version(template)
    attempt = 0

    def fresh() -> tuple[Path, State]:
        nonlocal attempt
        attempt += 1
        root = copy_project(template, workdir / f"trial-project-{attempt}")
        with Project.open(root) as project:
            return root, read_state(project, version)

    project_dir, state = fresh()
    results = []
    (workdir / "jobs").mkdir()
    with Zygote([CHILD], workdir / "jobs") as zygote:
        for k in range(trials):
            result, found = one_trial(zygote, project_dir, version, state, _delay(rng), int(rng.integers(1 << 31)))
            results.append(result)
            if found is None or result.failures:
                project_dir, state = fresh()  # one failure must not spoil the trials after it
            else:
                state = found
            report(progress, "mask crash trials", k + 1, trials)
    return CrashSummary("mask save / clear / judgement", results, check_available(),
                        time.monotonic() - started)
