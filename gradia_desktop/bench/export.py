"""Benchmark of the mask export (``gradia bench --export [--samples N]``; not collected by pytest).

Builds a synthetic project in a temporary folder: N samples of 512x512 px, each with a mask (blobs of
varying shape and count), written straight into a new project database (the images themselves are
not needed to export masks, so none are drawn). Then times the PNG export and the COCO export, each
into a fresh folder, as ``gradia export`` runs them.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ..core.export import export_masks
from ..core.images import write_mask_png
from ..core.parallel import default_workers
from ..core.progress import Progress, report
from ..core.store import Project

SIZE = 512
CLASSES = ("cat", "dog")
VARIANTS = 97  # distinct masks, cycled (every file is still decoded and encoded on its own)


def _blob_mask(rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for _ in range(int(rng.integers(1, 5))):
        centre = tuple(int(v) for v in rng.integers(64, SIZE - 64, 2))
        axes = tuple(int(v) for v in rng.integers(12, 140, 2))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    noise = cv2.resize((rng.random((16, 16)) > 0.5).astype(np.uint8), (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
    return (mask > 0) & ((noise > 0) | (rng.random() < 0.5))  # some masks wobbly, some clean


def make_mask_project(root: Path, n: int, progress: Progress = None) -> Project:
    """A project of ``n`` masked 512x512 samples in ``root/project`` (images referenced, not drawn)."""
    rng = np.random.default_rng(0)
    variants = []
    for i in range(VARIANTS):
        path = root / "variants" / f"{i}.png"
        write_mask_png(path, _blob_mask(rng), atomic=False)
        variants.append((path.read_bytes(), int(np.count_nonzero(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)))))
    project_dir = root / "project"
    (project_dir / "masks").mkdir(parents=True)
    (project_dir / "models").mkdir()
    conn = Project.initialise(project_dir, root / "images", list(CLASSES))
    try:
        conn.execute("BEGIN")
        for sample_id in range(1, n + 1):
            split = "train" if sample_id % 10 < 7 else ("val" if sample_id % 10 < 9 else "test")
            class_idx = sample_id % len(CLASSES)
            data, pixels = variants[sample_id % VARIANTS]
            conn.execute("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                         (sample_id, f"{split}/{CLASSES[class_idx]}/img_{sample_id:06d}.jpg", class_idx, split,
                          SIZE, SIZE))
            conn.execute("INSERT INTO masks VALUES (?, ?, 'import', 0)", (sample_id, pixels))
            (project_dir / "masks" / f"{sample_id}.png").write_bytes(data)
            if sample_id % 500 == 0 or sample_id == n:
                report(progress, "building the benchmark project", sample_id, n)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return Project.open(project_dir)


def run_export_bench(n: int = 10_000, progress: Progress = None, workers: int | None = None) -> dict:
    """Seconds to export ``n`` 512x512 masks as PNG and as COCO RLE, with the sizes of what was written."""
    with tempfile.TemporaryDirectory(prefix="gradia-export-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        with make_mask_project(root, n, progress) as project:
            result = {"samples": n, "size": f"{SIZE}x{SIZE}", "cpus": os.cpu_count(),
                      "threads": workers or default_workers(), "build_s": round(time.perf_counter() - started, 2)}
            for fmt in ("png", "coco"):
                summary = export_masks(project, root / f"out-{fmt}", fmt, progress=progress, workers=workers)
                if summary.masks != n or summary.skipped:
                    raise RuntimeError(f"{fmt} export wrote {summary.masks} of {n} masks")
                written = sum(f.stat().st_size for f in (root / f"out-{fmt}").rglob("*") if f.is_file())
                result[f"{fmt}_s"] = round(summary.seconds, 2)
                result[f"{fmt}_masks_per_s"] = round(n / summary.seconds, 1)
                result[f"{fmt}_mb"] = round(written / 1e6, 1)
    return result
