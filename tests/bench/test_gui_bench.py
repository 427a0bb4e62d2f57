"""`gradia bench --gui`'s harness: the figures it reports exist and hang together (no timings asserted)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")


@pytest.fixture
def app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def test_a_first_visit_reports_first_pixels_full_resolution_and_the_longest_slice(app, monkeypatch, tmp_path):
    from gradia_desktop.bench.gui import window_switch
    from gradia_desktop.qt.canvas import progressive_image
    from gradia_desktop.qt.window import main_window

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(main_window, "DECODE_IN_BACKGROUND_PIXELS", 100 * 100)  # 512x512 counts as large
    monkeypatch.setattr(progressive_image, "PREVIEW_MIN_PIXELS", 100 * 100)
    monkeypatch.setattr(progressive_image, "_screen", (64, 64))  # a JPEG preview at 1/8
    try:
        r = window_switch.bench_window_switch(512, n=4, steps=1, image_format="jpg", series=window_switch.SERIES)
    finally:
        progressive_image.PREVIEWS.clear()
    for name in ("unprefetched", "cold"):
        first, full = r[f"{name}_on_screen"]["median_ms"], r[f"{name}_full_resolution"]["median_ms"]
        assert 0 < first <= full
        assert 0 < r[f"{name}_max_slice"]["max_ms"] <= full
    assert r["prefetched"]["n"] == r["after_stroke"]["n"] == 1


def test_scrolling_reports_wall_and_cpu_slices_with_and_without_thumbnails(app):
    from gradia_desktop.bench.gui import browser

    r = browser.run(120)
    for key in ("max_gui_stall_ms", "max_gui_slice_cpu_ms", "max_gui_stall_ms_without_thumbnails",
                "max_gui_slice_cpu_ms_without_thumbnails", "p99_gap_ms"):
        assert r[key] > 0, key
    assert r["thumbnails_loaded"] > 0
