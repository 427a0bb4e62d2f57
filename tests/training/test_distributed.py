"""training/distributed.py without a launch: where a process stands, its share of a batch, bad devices."""

from __future__ import annotations

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
