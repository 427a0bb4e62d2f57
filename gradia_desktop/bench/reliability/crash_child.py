"""The process the crash trials kill: saves, clears and judges as fast as it can, through the code the
GUI uses (``MaskAutosaver`` over a ``Project``, and ``Project.set_judgement``).

    python -m gradia_desktop.bench.reliability.crash_child PROJECT VERSION SEED

Protocol, one flushed line each on stdout (the parent reads them after the kill):

    ready                         the project is open; operations follow
    mask SEQ SAMPLE DIGEST        about to queue a save (DIGEST of the mask, "none" for a clear)
    judge SEQ SAMPLE VALUE        about to set a judgement (VALUE: 1, 0 or none)
    ack SEQ                       operation SEQ is done: the autosaver's on_saved reported no error,
                                  or set_judgement returned
    error SEQ MESSAGE             operation SEQ failed (a trial with one fails)

An operation is announced before it starts and acknowledged after it has finished, so whatever the
kill interrupts is announced and not acknowledged. Imports core only, to start fast.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

from ...core.autosave import MaskAutosaver
from ...core.store import Project
from .digests import mask_digest
from .tiny_projects import random_mask

RUN_LIMIT_S = 20.0  # a child nobody kills stops by itself


def run(project_dir: str, version: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lock = threading.Lock()

    def emit(line: str) -> None:
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def on_saved(_sample_id: int, seq: int, error: str | None) -> None:
        emit(f"ack {seq}" if error is None else f"error {seq} {' '.join(error.split())}")

    project = Project.open(project_dir)
    samples = project.samples()
    saver = MaskAutosaver(project, on_saved)
    emit("ready")
    deadline = time.monotonic() + RUN_LIMIT_S
    seq = 0
    while time.monotonic() < deadline:
        seq += 1
        sample = samples[int(rng.integers(len(samples)))]
        roll = rng.random()
        if roll < 0.6:
            mask = random_mask(rng, (sample.height, sample.width))
            emit(f"mask {seq} {sample.id} {mask_digest(mask)}")
            saver.save(sample, mask, seq)
        elif roll < 0.75:
            emit(f"mask {seq} {sample.id} none")
            saver.save(sample, np.zeros((sample.height, sample.width), bool), seq)
        else:
            value = (True, False, None)[int(rng.integers(3))]
            emit(f"judge {seq} {sample.id} {'none' if value is None else int(value)}")
            try:
                project.set_judgement(version, sample.id, value)
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the trial
                emit(f"error {seq} {' '.join(str(exc).split())}")
            else:
                emit(f"ack {seq}")
        if saver.pending() > len(samples):
            time.sleep(0.001)  # let the writer catch up now and then
    saver.close()
    project.close()


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
