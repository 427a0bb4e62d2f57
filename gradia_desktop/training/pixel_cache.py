"""A project's images decoded once at a run's input size and kept on disk, so that an epoch reads pages, not JPEGs.

``<project>/cache/pixels-<S>/rows.u8`` holds one 3 x S x S RGB row per sample (channels first); ``index.json`` says
which row is whose and the image file's size and modification time when it was decoded. A row is
used only while its file still matches: an edited, replaced or touched image is decoded again.
Building is resumable: the index is rewritten every few hundred rows (after the rows it names are
on disk), so an interrupted build keeps what it finished. The cache is derived data: deleting the
folder only costs the next run the decoding.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..core.atomic import atomic_write_text
from ..core.images import decode_rgb
from ..core.progress import CancelCheck, Progress, report, stop_if_cancelled
from ..core.records import Sample
from ..core.store import Project
from ..errors import GradiaError
from .row_file import RowImages, write_at

CACHE_DIR = "cache"
FORMAT = 2  # 1 stored rows channels last
SAVE_EVERY = 256  # rows decoded between index saves: what an interrupted build can lose


def resize_rgb(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    interp = cv2.INTER_AREA if h > size or w > size else cv2.INTER_LINEAR
    return cv2.resize(rgb, (size, size), interpolation=interp)


class ImageResized(GradiaError):
    """An image file now has another size than the project recorded: the project needs a check, not a skip."""


def decode_at(project: Project, sample: Sample, size: int) -> np.ndarray:
    """The sample's image as (size, size, 3) uint8; GradiaError if unreadable or no longer the recorded size."""
    path = project.image_path(sample)
    rgb, full_size = decode_rgb(path, max_side=size)  # a JPEG shrinks as it decodes
    if full_size != (sample.width, sample.height):
        raise ImageResized(f"{path}: image is now {full_size[0]}x{full_size[1]}, "
                          f"the project recorded {sample.width}x{sample.height}")
    return resize_rgb(rgb, size)


@dataclass
class CachedSplit:
    images: RowImages  # one position per kept sample, in the order asked for
    kept: list[int]  # positions (in the samples asked for) that have a row
    left_out: list[str] = field(default_factory=list)  # a warning line per sample whose image could not be read
    decoded: int = 0  # rows decoded by this call (the rest were reused)


def cache_folder(project: Project, size: int):
    return project.root / CACHE_DIR / f"pixels-{size}"


def _load_index(folder, size: int) -> dict:
    try:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        if index.get("format") == FORMAT and index.get("size") == size and (folder / "rows.u8").is_file():
            return index
    except (OSError, ValueError):
        pass  # missing or damaged: the cache starts again, nothing else depends on it
    return {"format": FORMAT, "size": size, "next_row": 0, "rows": {}}


def _signature(path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def cache_images(project: Project, samples: list[Sample], size: int, stage: str, progress: Progress = None,
                 cancelled: CancelCheck = None, warn: Callable[[str], None] | None = None) -> CachedSplit:
    """Rows for ``samples`` at ``size`` px, decoding only those new or changed since the cache was written.

    A sample whose image cannot be read is left out with a warning line naming the file (``warn``).
    """
    folder = cache_folder(project, size)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GradiaError(f"{folder}: cannot create the image cache ({exc.strerror or exc})") from exc
    index = _load_index(folder, size)
    rows: dict = index["rows"]
    if index["next_row"] > 2 * len(rows) + 1024:  # mostly rows of samples long gone: start again
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        index = _load_index(folder, size)
        rows = index["rows"]
    signatures = {s.id: _signature(project.image_path(s)) for s in samples}
    todo = [k for k, s in enumerate(samples)
            if signatures[s.id] is not None and (rows.get(str(s.id)) or [None])[1:] != signatures[s.id]]
    left_out = {k: f"warning: {project.image_path(s)}: cannot read the file; sample {s.id} left out of the {stage}"
                for k, s in enumerate(samples) if signatures[s.id] is None}
    rows_path = folder / "rows.u8"
    rows_path.touch(exist_ok=True)
    fd = os.open(rows_path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    row_bytes = size * size * 3

    def save() -> None:
        os.fsync(fd)  # the rows the index is about to name are on disk first
        atomic_write_text(folder / "index.json", json.dumps(index, separators=(",", ":")))

    def decode(k: int):
        try:
            return decode_at(project, samples[k], size)
        except ImageResized:
            raise
        except GradiaError as exc:
            return f"warning: {exc}; sample {samples[k].id} left out of the {stage}"

    pool = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2))
    try:
        for done, (k, result) in enumerate(zip(todo, pool.map(decode, todo)), 1):
            sample = samples[k]
            if isinstance(result, str):
                left_out[k] = result
                if warn is not None:
                    warn(result)
            else:
                entry = rows.get(str(sample.id))
                row = entry[0] if entry else index["next_row"]
                if not entry:
                    index["next_row"] += 1
                write_at(fd, np.ascontiguousarray(result.transpose(2, 0, 1)).tobytes(), row * row_bytes)
                rows[str(sample.id)] = [row, *signatures[sample.id]]
            stop_if_cancelled(cancelled, f"caching {stage} images")
            if done % SAVE_EVERY == 0:
                save()
            if done % 64 == 0 or done == len(todo):
                report(progress, f"caching {stage} images at {size} px", done, len(todo))
        if todo:
            save()
    finally:  # on cancel or error, images not yet started are dropped; the rows saved so far stay
        pool.shutdown(wait=True, cancel_futures=True)
        os.close(fd)
    kept = [k for k in range(len(samples)) if k not in left_out]
    decoded = set(todo)  # these were reported as they failed
    for k in left_out:
        if warn is not None and k not in decoded:
            warn(left_out[k])
    return CachedSplit(RowImages(rows_path, size, size, 3, np.array([rows[str(samples[k].id)][0] for k in kept],
                                                                     np.int64)),
                       kept, [left_out[k] for k in sorted(left_out)], len(todo))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


@contextlib.contextmanager
def scratch_folder(project: Project) -> Iterator[Path]:
    """A folder under the cache for one run's scratch files, removed when the run ends.

    Folders left by runs that died (their process is gone) are removed first."""
    base = project.root / CACHE_DIR / "scratch"
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("run-*"):
        pid = old.name.split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
