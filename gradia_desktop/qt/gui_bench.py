"""`gradia bench --gui`: the annotation workspace's speed figures in one run (offscreen works)."""

from __future__ import annotations

import os

from ..core.progress import Progress, report


def run_gui_bench(samples: int = 10_000, progress: Progress = None) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from . import bench_browser
    from .canvas_bench import bench_canvas

    QApplication.instance() or QApplication([])
    report(progress, "GUI benchmark", 0, 2)
    canvas = bench_canvas(4096)
    report(progress, "GUI benchmark", 1, 2)
    browser = bench_browser.run(samples)
    report(progress, "GUI benchmark", 2, 2)
    r2 = lambda v: round(float(v), 2)  # noqa: E731
    return {
        "brush_p95_ms_4096_full_repaint": r2(canvas["stroke_fit_repaint"]["p95_ms"]),
        "brush_p95_ms_4096_event_loop": r2(canvas["stroke_fit_events"]["p95_ms"]),
        "brush_p95_ms_4096_at_1to1_full_repaint": r2(canvas["stroke_1to1_repaint"]["p95_ms"]),
        "switch_ms_1024_median": r2(canvas["switch_1024"]["median_ms"]),
        "switch_ms_4096_median": r2(canvas["switch_4096"]["median_ms"]),
        "project_samples": samples,
        "open_to_first_paint_s": r2(browser["first_paint_s"]),
        "max_gui_stall_ms_scrolling_with_thumbnails": r2(browser["max_gui_stall_ms"]),
        "p99_gui_gap_ms": r2(browser["p99_gap_ms"]),
        "quadrant_filter_s": r2(browser["quadrant_filter_s"]),
        "sort_s": r2(browser["sort_by_confidence_s"]),
        "view": canvas["view"],
    }
