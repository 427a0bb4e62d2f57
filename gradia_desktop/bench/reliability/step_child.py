"""One process that runs many probe steps in-process, under a memory cap and an alarm per step.

    python -m gradia_desktop.bench.reliability.step_child STEPS.json FIRST MEMORY_BYTES

STEPS.json is a list of steps (see ``run_step``); steps before FIRST are skipped (the parent restarts
this process after a step that hung or crashed it). For each step it prints ``{"start": i}`` and then
``{"done": i, ...}``, one flushed JSON line each. Running every step in one process, rather than one
process per ``gradia`` call, pays the imports (torch's above all) once.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import resource
import shutil
import signal
import sys
import traceback
from pathlib import Path

import numpy as np


class StepTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in the product swallows it."""


def _on_alarm(_signum, _frame):
    raise StepTimeout()


def _cli(step: dict) -> dict:
    # This process stands in for a user typing `gradia ...` (pyproject.toml lets this one module import the CLI).
    from gradia_desktop.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(step["argv"])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return {"code": code, "stderr": err.getvalue()[-4000:], "stdout": out.getvalue()[-2000:]}


def _load(step: dict) -> dict:
    """Open the project read-only, load one sample's image and judge it against the corpus's expectation
    (``left_out`` when the project has no such sample)."""
    from ...core.store import Project
    from .corpus import check_loaded
    from .expectations import load_expected

    with Project.open(step["project"], readonly=True) as project:
        sample = next((s for s in project.samples() if s.path == step["path"]), None)
        if sample is None:  # init left the file out: nothing to load
            return {"code": 0, "left_out": True}
        rgb = project.load_image(sample)
    problem = check_loaded(load_expected(step["expected"]), rgb)
    return {"code": 0, "shape": list(rgb.shape), "problem": problem}


def _place(step: dict) -> dict:
    from .corpus import kind_by_name
    from .expectations import save_expected

    path = Path(step["path"])
    if path.is_symlink() or path.exists():
        path.unlink()
    expected = kind_by_name(step["kind"]).write(path, np.random.default_rng(step.get("seed", 0)))
    save_expected(step["expected"], expected)
    return {"code": 0}


def _restore(step: dict) -> dict:
    path = Path(step["path"])
    if path.is_symlink() or path.exists():
        path.unlink()
    shutil.copyfile(step["from"], path)
    return {"code": 0}


def _copy(step: dict) -> dict:
    shutil.copytree(step["from"], step["to"], symlinks=True)
    return {"code": 0}


def _open(step: dict) -> dict:
    """Open a project (read-only or not) and read everything a window would show first."""
    from ...core.store import Project

    with Project.open(step["project"], readonly=step.get("readonly", False)) as project:
        samples = project.samples()
        for sample in samples:
            project.read_mask(sample)
        for version in project.versions(status=None):
            project.judgements(version.id)
            project.predictions(version.id)
            project.epochs(version.id)
        return {"code": 0, "readonly": project.readonly, "samples": len(samples)}


def _call(step: dict) -> dict:
    """A harness function by name ("module:function") with JSON arguments: damage, set-up, or a check
    that returns a problem (a string) or None."""
    module, name = step["function"].split(":")
    problem = getattr(importlib.import_module(module), name)(*step.get("args", ()))
    return {"code": 0, "problem": problem} if isinstance(problem, str) else {"code": 0}


OPS = {"call": _call, "cli": _cli, "load": _load, "place": _place, "restore": _restore, "copy": _copy, "open": _open}


def run_step(step: dict) -> dict:
    """A result: {"code": ...} and what the op reports, or {"error": "GradiaError"|..., "message": ...}."""
    from ...errors import GradiaError

    if step.get("skip_unless_exists") and not Path(step["skip_unless_exists"]).exists():
        return {"skipped": "nothing to load: the step before did not make it"}
    signal.alarm(int(step.get("timeout", 30)))
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    if step.get("file_size_limit"):  # a full disk, as far as files above this size are concerned
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(step["file_size_limit"]), limits[1]))
    try:
        return OPS[step["op"]](step)
    except StepTimeout:
        return {"error": "hang", "message": f"no answer within {step.get('timeout', 30)} s"}
    except GradiaError as exc:
        return {"error": "GradiaError", "message": str(exc)}
    except MemoryError:
        return {"error": "memory", "message": "MemoryError under the memory cap"}
    except Exception as exc:  # noqa: BLE001 - what the probe is looking for
        return {"error": "traceback", "message": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()[-3000:]}
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)


def _virtual_memory_mb() -> int | None:
    """This process's address space (what RLIMIT_AS caps), for the report; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def main(argv: list[str]) -> None:
    steps = json.loads(Path(argv[1]).read_text())
    first, memory = int(argv[2]), int(argv[3])
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past RLIMIT_FSIZE a write fails with EFBIG instead
    for index in range(first, len(steps)):
        print(json.dumps({"start": index}), flush=True)
        result = run_step(steps[index])
        result["vm_mb"] = _virtual_memory_mb()
        print(json.dumps({"done": index, **result}, default=str), flush=True)


if __name__ == "__main__":
    main(sys.argv)
