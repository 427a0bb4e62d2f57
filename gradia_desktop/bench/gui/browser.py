"""Benchmark of the sample browser on a 10,000-image project (not collected by pytest).

    gradia bench --gui   (or: python -m gradia_desktop.bench.gui.browser [N])

Measures the time from ``set_project`` to the table's first paint, and the longest stall of the GUI
thread (gaps between ticks of a 5 ms timer) while scrolling through the whole list as thumbnails load:
in wall-clock time (what the user feels, other processes on the machine included) and in the GUI
thread's own CPU time (what this process did in that slice). A second scroll with thumbnail loading
switched off gives the floor: the table's own painting.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.records import Prediction
from gradia_desktop.core.store import Project

CLASSES = ("cat", "dog", "fox")
SPLIT_SHARE = (("train", 0.7), ("val", 0.15), ("test", 0.15))


def make_tiny_project(root: Path, n: int, size: int = 32, mask_every: int = 3) -> Project:
    """``n`` tiny PNGs in ``root/images/{split}/<class>/`` (every ``mask_every``-th with a mask), as a project."""
    rng = np.random.default_rng(0)
    for i in range(n):
        split = "train" if i % 20 < 14 else ("val" if i % 20 < 17 else "test")
        class_name = CLASSES[i % len(CLASSES)]
        name = f"{split}/{class_name}/img_{i:05d}.png"
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        (root / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / name), image)
        if mask_every and i % mask_every == 0:
            mask = np.zeros((size, size), np.uint8)
            mask[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 255
            (root / "masks" / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "masks" / name), mask)
    return create_project(root / "project", root / "images", root / "masks" if mask_every else None)


def add_version(project: Project, judged_every: int = 7) -> int:
    """A finished model version with varied predictions (no training), and some human judgements."""
    version = project.create_version(None, "baseline", "tiny", "layer4", 32, {})
    cam = np.zeros((4, 4), np.float32)
    predictions = []
    for s in project.samples():
        wrong = s.id % 4 == 0
        pred = (s.class_idx + 1) % len(project.classes) if wrong else s.class_idx
        if s.has_mask:
            predictions.append(Prediction(s.id, pred, (s.id * 37 % 100) / 100, cam, (s.id % 10) / 10,
                                          (s.id % 5) / 4, s.id % 2 == 0))
        else:
            predictions.append(Prediction(s.id, pred, (s.id * 37 % 100) / 100, cam))
    project.save_predictions(version, predictions)
    project.finish_version(version, "done")
    for s in project.samples():
        if judged_every and s.id % judged_every == 0:
            project.set_judgement(version, s.id, s.id % 2 == 1)
    return version


def _scroll_through(browser, loop) -> tuple[list[float], list[float]]:
    """Scroll the whole list from the top at ~60 steps a second, a screenful a step, while a 5 ms
    timer records each gap between its ticks (= how long the GUI thread was busy at a time) in
    wall-clock and in GUI-thread CPU milliseconds (the first gap, before scrolling, left out)."""
    from PySide6.QtCore import QTimer

    bar = browser.table.verticalScrollBar()
    bar.setValue(0)
    gaps, cpu, last = [], [], [time.perf_counter(), time.thread_time()]

    def tick():
        now, now_cpu = time.perf_counter(), time.thread_time()
        gaps.append((now - last[0]) * 1000)
        cpu.append((now_cpu - last[1]) * 1000)
        last[:] = [now, now_cpu]

    def scroll():
        if bar.value() >= bar.maximum():
            scroller.stop()
            QTimer.singleShot(500, loop.quit)  # let the last screen's thumbnails arrive
        bar.setValue(bar.value() + bar.pageStep())

    ticker = QTimer(interval=5)
    ticker.timeout.connect(tick)
    scroller = QTimer(interval=16)
    scroller.timeout.connect(scroll)
    ticker.start()
    scroller.start()
    loop.exec()
    ticker.stop()
    return gaps[1:], cpu[1:]


def run(n: int = 10_000) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from gradia_desktop.qt.browser.sample_browser import SampleBrowser

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="gradia-bench-") as tmp:
        started = time.perf_counter()
        project = make_tiny_project(Path(tmp), n)
        version = add_version(project)
        build_s = time.perf_counter() - started

        browser = SampleBrowser()
        browser.resize(900, 1000)
        browser.show()
        app.processEvents()
        loop = QEventLoop()  # not app.exec() twice: after app.quit() the offscreen window stops painting

        class FirstPaint(QObject):
            at: float | None = None

            def eventFilter(self, obj, event):  # noqa: N802
                if event.type() == QEvent.Type.Paint and self.at is None:
                    self.at = 0.0
                    QTimer.singleShot(0, self.done)  # runs once this paint event has been handled
                return False

            def done(self):
                self.at = time.perf_counter()
                loop.quit()

        painted = FirstPaint()
        browser.table.viewport().installEventFilter(painted)
        started = time.perf_counter()
        browser.set_project(project, version)
        set_project_s = time.perf_counter() - started
        loop.exec()
        first_paint_s = painted.at - started

        scroll_started = time.perf_counter()
        gaps, cpu = _scroll_through(browser, loop)
        scroll_s = time.perf_counter() - scroll_started
        thumbnails_loaded = browser.thumbnails.cached_count()
        browser.thumbnails.request = lambda sample: None  # the same again, without loading thumbnails
        bare_gaps, bare_cpu = _scroll_through(browser, loop)

        # Filter and sort on all rows.
        started = time.perf_counter()
        browser.set_quadrant_filter("RA")
        quadrant_filter_s = time.perf_counter() - started
        browser.set_quadrant_filter(None)
        started = time.perf_counter()
        browser.table.sortByColumn(4, browser.table.horizontalHeader().sortIndicatorOrder())
        sort_s = time.perf_counter() - started

        result = {"samples": n, "build_project_s": build_s, "set_project_s": set_project_s,
                  "first_paint_s": first_paint_s, "scroll_s": scroll_s, "max_gui_stall_ms": max(gaps),
                  "p99_gap_ms": float(np.percentile(gaps, 99)), "max_gui_slice_cpu_ms": max(cpu),
                  "max_gui_stall_ms_without_thumbnails": max(bare_gaps),
                  "max_gui_slice_cpu_ms_without_thumbnails": max(bare_cpu),
                  "thumbnails_loaded": thumbnails_loaded,
                  "quadrant_filter_s": quadrant_filter_s, "sort_by_confidence_s": sort_s}
        browser.shutdown()
        browser.deleteLater()
        project.close()
        return result


if __name__ == "__main__":
    for key, value in run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000).items():
        print(f"{key:>22}: {value:.3f}" if isinstance(value, float) else f"{key:>22}: {value}")
