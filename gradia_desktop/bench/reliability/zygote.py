"""A preloaded process that forks one worker per kill trial, so a trial pays no interpreter start-up.

    python -m gradia_desktop.bench.reliability.zygote MODULE...

imports the modules, then reads one JSON job per stdin line: ``{"job": "module:function", "args":
[...], "out": path, "err": path}``. For each it forks a worker whose stdout and stderr go to the two
files, which calls ``function(*args)``; the zygote answers ``{"pid": N}`` at once and ``{"ended": N,
"status": S}`` when the worker is gone (killed or finished). The worker runs exactly the code a fresh
process would; only the imports are shared. Jobs run one at a time. POSIX only (fork).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from .child_process import child_env, module_command


def _worker(job: dict) -> None:
    out = os.open(job["out"], os.O_WRONLY | os.O_APPEND)
    err = os.open(job["err"], os.O_WRONLY | os.O_APPEND)
    os.dup2(out, 1)
    os.dup2(err, 2)
    status = 0
    try:
        module, name = job["job"].split(":")
        result = getattr(importlib.import_module(module), name)(*job.get("args", ()))
        status = result if isinstance(result, int) else 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the worker reports and ends; the zygote goes on
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def serve(modules: list[str]) -> None:
    for module in modules:
        importlib.import_module(module)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _worker(job)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"ended": pid, "status": status}), flush=True)


class Worker:
    """One forked job: its output files, and a way to kill it and wait for the end."""

    def __init__(self, zygote: "Zygote", pid: int, out: Path, err: Path):
        self.zygote, self.pid, self.out, self.err = zygote, pid, out, err
        self.status: int | None = None

    def wait_for(self, marker: str, timeout: float) -> bool:
        """Poll both files until a line starts with ``marker`` (False on timeout or when the worker ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in (self.out, self.err):
                if any(line.startswith(marker) for line in path.read_text(errors="replace").splitlines()):
                    return True
            if self.zygote.ended_without_waiting(self):
                return False
            time.sleep(0.002)
        return False

    def kill_after(self, delay_s: float) -> bool:
        """SIGKILL after ``delay_s`` unless it ends first; True if the kill hit a running worker."""
        deadline = time.monotonic() + delay_s
        while time.monotonic() < deadline:
            if self.zygote.ended_without_waiting(self):
                return False
            time.sleep(min(0.002, max(0.0, deadline - time.monotonic())))
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:  # ended (and reaped) since the last look
            self.zygote.wait_end(self)
            return False
        self.zygote.wait_end(self)
        return os.WIFSIGNALED(self.status) and os.WTERMSIG(self.status) == signal.SIGKILL

    def lines(self) -> list[str]:
        return self.out.read_text(errors="replace").splitlines()

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")


class Zygote:
    """The parent's handle on a zygote process; use as a context manager."""

    def __init__(self, modules: list[str], workdir: Path):
        self.workdir = workdir
        self.proc = subprocess.Popen(module_command("gradia_desktop.bench.reliability.zygote", *modules),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=child_env({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}))
        self._jobs = 0
        first = self._read()
        if not first.get("ready"):
            raise RuntimeError("the zygote did not start")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote ended (status {self.proc.poll()})")
        return json.loads(line)

    def spawn(self, job: str, *args) -> Worker:
        self._jobs += 1
        out, err = self.workdir / f"job-{self._jobs}.out", self.workdir / f"job-{self._jobs}.err"
        out.touch()
        err.touch()
        self.proc.stdin.write(json.dumps({"job": job, "args": [str(a) if isinstance(a, Path) else a for a in args],
                                          "out": str(out), "err": str(err)}) + "\n")
        self.proc.stdin.flush()
        return Worker(self, self._read()["pid"], out, err)

    def ended_without_waiting(self, worker: Worker) -> bool:
        """Whether the worker has ended (reaped by the zygote); does not block."""
        if worker.status is not None:
            return True
        try:
            os.kill(worker.pid, 0)  # still there (maybe a zombie until the zygote reaps it)
        except ProcessLookupError:
            self.wait_end(worker)
            return True
        try:
            with open(f"/proc/{worker.pid}/stat", errors="replace") as fh:
                zombie = fh.read().rsplit(")", 1)[-1].split()[0] == "Z"
        except OSError:  # reaped meanwhile
            zombie = True
        if zombie:
            self.wait_end(worker)
        return zombie

    def wait_end(self, worker: Worker) -> None:
        if worker.status is None:
            worker.status = self._read()["status"]

    def __enter__(self) -> "Zygote":
        return self

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    serve(sys.argv[1:])
