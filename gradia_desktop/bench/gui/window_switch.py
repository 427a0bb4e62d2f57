"""Timing image switches in the real main window: D pressed to the window repainted in full.

A project of a few large, smooth PNGs (every other one with a mask) and a model version whose stored
predictions carry CAM grids (no training) is opened in a MainWindow, with QSettings pointed at a
temporary folder (the user's recent projects and preferences are not touched). Three series, each
timed from the key press to the end of ``window.repaint()`` (every widget painted, the canvas in full):

- ``prefetched``: browsing at a human pace; before each press the background work has settled (the
  neighbours' images decoded and masks rendered, their heatmaps cached).
- ``after_stroke``: the same, right after a brush stroke, while its mask is being saved.
- ``unprefetched``: nothing prepared (the first visit of an image, or browsing faster than the
  decoder): an image of 2048² or more is decoded in the background while the window repaints
  (``unprefetched_on_screen``: until it shows), a smaller one on the GUI thread; heatmaps cached.

Needs a QApplication (offscreen works): ``python -m gradia_desktop.bench.gui.window_switch [SIZE]``.
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
from .canvas import synthetic_image

WINDOW_SIZE = (1600, 1000)
SETTLE_TIMEOUT_S = 60.0


def make_project(root: Path, size: int, n: int = 6) -> Path:
    """``n`` size x size images in two classes (every other with a mask) and a finished version."""
    for i in range(n):
        class_name = ("disc", "cross")[i % 2]
        rgb, _ = synthetic_image(size, seed=100 + i)
        path = root / "images" / "train" / class_name / f"img_{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
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


def _wait_until(app: QApplication, condition, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            app.processEvents()
            return
        time.sleep(0.01)
    raise TimeoutError("the window's background work did not settle")


def _settle(app: QApplication, window) -> None:
    """Run the event loop until the prefetcher is idle and the heatmaps of the current sample and
    its neighbours are cached."""
    def settled() -> bool:
        prefetcher = getattr(window, "prefetcher", None)  # (None before prefetching existed)
        wanted = [window.current_sample, *_neighbours(window)]
        return (prefetcher is None or not prefetcher.pending()) and all(
            window.heatmaps.cached(s.id, window.tools.target()) is not None for s in wanted if s is not None)
    _wait_until(app, settled)


def _press_next(app: QApplication, window, shown: list[float] | None = None) -> float:
    """Milliseconds from pressing D to the window repainted in full (the GUI thread's part). A large
    image not prefetched is decoded in the background meanwhile: the milliseconds until it is on
    the screen go to ``shown``."""
    t0 = time.perf_counter()
    QTest.keyClick(window.browser.table, Qt.Key.Key_D)
    window.repaint()
    ms = (time.perf_counter() - t0) * 1000
    _wait_until(app, lambda: window.canvas.image_shape() is not None)
    window.repaint()
    if shown is not None:
        shown.append((time.perf_counter() - t0) * 1000)
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


def _stats(ms: list[float]) -> dict:
    return {"median_ms": float(np.median(ms)), "max_ms": float(max(ms)), "n": len(ms)}


def bench_window_switch(size: int = 4096, n: int = 6, steps: int = 5) -> dict:
    """The three series of the module docstring on ``n`` size x size images, ``steps`` presses each."""
    from ...qt.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    fmt, scope = QSettings.Format.IniFormat, QSettings.Scope.UserScope
    default_format = QSettings.defaultFormat()
    with tempfile.TemporaryDirectory(prefix="gradia-switch-bench-") as tmp:
        root = Path(tmp)
        project_dir = make_project(root, size, n)
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
            series: dict[str, list[float]] = {"prefetched": [], "after_stroke": [], "unprefetched": []}
            unprefetched_shown: list[float] = []
            for name, times in series.items():
                for _ in range(steps):
                    _settle(app, window)
                    if name == "after_stroke":
                        _stroke(window)
                        app.processEvents()
                    elif name == "unprefetched" and getattr(window, "prefetcher", None) is not None:
                        window.prefetcher.clear()
                    times.append(_press_next(app, window, unprefetched_shown if name == "unprefetched" else None))
            _settle(app, window)
            return {"size": size, "images": n, "window": f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}",
                    **{name: _stats(times) for name, times in series.items()},
                    "unprefetched_on_screen": _stats(unprefetched_shown)}
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
    print(json.dumps(bench_window_switch(int(sys.argv[1]) if len(sys.argv) > 1 else 4096), indent=2))
