"""Runs a list of probe steps in ``step_child`` processes and classifies what each step did.

One child runs the steps in order. When a step hangs past its alarm, or takes the process down
(a segfault, the kernel's OOM killer), the parent records that and starts a fresh child at the next
step, so one bad file cannot hide the others.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .child_process import child_env, module_command

CHILD = "gradia_desktop.bench.reliability.step_child"
# RLIMIT_AS of the child: a decompression bomb fails there instead of taking the machine. Not 4 GiB: with a
# CUDA build of torch imported the address space is ~3.6 GB before any work (libraries mapped, not used).
MEMORY_CAP = 8 << 30
WATCHDOG_GRACE_S = 30.0  # beyond a step's own alarm, for a hang the alarm cannot break (a blocked thread)

# Tiny models on tiny images: one thread each is faster than two fighting over a busy machine's cores.
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

HANDLED, REFUSED = "handled", "refused"
GOOD = frozenset({HANDLED, REFUSED})
LEFT_OUT = "left out"  # a load found no such sample: init left the file out (good only where init said so)


@dataclass
class StepOutcome:
    step: dict
    status: str  # handled, refused, left out, messy refusal, failed, wrong load/result, traceback, hang, memory,
    # crash, skipped
    detail: str = ""
    seconds: float = 0.0
    raw: dict = field(default_factory=dict)


def classify(step: dict, raw: dict) -> tuple[str, str]:
    """(status, detail) of one step's raw result."""
    error = raw.get("error")
    if error == "GradiaError":
        return REFUSED, raw.get("message", "")
    if error:
        return error, raw.get("message", "")
    if raw.get("skipped"):
        return "skipped", raw.get("skipped")
    if step["op"] == "load" and raw.get("left_out"):
        return LEFT_OUT, "not in the project"
    if step["op"] in ("load", "call") and raw.get("problem"):
        return "wrong load" if step["op"] == "load" else "wrong result", raw["problem"]
    if step["op"] != "cli":
        return HANDLED, ""
    command = step["argv"][0]
    stderr, code = raw.get("stderr", ""), raw.get("code")
    if code == 0:
        return HANDLED, ""
    error_lines = [line for line in stderr.splitlines() if line.startswith(f"gradia {command}: error:")]
    last = (stderr.strip().splitlines() or [""])[-1]
    if code == 2 and len(error_lines) == 1 and "Traceback" not in stderr:
        return REFUSED, error_lines[0]
    if code == 2:
        return "messy refusal", f"{len(error_lines)} error lines; last line: {last}"
    return "failed", f"exit status {code}: {last}"


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _drain(stream, sink: list[str]) -> None:
    for line in stream:
        sink.append(line)
        del sink[:-50]


def run_steps(steps: list[dict], workdir: Path, memory_bytes: int = MEMORY_CAP,
              env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()) -> list[StepOutcome]:
    """Run ``steps`` (dicts for step_child.run_step); one outcome per step, in order.

    ``prefix``: a command the child runs under (e.g. ``setpriv`` dropping root's file-permission bypass)."""
    workdir.mkdir(parents=True, exist_ok=True)
    steps_file = workdir / f"steps-{time.monotonic_ns()}.json"
    steps_file.write_text(json.dumps(steps))
    outcomes: dict[int, StepOutcome] = {}
    first = 0
    while first < len(steps):
        first = _one_child(steps, steps_file, first, memory_bytes, env, outcomes, prefix)
    return [outcomes[i] for i in range(len(steps))]


def _one_child(steps, steps_file, first, memory_bytes, env, outcomes, prefix=()) -> int:
    """Run one child from step ``first``; returns the step to start the next child at."""
    proc = subprocess.Popen([*prefix, *module_command(CHILD, steps_file, first, memory_bytes)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or child_env(SINGLE_THREADED),
                            errors="replace")
    lines: queue.Queue = queue.Queue()
    stderr_tail: list[str] = []
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    threading.Thread(target=_drain, args=(proc.stderr, stderr_tail), daemon=True).start()
    current, began = None, time.monotonic()
    deadline = began + 120  # imports before the first step
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            proc.kill()
            proc.wait()
            index = first if current is None else current
            outcomes[index] = StepOutcome(steps[index], "hang", "the step's alarm did not stop it; the process was "
                                          "killed by the watchdog", time.monotonic() - began)
            return index + 1
        if line is None:
            proc.wait()
            if current is None and first not in outcomes and first < len(steps):
                current = first
            if current is None:
                return len(steps)
            tail = "".join(stderr_tail).strip().splitlines()[-1:] or [""]
            outcomes[current] = StepOutcome(steps[current], "crash",
                                            f"the process died (exit status {proc.returncode}): {tail[0]}",
                                            time.monotonic() - began)
            return current + 1
        try:
            message = json.loads(line)
        except ValueError:
            continue  # something the product printed on stdout itself
        if "start" in message:
            current, began = message["start"], time.monotonic()
            deadline = began + steps[current].get("timeout", 30) + WATCHDOG_GRACE_S
        elif "done" in message:
            index = message.pop("done")
            status, detail = classify(steps[index], message)
            outcomes[index] = StepOutcome(steps[index], status, detail, time.monotonic() - began, message)
            current = None
            if index == len(steps) - 1:
                proc.wait()
                return len(steps)
