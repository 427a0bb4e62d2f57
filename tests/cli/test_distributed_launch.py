"""`gradia train --nproc-per-node/--nnodes`: one run over several processes under torchrun (gloo on the CPU).

Each test starts real torchrun launches on localhost. The model is tiny-gn (GroupNorm): with
BatchNorm each process would normalise its own share of a batch, and weights could not match a
one-process run (on GPUs the run uses synchronised BatchNorm instead).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gradia_desktop.cli.distributed_launch import relay, root_cause, torchrun_command
from gradia_desktop.core.project_init import create_project

ARGS = ["--arch", "tiny-gn", "--image-size", "32", "--device", "cpu", "--batch-size", "16", "--seed", "4",
        "--loader-workers", "0"]
TOLERANCE = 1e-4  # largest weight difference after an epoch of Adam steps: the summation order differs


@pytest.fixture
def project_dir(small_dataset, tmp_path):
    create_project(tmp_path / "p", small_dataset / "images", small_dataset / "masks").close()
    return tmp_path / "p"


def gradia(*argv, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "gradia_desktop", *map(str, argv)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, **kwargs)


def versions(project: Path) -> list[tuple]:
    with sqlite3.connect(project / "project.sqlite") as db:
        return db.execute("SELECT id, status, checkpoint FROM versions ORDER BY id").fetchall()


def weights(project: Path, version: int) -> dict:
    checkpoint = dict((v, c) for v, _, c in versions(project))[version]
    return load_file(str(project / checkpoint))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_learn_what_one_process_learns_from_the_same_global_batch(project_dir):
    one = gradia("train", project_dir, "--epochs", 1, *ARGS, "--json")
    assert one.returncode == 0, one.stderr
    two = gradia("train", project_dir, "--epochs", 1, *ARGS, "--nproc-per-node", 2, "--json")
    assert two.returncode == 0, two.stderr
    a, b = json.loads(one.stdout), json.loads(two.stdout)  # one result, from the first process only
    assert [v[:2] for v in versions(project_dir)] == [(a["version"], "done"), (b["version"], "done")]
    wa, wb = weights(project_dir, a["version"]), weights(project_dir, b["version"])
    worst = max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa)
    assert worst < TOLERANCE
    assert abs(a["val"]["accuracy"] - b["val"]["accuracy"]) <= 0.05


def test_averaged_weights_kept_by_two_processes_are_those_one_process_keeps(project_dir):
    averaged = ["--epochs", 2, *ARGS, "--average-epochs", 1, "--json"]
    one = gradia("train", project_dir, *averaged)
    two = gradia("train", project_dir, *averaged, "--nproc-per-node", 2)
    assert one.returncode == 0 and two.returncode == 0, two.stderr
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert a["best_epoch"] == b["best_epoch"]
    wa, wb = weights(project_dir, a["version"]), weights(project_dir, b["version"])
    assert max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa) < TOLERANCE


def test_guided_training_with_counterfactuals_runs_distributed_with_close_metrics(project_dir):
    guided = ["--mode", "gradia-all", "--counterfactual", "--epochs", 2, *ARGS, "--json"]
    one = gradia("train", project_dir, *guided)
    two = gradia("train", project_dir, *guided, "--nproc-per-node", 2, "--data", "stream")
    assert one.returncode == 0 and two.returncode == 0, two.stderr
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert [v[1] for v in versions(project_dir)] == ["done", "done"]
    assert abs(a["val"]["accuracy"] - b["val"]["accuracy"]) <= 0.15
    assert abs(a["val"]["iou"] - b["val"]["iou"]) <= 0.15


def test_two_machines_on_localhost_make_one_version_written_by_the_first(project_dir):
    endpoint = f"127.0.0.1:{free_port()}"
    common = ["train", project_dir, "--epochs", 1, *ARGS, "--nnodes", 2, "--rdzv-endpoint", endpoint,
              "--nproc-per-node", 1]
    second = subprocess.Popen([sys.executable, "-m", "gradia_desktop", *map(str, common), "--node-rank", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = gradia(*common, "--node-rank", 0, "--json", timeout=300)
    out, err = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + err
    assert out.strip() == ""  # the second machine reports nothing: the first one does
    assert [v[1] for v in versions(project_dir)] == ["done"]
    assert json.loads(first.stdout)["version"] == 1
    assert sorted(p.name for p in (project_dir / "models").iterdir()) == ["v1"]


def _rank_process(tag: str, rank: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"GRADIA_TEST_TAG={tag}".encode() in env and f"RANK={rank}".encode() in env:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the process through /proc")
def test_killing_one_process_ends_the_run_with_one_line_and_no_version(project_dir):
    tag = f"kill-{os.getpid()}"
    launch = subprocess.Popen([sys.executable, "-m", "gradia_desktop", "train", str(project_dir), "--epochs", "200",
                               *ARGS, "--nproc-per-node", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "GRADIA_TEST_TAG": tag})
    deadline, victim = time.monotonic() + 120, None
    while time.monotonic() < deadline:  # wait until training has begun: the version row exists
        victim = _rank_process(tag, 1)
        if victim and versions(project_dir):
            break
        time.sleep(0.2)
    assert victim and versions(project_dir), "the run did not start"
    os.kill(victim, signal.SIGKILL)
    _, err = launch.communicate(timeout=180)
    assert launch.returncode == 2
    lines = [line for line in err.splitlines() if line.startswith("gradia train: error:")]
    assert len(lines) == 1 and "process 1 was killed by SIGKILL" in lines[0] and "no version was made" in lines[0]
    assert "Traceback" not in err and "ChildFailedError" not in err
    assert [v[1] for v in versions(project_dir)] == ["failed"], versions(project_dir)
    left = list((project_dir / "models").glob("v*/epoch_*"))
    assert not left, left


def test_the_launch_command_keeps_every_other_flag_and_names_the_rendezvous():
    class Args:
        nproc_per_node, nnodes, node_rank, rdzv_endpoint = 2, 1, 0, None

    cmd = torchrun_command(Args, ["train", "P", "--nproc-per-node", "2", "--epochs", "3", "--nproc-per-node=2"])
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"] and "--standalone" in cmd
    assert cmd[cmd.index("gradia_desktop.cli") + 1:] == ["train", "P", "--epochs", "3"]
    Args.nnodes, Args.node_rank, Args.rdzv_endpoint = 2, 1, "10.0.0.1:29400"
    cmd = torchrun_command(Args, ["train", "P", "--nnodes", "2", "--node-rank", "1", "--rdzv-endpoint=10.0.0.1:29400"])
    assert cmd[cmd.index("--rdzv-endpoint") + 1] == "10.0.0.1:29400" and "--standalone" not in cmd
    assert cmd[cmd.index("--node-rank") + 1] == "1"
    assert cmd[cmd.index("gradia_desktop.cli") + 1:] == ["train", "P"]


TORCHRUN_STDERR = """\
starting 2 process(es) on this machine under torchrun
W1204 03:29:04.171000 26573 torch/distributed/elastic/multiprocessing/api.py:1028] Sending process 26579 closing signal SIGTERM
*****************************************
Setting OMP_NUM_THREADS environment variable for each process to be 1 in default, to avoid your system being overloaded.
*****************************************
epoch 1/50: 10/50 (20%)
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ValueError: a process's own failure is shown
Traceback (most recent call last):
  File "/torch/distributed/run.py", line 1142, in <module>
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : 2 (pid: 26579)
Root Cause (first observed failure):
[0]:
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 26580)  (SIGKILL)
============================================================
"""


def test_torchrun_logging_is_dropped_and_its_report_read_for_the_cause():
    import io

    out = io.StringIO()
    report = relay(io.StringIO(TORCHRUN_STDERR), out)
    shown = out.getvalue().splitlines()
    assert shown == ["starting 2 process(es) on this machine under torchrun", "epoch 1/50: 10/50 (20%)",
                     "Traceback (most recent call last):", '  File "x.py", line 1, in <module>',
                     "ValueError: a process's own failure is shown"]
    assert root_cause(report) == "process 1 was killed by SIGKILL"
    assert root_cause([line.replace("-9", "3") + "\n" for line in report]) == "process 1 exited with status 3"
    assert root_cause([]) == ""


def test_the_same_error_from_every_process_is_kept_once_for_the_launcher_to_report():
    import io

    text = ("gradia train: error: P: no model version v9\n" * 2 + "epoch 1/2: 1/1 (100%)\n"
            "gradia train: error: P/masks/3.png: cannot read\n")
    out, errors = io.StringIO(), []
    relay(io.StringIO(text), out, errors)
    assert out.getvalue() == "epoch 1/2: 1/1 (100%)\n"
    assert errors == ["gradia train: error: P: no model version v9", "gradia train: error: P/masks/3.png: cannot read"]


def test_input_every_process_refuses_is_one_error_line(project_dir):
    run = gradia("train", project_dir, "--from", 9, *ARGS, "--nproc-per-node", 2)
    lines = [line for line in run.stderr.splitlines() if "error" in line]
    assert run.returncode == 2 and lines == [f"gradia train: error: {project_dir.resolve()}: no model version v9"]
