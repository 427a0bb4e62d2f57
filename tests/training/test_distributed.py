"""training/distributed.py: where a process stands, its share of a batch, bad devices, leaving the group."""

from __future__ import annotations

import multiprocessing
import os
import socket
import time

import pytest
import torch

from gradia_desktop.errors import GradiaError
from gradia_desktop.training import distributed
from gradia_desktop.training.distributed import Distributed, from_environment


def test_the_environment_says_whether_this_process_is_part_of_a_launch(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert from_environment() is None
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert from_environment() is None
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    run = from_environment()
    assert (run.rank, run.world, run.local_rank, run.main) == (3, 4, 1, False)


def test_the_shares_of_a_batch_cover_it_once():
    batch = torch.arange(10, 20)
    shares = [Distributed(r, 3, r).shard(batch) for r in range(3)]
    assert sorted(torch.cat(shares).tolist()) == batch.tolist() and shares[0].tolist() == [10, 13, 16, 19]


@pytest.mark.parametrize("device, problem", [("mps", "not on mps"), ("cuda:1", "one process on each GPU")])
def test_devices_a_distributed_run_cannot_use_are_refused_in_one_line(device, problem):
    with pytest.raises(GradiaError, match=problem):
        distributed.start(Distributed(0, 2, 0), device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(GradiaError, match="no usable CUDA GPU"):
        distributed.start(Distributed(0, 2, 0), "cuda")


def _finish_after(rank: int, port: int, work: float, times) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    run = Distributed(rank, 2, rank)
    distributed.start(run, "cpu")
    time.sleep(work)
    times[f"worked {rank}"] = time.time()
    distributed.finish(run)
    times[f"left {rank}"] = time.time()


def test_a_process_that_finished_first_leaves_the_group_only_when_the_first_process_has_finished_too():
    """The first process validates and saves after training; the others must not tear the group
    down meanwhile (in gloo that could abort them and fail a run that had worked)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        times = manager.dict()
        first = context.Process(target=_finish_after, args=(0, port, 1.5, times))
        other = context.Process(target=_finish_after, args=(1, port, 0.0, times))
        first.start(); other.start()
        first.join(60); other.join(60)
        assert (first.exitcode, other.exitcode) == (0, 0)
        assert times["left 1"] >= times["worked 0"]


def _hanging_teardown(port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK="0", WORLD_SIZE="1")
    run = Distributed(0, 1, 0)
    distributed.start(run, "cpu")
    distributed.stop = lambda: time.sleep(600)  # a teardown that never returns
    print("result printed", flush=True)
    distributed.finish(run, patience_s=0.5)
    raise AssertionError("finish returned although the teardown hung")


def test_a_teardown_that_hangs_after_a_settled_run_ends_the_process_with_success():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = multiprocessing.get_context("spawn").Process(target=_hanging_teardown, args=(port,))
    started = time.monotonic()
    process.start()
    process.join(60)
    assert process.exitcode == 0 and time.monotonic() - started < 30
