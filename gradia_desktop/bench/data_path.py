"""Benchmark of the training data path (``gradia bench --data --samples N[,N...]``; not collected by pytest).

For each N, writes N synthetic 256x256 JPEG photographs (two classes, masks on 2% of them) into a
temporary project, then measures each way of reading them in a fresh process, so each process's
peak memory is its own:

- ``memory``: the split decoded into one uint8 tensor, as small projects train;
- ``stream``: the split read from the project's pixel cache, ahead of the pipeline by reader
  threads (batches.read_batches; the cache is built first, in a separate process whose time is
  reported as ``cache_build_s``);
- ``stream-workers``: the same, read ahead by DataLoader worker processes instead
  (``WORKER_PROCESSES`` of them, as `gradia train --loader-workers` asks for).

The measured epoch is the trainer's input pipeline without the model: the trainer's own batch order,
the split's batches read (``read_batches``), counterfactual backgrounds swapped for the masked images
(``CounterfactualBank.apply``, its plates kept in scratch files when streaming), flips, and
normalisation to float. ``images_per_s`` is that epoch's rate; a model step on CPU is far slower,
so on CPU the figure says how far the data path is from starving a GPU, not a training speed.
Peak RSS is the measuring process's own (``ru_maxrss``); where reader worker processes are used
(``--loader-workers``), the total adds the largest one's times their number (an upper bound, as
they do not all peak at once). A worker's peak is its
own high-water mark (``VmHWM`` in /proc, sampled while it runs), not ``RUSAGE_CHILDREN``: on Linux a
child's ``ru_maxrss`` keeps the size of the parent it was forked from before it exec'd, so every
worker would seem at least as large as the measuring process was when the worker started. The
cache's pages sit in the operating system's page cache, shared and reclaimable, and are not in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ..core.progress import Progress, report

SOURCE_SIZE = 256
IMAGE_SIZE = 224
BATCH = 64
MASKED_SHARE = 0.02
VAL_SHARE = 0.02
CLASSES = ("circle", "square")
MEMORY_LIMIT_BYTES = 4 * 2**30  # the in-memory path is measured only where its tensor fits in this
WORKER_PROCESSES = max(1, min(4, (os.cpu_count() or 2) - 1))  # for the stream-workers mode
MODES = ("memory", "stream", "stream-workers")


def _draw(i: int, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(i)
    label = i % 2
    img = np.roll(tiles[i % len(tiles)], int(rng.integers(SOURCE_SIZE)), axis=1).copy()
    centre = tuple(int(v) for v in rng.integers(60, SOURCE_SIZE - 60, 2))
    radius = int(rng.integers(20, 50))
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    mask = np.zeros((SOURCE_SIZE, SOURCE_SIZE), np.uint8)
    if label == 0:
        cv2.circle(mask, centre, radius, 255, -1)
    else:
        cv2.rectangle(mask, (centre[0] - radius, centre[1] - radius), (centre[0] + radius, centre[1] + radius), 255, -1)
    img[mask > 0] = colour
    return img, mask, label


def make_photo_project(root: Path, n: int, progress: Progress = None):
    """``n`` training JPEGs (plus 2% as many for validation) in ``root/images``, masks on 2%; the project."""
    from ..core.project_init import create_project

    tiles = np.random.default_rng(0).integers(0, 256, (16, SOURCE_SIZE, SOURCE_SIZE, 3), dtype=np.uint8)
    tiles = np.stack([cv2.GaussianBlur(t, (0, 0), 2) for t in tiles])
    n_val = max(8, round(n * VAL_SHARE))
    every = max(1, round(1 / MASKED_SHARE))

    def write(i: int) -> None:
        split = "train" if i < n else "val"
        img, mask, label = _draw(i, tiles)
        name = f"{split}/{CLASSES[label]}/{i:06d}"
        (root / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / f"{name}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if i % every == 0:
            (root / "masks" / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "masks" / f"{name}.png"), mask)

    total = n + n_val
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for done, _ in enumerate(pool.map(write, range(total)), 1):
            if done % 500 == 0 or done == total:
                report(progress, "writing synthetic photographs", done, total)
    return create_project(root / "project", root / "images", root / "masks", progress=progress)


class ChildPeaks:
    """The peak resident memory (kB) of each child of this process's main thread, from /proc while
    they run (Linux). ``peak_kb`` is None where /proc cannot tell (then no figure is better than a
    wrong one)."""

    def __init__(self, every_s: float = 0.05):
        self.every_s = every_s
        self.peaks: dict[int, int] = {}
        self._children = Path(f"/proc/{os.getpid()}/task/{threading.main_thread().native_id}/children")
        self.readable = self._children.is_file()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildPeaks:
        if self.readable:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def peak_kb(self) -> int | None:
        return max(self.peaks.values(), default=0) if self.readable else None

    def _watch(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                pids = self._children.read_text().split()
            except OSError:
                continue
            for pid in pids:
                self._sample(pid)

    def _sample(self, pid: str) -> None:
        try:
            with open(f"/proc/{pid}/status") as status:
                hwm = next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)
        except (OSError, IndexError, ValueError):
            return  # gone meanwhile
        self.peaks[int(pid)] = max(hwm, self.peaks.get(int(pid), 0))


def measure(project_dir: str, mode: str) -> dict:
    """One epoch of the input pipeline over the training split, in this process (see the module's text)."""
    import torch

    from ..core.store import Project
    from ..training.batches import read_batches
    from ..training.counterfactual import CounterfactualBank
    from ..training.data import Normalizer, load_split
    from ..training.epoch_loop import augment_batch
    from ..training.pixel_cache import scratch_folder

    torch.set_num_threads(1)
    project = Project.open(project_dir)
    stream = mode != "memory"
    workers = WORKER_PROCESSES if mode == "stream-workers" else 0
    started = time.perf_counter()
    data = load_split(project, "train", IMAGE_SIZE, stream=stream)
    loaded = time.perf_counter() - started
    with scratch_folder(project) as scratch:
        bank = CounterfactualBank(data.images, data.labels, data.masks, data.has_mask,
                                  scratch=scratch if stream else None)
        generator = torch.Generator().manual_seed(0)
        normalise = Normalizer(torch.device("cpu"))
        order = torch.randperm(len(data), generator=generator)
        batches = list(order.split(BATCH))
        started = time.perf_counter()
        seen, checksum = 0, 0.0
        grids = torch.zeros((len(data), 1, 1))
        with ChildPeaks() if workers else contextlib.nullcontext() as children:  # no watcher slowing the others
            for idx, images in zip(batches, read_batches(data.images, batches, workers)):
                images, _ = augment_batch(idx, images, grids[idx], bank, generator, flip=True)
                checksum += float(normalise(images)[:, :, 0, 0].sum())
                seen += len(idx)
        seconds = time.perf_counter() - started
        bank.discard()
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker_kb = (children.peak_kb or 0) if workers else 0  # peak_kb None: /proc could not tell
    project.close()
    known = not workers or children.peak_kb is not None
    return {"mode": mode, "images": seen, "masked": int(data.has_mask.sum()), "load_s": round(loaded, 2),
            "epoch_s": round(seconds, 2), "images_per_s": round(seen / seconds, 1),
            "workers": workers, "peak_rss_mb": round(self_kb / 1024, 1),
            "worker_peak_rss_mb": round(worker_kb / 1024, 1) if known else None,
            "total_peak_rss_mb": round((self_kb + workers * worker_kb) / 1024, 1) if known else None}


def _in_fresh_process(code: str, *args: str, what: str) -> str:
    """Run ``python -c code args`` and return its stdout; each process's peak memory is then its own."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _measure(project_dir: Path, mode: str) -> dict:
    code = ("import json, sys; from gradia_desktop.bench.data_path import measure; "
            "print(json.dumps(measure(sys.argv[1], sys.argv[2])))")
    out = _in_fresh_process(code, str(project_dir), mode, what=f"measuring {mode}")
    return json.loads(out.strip().splitlines()[-1])


def _build_cache(project_dir: Path) -> float:
    code = ("import sys; from gradia_desktop.core.store import Project; "
            "from gradia_desktop.training.data import load_split; "
            f"p = Project.open(sys.argv[1]); load_split(p, 'train', {IMAGE_SIZE}, stream=True); p.close()")
    started = time.perf_counter()
    _in_fresh_process(code, str(project_dir), what="building the pixel cache")
    return time.perf_counter() - started


def _combined(runs: list[dict]) -> dict:
    """One mode's repeated measurements as one: the median pace, the highest peaks, every pace seen."""
    paces = [r["images_per_s"] for r in runs]
    out = dict(runs[len(runs) // 2], images_per_s=round(statistics.median(paces), 1), images_per_s_runs=paces)
    for key in ("peak_rss_mb", "worker_peak_rss_mb", "total_peak_rss_mb"):
        values = [r[key] for r in runs]
        out[key] = None if None in values else max(values)
    return out


def run_data_bench(sample_counts: list[int], progress: Progress = None, repeats: int = 1) -> dict:
    """Each N: the synthetic project, its pixel cache, then ``repeats`` rounds of every mode in turn
    (so a busy machine slows them alike); each mode reports its median pace and highest peak."""
    results = []
    for n in sample_counts:
        with tempfile.TemporaryDirectory(prefix="gradia-data-bench-") as tmp:
            started = time.perf_counter()
            project = make_photo_project(Path(tmp), n, progress)
            project_dir = project.root
            project.close()
            made = time.perf_counter() - started
            row = {"samples": n, "image_size": IMAGE_SIZE, "batch_size": BATCH, "project_s": round(made, 1),
                   "repeats": repeats}
            report(progress, f"N={n}: building the pixel cache", 0, 1)
            row["cache_build_s"] = round(_build_cache(project_dir), 1)
            fits = n * IMAGE_SIZE * IMAGE_SIZE * 3 <= MEMORY_LIMIT_BYTES
            modes = MODES if fits else MODES[1:]
            runs: dict[str, list[dict]] = {mode: [] for mode in modes}
            for k in range(repeats):
                for mode in modes:
                    report(progress, f"N={n}: {mode} path, round {k + 1} of {repeats}", 0, 1)
                    runs[mode].append(_measure(project_dir, mode))
            row.update({mode: _combined(runs[mode]) if mode in runs else None for mode in MODES})
            results.append(row)
    summary = {"cpus": os.cpu_count(), "runs": results}
    streamed = [r["stream"]["total_peak_rss_mb"] for r in results]
    if len(results) >= 2 and None not in streamed:
        summary["stream_rss_growth"] = round(streamed[-1] / streamed[0], 3)
    return summary
