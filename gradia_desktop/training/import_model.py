"""A model trained elsewhere, made a project's version: its predictions, heatmaps and matrix without training here.

The weights must fit the architecture and the project's classes exactly (head included: a head
left random would make the matrix of a model nobody trained). They are copied into the project in
its own checkpoint format, so the version stands on its own when the file moves, and every split is
evaluated and stored as at the end of a run. The version records how the model began (ImageNet or
random weights), which is where a guided run from it restarts (``--start initial``).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.progress import Progress
from ..core.store import Project
from ..errors import Cancelled, GradiaError
from .checkpoint import ModelSpec, load_checkpoint, save_checkpoint
from .device import pick_device
from .evaluate import evaluate_and_store
from .models import TINY, build_model, find_cam_layer, get_layer, load_weights

IMPORTED_MODE = "imported"
STARTS = ("imagenet", "random")


@dataclass
class ImportedModel:
    version: int
    arch: str
    cam_layer: str
    image_size: int
    summaries: dict[str, dict]
    seconds: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_model(project: Project, arch: str, weights_file: str | Path, cam_layer: str | None = None,
                 image_size: int | None = None, started_from: str | None = None, device: str = "auto",
                 progress: Progress = None, warn: Callable[[str], None] | None = None) -> ImportedModel:
    """Make the weights in ``weights_file`` (for ``arch`` with the project's classes) a new root version."""
    started = time.perf_counter()
    path = Path(weights_file).expanduser().resolve()
    size = image_size or (64 if arch in TINY else 224)
    began = started_from or ("random" if arch in TINY else "imagenet")
    if began not in STARTS:
        raise GradiaError(f"started from '{began}': choose {' or '.join(STARTS)}")
    model = build_model(arch, len(project.classes), size)
    load_weights(model, path, allow_new_head=False)
    layer_name = cam_layer or find_cam_layer(model, size)
    get_layer(model, layer_name)  # a bad path fails here, before anything is written
    config = {"mode": IMPORTED_MODE, "arch": arch, "cam_layer": layer_name, "image_size": size,
              "imported_from": str(path), "imported_sha256": _sha256(path), "pretrained": began == "imagenet",
              "init_weights": None}
    version = project.create_version(None, IMPORTED_MODE, arch, layer_name, size, config)
    out_dir = project.models_dir(version)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = save_checkpoint(out_dir / "imported.safetensors", model, ModelSpec(arch, project.classes,
                                                                                         layer_name, size))
        on = pick_device(device)
        model, layer, _ = load_checkpoint(checkpoint, on)
        summaries = evaluate_and_store(project, version, model, layer, size, on, progress=progress, warn=warn)
        seconds = round(time.perf_counter() - started, 2)
        project.finish_version(version, "done", checkpoint.relative_to(project.root).as_posix(), None,
                               {"seconds": seconds, **summaries}, f"imported from {path}")
    except BaseException as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        status = "cancelled" if isinstance(exc, (Cancelled, KeyboardInterrupt)) else "failed"
        try:
            project.finish_version(version, status, note=str(exc)[:500])
        except (GradiaError, OSError):
            pass
        if isinstance(exc, OSError):
            raise GradiaError(f"{exc.filename or out_dir}: {exc.strerror or exc} (no version was made)") from exc
        raise
    return ImportedModel(version, arch, layer_name, size, summaries, seconds)
