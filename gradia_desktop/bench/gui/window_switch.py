"""Timing image switches in the real main window: D pressed to the window repainted in full.

A project of a few large, smooth PNGs (every other one with a mask) and a model version whose stored
predictions carry CAM grids (no training) is opened in a MainWindow, with QSettings pointed at a
temporary folder (the user's recent projects and preferences are not touched). Three series, each
timed from the key press to the end of ``window.repaint()`` (every widget painted, the canvas in full):

- ``prefetched``: browsing at a human pace; before each press the background work has settled (the
  neighbours' images decoded and masks rendered, their heatmaps cached).
- ``after_stroke``: the same, right after a brush stroke, while its mask is being saved.
- ``unprefetched``: nothing prepared (the first visit of an image, or browsing faster than the
  decoder): an image of 2048² or more is prepared in the background while the window repaints,
  a smaller one on the GUI thread; heatmaps cached. A large image shows a screen-sized preview
  first when one is cheap (a reduced JPEG decode, or a preview cached when the image was decoded
  in full for its thumbnail or a prefetch), then its full resolution.
  ``unprefetched_on_screen``: from the press until the first pixels are on the screen;
  ``unprefetched_full_resolution``: until the full image is; ``unprefetched_max_slice``: the
  longest the GUI thread was busy at a time meanwhile (event handling, repaints).
- ``cold``: as ``unprefetched`` with the cached previews dropped too: a PNG is decoded in full
  before it shows.

Needs a QApplication (offscreen works):
``python -m gradia_desktop.bench.gui.window_switch [SIZE] [png|jpg]``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QSettings, QStandardPaths, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ...core.project_init import create_project
from ...core.records import Prediction
from ...core.store import Project
from ...qt.browser.table_model import SAMPLE_ROLE
from ...qt.canvas.progressive_image import PREVIEWS
from .canvas import synthetic_image

WINDOW_SIZE = (1600, 1000)
SETTLE_TIMEOUT_S = 60.0
SERIES = ("prefetched", "after_stroke", "unprefetched", "cold")
_ENCODING = {"png": [cv2.IMWRITE_PNG_COMPRESSION, 1], "jpg": [cv2.IMWRITE_JPEG_QUALITY, 90]}


def make_project(root: Path, size: int, n: int = 6, fmt: str = "png") -> Path:
    """``n`` size x size images (``fmt``: png or jpg) in two classes (every other with a mask) and a
    finished version."""
    for i in range(n):
        class_name = ("disc", "cross")[i % 2]
        rgb, _ = synthetic_image(size, seed=100 + i)
        path = root / "images" / "train" / class_name / f"img_{i}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), _ENCODING[fmt])
        if i % 2 == 0:
            mask = np.zeros((size, size), np.uint8)
            cv2.circle(mask, (size // 2, size // 2), size // 5, 255, -1)
            mask_path = root / "masks" / "train" / class_name / f"img_{i}.png"
            mask_path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(mask_path), mask)
    project = create_project(root / "project", root / "images", root / "masks")
    try:
        version = project.create_version(None, "baseline", "resnet18", "layer4", 224, {})
        rng = np.random.default_rng(0)
        project.save_predictions(version, [Prediction(s.id, s.class_idx, 0.9, rng.random((7, 7)).astype(np.float32))
                                           for s in project.samples()])
        project.finish_version(version, "done")
    finally:
        project.close()
    return root / "project"


def _neighbours(window) -> list:
    table = window.browser.table
    row, n = table.currentIndex().row(), table.model().rowCount()
    return [table.model().index((row + d) % n, 0).data(SAMPLE_ROLE) for d in (1, -1)]


def _wait_until(app: QApplication, condition, timeout_s: float = SETTLE_TIMEOUT_S,
                slices: list[float] | None = None) -> None:
    """Run the event loop until ``condition()``; the milliseconds of each turn go to ``slices``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _timed(app.processEvents, slices)
        if condition():
            _timed(app.processEvents, slices)
            return
        time.sleep(0.01)
    raise TimeoutError("the window's background work did not settle")


def _timed(work, slices: list[float] | None) -> None:
    t0 = time.perf_counter()
    work()
    if slices is not None:
        slices.append((time.perf_counter() - t0) * 1000)


def _settle(app: QApplication, window) -> None:
    """Run the event loop until the prefetcher is idle and the heatmaps of the current sample and
    its neighbours are cached."""
    def settled() -> bool:
        prefetcher = getattr(window, "prefetcher", None)  # (None before prefetching existed)
        wanted = [window.current_sample, *_neighbours(window)]
        return (prefetcher is None or not prefetcher.pending()) and all(
            window.heatmaps.cached(s.id, window.tools.target()) is not None for s in wanted if s is not None)
    _wait_until(app, settled)


def _press_next(app: QApplication, window, loading: dict[str, list[float]] | None = None) -> float:
    """Milliseconds from pressing D to the window repainted in full (the GUI thread's part). A large
    image not prefetched is prepared in the background meanwhile: with ``loading``, the
    milliseconds until it is on the screen, until its full resolution is, and the GUI thread's
    longest slice meanwhile go to its lists "on_screen", "full_resolution" and "max_slice"."""
    t0 = time.perf_counter()
    QTest.keyClick(window.browser.table, Qt.Key.Key_D)
    window.repaint()
    ms = (time.perf_counter() - t0) * 1000
    slices = [ms]
    _wait_until(app, lambda: window.canvas.image_shape() is not None, slices=slices)
    _timed(window.repaint, slices)
    if loading is not None:
        loading["on_screen"].append((time.perf_counter() - t0) * 1000)
        _wait_until(app, lambda: not window.canvas.image_item.showing_preview(), slices=slices)
        _timed(window.repaint, slices)
        loading["full_resolution"].append((time.perf_counter() - t0) * 1000)
        loading["max_slice"].append(max(slices))
    app.processEvents()
    return ms


def _stroke(window) -> None:
    vp = window.canvas.viewport()
    c = vp.rect().center()
    window.canvas.set_tool("brush")
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, c)
    for dx in range(0, 120, 8):
        QTest.mouseMove(vp, c + QPoint(dx, dx // 2))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, c + QPoint(120, 60))
    window.browser.table.setFocus()


def _series(app: QApplication, window, name: str, steps: int) -> dict:
    """``steps`` presses of D prepared as series ``name`` says; its figures, by name."""
    times: list[float] = []
    loading: dict[str, list[float]] = {"on_screen": [], "full_resolution": [], "max_slice": []}
    for _ in range(steps):
        _settle(app, window)
        if name == "after_stroke":
            _stroke(window)
            app.processEvents()
        elif name in ("unprefetched", "cold"):
            window.prefetcher.clear()
            if name == "cold":
                PREVIEWS.clear()
        times.append(_press_next(app, window, loading if name in ("unprefetched", "cold") else None))
    if name not in ("unprefetched", "cold"):
        return {name: _stats(times)}
    return {name: _stats(times), **{f"{name}_{key}": _stats(ms) for key, ms in loading.items()}}


def _stats(ms: list[float]) -> dict:
    return {"median_ms": float(np.median(ms)), "max_ms": float(max(ms)), "n": len(ms)}


def bench_window_switch(size: int = 4096, n: int = 6, steps: int = 5, image_format: str = "png",
                        series: tuple[str, ...] = SERIES[:3]) -> dict:
    """The ``series`` of the module docstring on ``n`` size x size images (``image_format``: png or
    jpg), ``steps`` presses each."""
    from ...qt.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    fmt, scope = QSettings.Format.IniFormat, QSettings.Scope.UserScope
    default_format = QSettings.defaultFormat()
    with tempfile.TemporaryDirectory(prefix="gradia-switch-bench-") as tmp:
        root = Path(tmp)
        project_dir = make_project(root, size, n, image_format)
        QSettings.setDefaultFormat(fmt)
        QSettings.setPath(fmt, scope, str(root / "settings"))
        window = MainWindow(Project.open(project_dir))
        try:
            window.resize(*WINDOW_SIZE)
            window.show()
            window.browser.table.setFocus()
            for _ in range(n):  # every heatmap computed once: the switches below find them cached
                _wait_until(app, lambda: window.heatmaps.cached(window.current_sample.id,
                                                                window.tools.target()) is not None)
                _press_next(app, window)
            result = {"size": size, "images": n, "format": image_format, "window": f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}"}
            for name in series:
                result.update(_series(app, window, name, steps))
            _settle(app, window)
            return result
        finally:
            window.close()
            window.deleteLater()
            app.processEvents()
            QSettings.setDefaultFormat(default_format)
            QSettings.setPath(fmt, scope, QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.GenericConfigLocation))


if __name__ == "__main__":
    import json
    import os
    import sys

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    QApplication.instance() or QApplication([])
    print(json.dumps(bench_window_switch(int(sys.argv[1]) if len(sys.argv) > 1 else 4096,
                                         image_format=sys.argv[2] if len(sys.argv) > 2 else "png", series=SERIES),
                     indent=2))
