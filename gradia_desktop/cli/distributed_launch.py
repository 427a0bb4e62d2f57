"""`gradia train --nproc-per-node N [--nnodes M --node-rank K --rdzv-endpoint HOST:PORT]`: the same
command started again under torchrun (``torch.distributed.run``), one process per GPU (or CPU process).

The launcher only builds torchrun's command line and waits for it: every process then runs
`python -m gradia_desktop.cli train ...` with the launch flags removed, finds its place in the run
from the environment torchrun sets (training/distributed.py), and trains.
"""

from __future__ import annotations

import argparse
import io
import re
import signal
import subprocess
import sys
from typing import TextIO

from ..errors import Cancelled, GradiaError

VALUE_FLAGS = ("--nproc-per-node", "--nnodes", "--node-rank", "--rdzv-endpoint")


def add_launch_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("distributed training (torchrun)")
    g.add_argument("--nproc-per-node", type=int, metavar="N",
                   help="train with N processes on this machine, one per GPU (on a machine without GPUs, N CPU "
                        "processes); --batch-size is then the global batch, shared among them")
    g.add_argument("--nnodes", type=int, default=1, metavar="M",
                   help="machines taking part; start the same command on each, with its own --node-rank "
                        "(the project folder must be on storage they share)")
    g.add_argument("--node-rank", type=int, default=0, metavar="K", help="this machine's number, 0 to M-1")
    g.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                   help="where the machines meet: machine 0's address and a free port on it")


def wants_launch(args) -> bool:
    return bool(args.nproc_per_node) or args.nnodes > 1


def _without_launch_flags(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in VALUE_FLAGS:
            skip = True
            continue
        if arg.startswith(tuple(f"{flag}=" for flag in VALUE_FLAGS)):
            continue
        out.append(arg)
    return out


def torchrun_command(args, argv: list[str]) -> list[str]:
    """The torchrun command line that runs ``argv`` (a `gradia` command line) in every process."""
    per_node = args.nproc_per_node or 1
    if per_node < 1 or args.nnodes < 1:
        raise GradiaError(f"--nproc-per-node and --nnodes must be at least 1 (got {per_node}, {args.nnodes})")
    if not 0 <= args.node_rank < args.nnodes:
        raise GradiaError(f"--node-rank must lie between 0 and {args.nnodes - 1}, got {args.node_rank}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(per_node), "--max-restarts", "0"]
    if args.nnodes == 1 and not args.rdzv_endpoint:
        cmd += ["--standalone"]
    else:
        if not args.rdzv_endpoint or ":" not in args.rdzv_endpoint:
            raise GradiaError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT (machine 0's address and a free port)")
        cmd += ["--nnodes", str(args.nnodes), "--node-rank", str(args.node_rank), "--rdzv-backend", "static",
                "--rdzv-endpoint", args.rdzv_endpoint]
    return cmd + ["-m", "gradia_desktop.cli", *_without_launch_flags(argv)]


_AGENT_LOG = re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d\d")  # torchrun's own log lines
_BANNER = ("*****", "Setting OMP_NUM_THREADS")


_OWN_ERROR = re.compile(r"^gradia \S+: error: ")


def relay(lines, out: TextIO, errors: list[str] | None = None) -> list[str]:
    """Pass the processes' output on to ``out``, less torchrun's own logging; return torchrun's failure
    report (the lines after its ChildFailedError), which ``root_cause`` reads.

    The processes' own one-line errors ('gradia train: error: ...') go to ``errors`` instead, once
    each: on input every process finds wrong, each says the same thing."""
    report: list[str] | None = None
    held: list[str] = []  # a traceback, until it is known whose
    for line in lines:
        if report is not None:
            report.append(line)
        elif held:
            held.append(line)
            if "ChildFailedError" in line:  # the launcher's own traceback: its report follows
                report, held = [], []
            elif not line.startswith((" ", "\t")):
                out.write("".join(held))
                out.flush()
                held = []
        elif line.startswith("Traceback (most recent call last):"):
            held = [line]
        elif errors is not None and _OWN_ERROR.match(line):
            if line.rstrip() not in errors:
                errors.append(line.rstrip())
        elif not (_AGENT_LOG.match(line) or line.startswith(_BANNER) or not line.strip()):
            out.write(line)
            out.flush()
    out.write("".join(held))
    return report or []


def root_cause(report: list[str]) -> str:
    """'process 1 was killed by signal SIGKILL', from torchrun's report, or '' when it gave none."""
    text = "".join(report)
    cause = text.split("Root Cause", 1)[-1]
    rank = re.search(r"rank\s*:\s*(\d+)", cause)
    code = re.search(r"exitcode\s*:\s*(-?\d+)", cause)
    if not rank or not code:
        return ""
    status = int(code.group(1))
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"process {rank.group(1)} was killed by {name}"
    return f"process {rank.group(1)} exited with status {status}"


def launch(args, argv: list[str], progress):
    """Run torchrun and wait; its first process prints the result (on stdout, as without a launch)."""
    cmd = torchrun_command(args, argv)
    progress.message(f"starting {args.nproc_per_node or 1} process(es) on this machine"
                     + (f", machine {args.node_rank} of {args.nnodes}" if args.nnodes > 1 else "") + " under torchrun")
    child = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, bufsize=1)
    errors: list[str] = []
    try:
        report = relay(child.stderr, sys.stderr, errors)
    except KeyboardInterrupt:  # Ctrl-C (or the app's cancel) reached every process of the run, torchrun too
        try:
            relay(child.stderr, io.StringIO())  # read on, or torchrun could block on a full pipe while it stops
        finally:
            child.wait()
        raise Cancelled("cancelled: no version was made") from None
    finally:
        status = child.wait()
    if status != 0 and errors:  # the processes said why: that is the run's error
        for line in errors[1:]:
            progress.warn(line)
        raise GradiaError(_OWN_ERROR.sub("", errors[0]))
    if status != 0:
        cause = root_cause(report)
        raise GradiaError(f"the distributed run stopped{': ' + cause if cause else ''} (exit status {status}; any "
                          "message of its own is above); no version was made")
    return None, None
