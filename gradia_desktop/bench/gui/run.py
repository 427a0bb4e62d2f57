"""`gradia bench --gui`: the annotation workspace's speed figures in one run (offscreen works)."""

from __future__ import annotations

import os

from ...core.progress import Progress, report


def r2(value: float) -> float:
    return round(float(value), 2)


def _first_visit(label: str, w: dict, series: tuple[str, ...]) -> dict:
    names = {"unprefetched": "preview_cached" if label.endswith("png") else "reduced_decode",
             "cold": "no_preview"}
    result = {}
    for name in series:
        key = f"first_visit_{label}_{names[name]}"
        result[f"{key}_first_pixels_ms_median"] = r2(w[f"{name}_on_screen"]["median_ms"])
        result[f"{key}_full_resolution_ms_median"] = r2(w[f"{name}_full_resolution"]["median_ms"])
        result[f"{key}_max_gui_slice_ms"] = r2(w[f"{name}_max_slice"]["max_ms"])
    return result


def run_gui_bench(samples: int = 10_000, progress: Progress = None) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from . import browser as bench_browser
    from .canvas import bench_canvas
    from .window_switch import SERIES, bench_window_switch

    QApplication.instance() or QApplication([])
    report(progress, "GUI benchmark", 0, 5)
    canvas = bench_canvas(4096)
    report(progress, "GUI benchmark", 1, 5)
    window = {1024: bench_window_switch(1024), 4096: bench_window_switch(4096, series=SERIES)}
    report(progress, "GUI benchmark", 3, 5)
    jpeg = bench_window_switch(4096, image_format="jpg", series=("unprefetched",))
    report(progress, "GUI benchmark", 4, 5)
    browser = bench_browser.run(samples)
    report(progress, "GUI benchmark", 5, 5)
    result = {
        "brush_p95_ms_4096_full_repaint": r2(canvas["stroke_fit_repaint"]["p95_ms"]),
        "brush_p95_ms_4096_event_loop": r2(canvas["stroke_fit_events"]["p95_ms"]),
        "brush_p95_ms_4096_at_1to1_full_repaint": r2(canvas["stroke_1to1_repaint"]["p95_ms"]),
        "switch_ms_1024_median": r2(canvas["switch_1024"]["median_ms"]),
        "switch_ms_4096_median": r2(canvas["switch_4096"]["median_ms"]),
    }
    # The same in the main window: D pressed to the whole window repainted (see switch_bench.py).
    for size, w in window.items():
        result[f"window_switch_ms_{size}_prefetched_median"] = r2(w["prefetched"]["median_ms"])
        result[f"window_switch_ms_{size}_prefetched_max"] = r2(w["prefetched"]["max_ms"])
        result[f"window_switch_ms_{size}_after_stroke_median"] = r2(w["after_stroke"]["median_ms"])
        result[f"window_switch_ms_{size}_unprefetched_median"] = r2(w["unprefetched"]["median_ms"])
        result[f"window_switch_ms_{size}_unprefetched_on_screen_median"] = r2(w["unprefetched_on_screen"]["median_ms"])
    # A first visit of a 4096x4096 image (not prefetched): first pixels (a preview, when one is cheap)
    # and full resolution, the GUI thread's longest slice meanwhile; PNG with a preview cached (its
    # thumbnail or a prefetch decoded it in full before), PNG without (decoded in full first), JPEG.
    result.update(_first_visit("4096_png", window[4096], ("unprefetched", "cold")))
    result.update(_first_visit("4096_jpg", jpeg, ("unprefetched",)))
    result.update({
        "project_samples": samples,
        "open_to_first_paint_s": r2(browser["first_paint_s"]),
        "max_gui_stall_ms_scrolling_with_thumbnails": r2(browser["max_gui_stall_ms"]),
        "max_gui_slice_cpu_ms_scrolling_with_thumbnails": r2(browser["max_gui_slice_cpu_ms"]),
        "max_gui_stall_ms_scrolling_without_thumbnails": r2(browser["max_gui_stall_ms_without_thumbnails"]),
        "max_gui_slice_cpu_ms_scrolling_without_thumbnails": r2(browser["max_gui_slice_cpu_ms_without_thumbnails"]),
        "p99_gui_gap_ms": r2(browser["p99_gap_ms"]),
        "quadrant_filter_s": r2(browser["quadrant_filter_s"]),
        "sort_s": r2(browser["sort_by_confidence_s"]),
        "view": canvas["view"],
    })
    return result
