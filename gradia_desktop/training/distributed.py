"""One training run over several processes (GPUs, machines) with PyTorch's own engine, under torchrun.

torchrun (``torch.distributed.run``) starts one process per GPU and sets RANK, WORLD_SIZE,
LOCAL_RANK and the rendezvous address in each; ``from_environment`` reads them. Every rank trains
the same model (DistributedDataParallel averages the gradients), each on its share of every batch;
only rank 0 writes to the project. A rank that dies takes the others down with it: torchrun stops
the rest, and each rank's SIGTERM becomes an exception, so rank 0 marks the version failed instead of
leaving it half made.
"""

from __future__ import annotations

import datetime
import os
import signal
import sys
import threading
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..errors import GradiaError, RunStopped

COLLECTIVE_TIMEOUT = datetime.timedelta(hours=2)  # rank 0 evaluates and saves while the others wait


@dataclass(frozen=True)
class Distributed:
    rank: int
    world: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0

    def shard(self, index: torch.Tensor) -> torch.Tensor:
        """This rank's part of a global batch: every world-th sample from its rank on."""
        return index[self.rank::self.world]

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over all ranks."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self._device())
        dist.all_reduce(tensor)
        return tensor.cpu().tolist()

    def broadcast(self, value):
        """Rank 0's ``value`` on every rank (any picklable object)."""
        box = [value]
        dist.broadcast_object_list(box, src=0, device=self._device())
        return box[0]

    def barrier(self) -> None:
        dist.barrier()

    def _device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")


def from_environment() -> Distributed | None:
    """The run's place in a torchrun launch, or None when this process runs alone."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return None
    return Distributed(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


STOPPED = "stopped: another process of the distributed run ended (see its message above), or the run was cancelled"


def _ending() -> None:
    """From here on this process is tidying up (marking the version failed, removing its checkpoints):
    a second SIGTERM must not cut that short and leave half a version behind."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _raise_on_sigterm(signum, _frame) -> None:
    _ending()
    raise RunStopped(STOPPED)


def _interrupt(signum, _frame) -> None:
    """Ctrl-C reaches torchrun too, which then sends SIGTERM: it must not cut short the tidying."""
    _ending()
    raise KeyboardInterrupt


def fit_together(fit, inputs):
    """``fit(inputs)``, where a collective that fails because another process is gone ends this one
    as RunStopped (quietly: the launcher reports the cause) rather than with gloo's or NCCL's traceback."""
    try:
        return fit(inputs)
    except RuntimeError as exc:
        text = str(exc)
        if isinstance(exc, dist.DistError) or "gloo" in text or "NCCL" in text:
            _ending()
            raise RunStopped(f"{STOPPED} ({text.splitlines()[0][:200]})") from exc
        raise


def start(run: Distributed, device_spec: str) -> torch.device:
    """Join the process group (NCCL on CUDA, gloo on the CPU) and return this rank's device."""
    if device_spec.startswith("cuda:"):
        raise GradiaError("a distributed run puts one process on each GPU: use --device cuda (or auto), not "
                          f"{device_spec}")
    if device_spec not in ("auto", "cuda", "cpu"):
        raise GradiaError(f"a distributed run trains on CUDA GPUs or on CPU processes, not on {device_spec}: use "
                          "--device cuda, cpu or auto")
    if device_spec == "cuda" and not torch.cuda.is_available():
        raise GradiaError("device 'cuda' is not available: this machine has no usable CUDA GPU")
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    signal.signal(signal.SIGINT, _interrupt)
    use_cuda = device_spec in ("auto", "cuda") and torch.cuda.is_available()
    if use_cuda:
        if run.local_rank >= torch.cuda.device_count():
            raise GradiaError(f"process {run.local_rank} on this machine has no GPU of its own: it has "
                              f"{torch.cuda.device_count()}; start at most that many per machine")
        torch.cuda.set_device(run.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=COLLECTIVE_TIMEOUT)
    return torch.device("cuda", run.local_rank) if use_cuda else torch.device("cpu")


def stop() -> None:
    """Leave the process group after a failure (the other processes are being stopped)."""
    if dist.is_initialized():
        dist.destroy_process_group()


LEAVE_PATIENCE_S = 60.0


def finish(run: Distributed, patience_s: float = LEAVE_PATIENCE_S) -> None:
    """Leave the process group after a run that succeeded, all processes together.

    The others finish training before the first has validated and saved; one that tore its half of
    the group down meanwhile could abort in gloo's teardown (SIGABRT) and fail a run that had worked.
    Once all have met, the run's outcome is settled: should the teardown itself hang, the process
    ends after ``patience_s`` with success rather than hold the launch (and torchrun) up.
    """
    fit_together(lambda _: run.barrier(), None)
    watchdog = threading.Timer(patience_s, _leave_now, args=(0,))
    watchdog.daemon = True
    watchdog.start()
    try:
        stop()
    finally:
        watchdog.cancel()


def _leave_now(status: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def end_process(status: int) -> None:
    """The end of a process of a distributed run (a no-op elsewhere): leave the group (together with
    the others when this process succeeded), then exit without the interpreter's teardown, where
    gloo's threads, still holding tensors, can abort the process (SIGABRT) after its work is done."""
    run = from_environment()
    if run is None or not dist.is_initialized():
        return
    if status == 0:
        try:
            finish(run)
        except RunStopped:
            status = 2
    else:
        stop()
    _leave_now(status)


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """The model as DistributedDataParallel; on CUDA its BatchNorm layers share statistics across GPUs."""
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return nn.parallel.DistributedDataParallel(model, device_ids=[device.index])
    return nn.parallel.DistributedDataParallel(model)
