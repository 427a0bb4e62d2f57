"""Timing the canvas: brush latency (mouse event to repainted viewport) and image switches.

``bench_canvas`` needs a QApplication (it creates one if there is none; offscreen works).
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ...core.mask_edit import MaskEditor
from ...qt.canvas.canvas_widget import Canvas

VIEW_SIZE = (1280, 860)


def synthetic_image(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(RGB image, CAM) of size x size, smooth like a photo (so PNG/pixmap costs are realistic)."""
    rng = np.random.default_rng(seed)
    rgb = cv2.resize(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), (size, size), interpolation=cv2.INTER_CUBIC)
    cam = cv2.resize(rng.random((7, 7)).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    return rgb, (cam - cam.min()) / (cam.max() - cam.min())


def _percentiles(ms: list[float]) -> dict:
    a = np.array(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "max_ms": float(a.max()), "n": len(ms)}


def _stroke(canvas: Canvas, segments: int, radius: float, process_events: bool) -> dict:
    """One brush stroke of ``segments`` mouse moves across the visible image, timed per event."""
    app = QApplication.instance()
    vp = canvas.viewport()
    canvas.set_tool("brush")
    canvas.set_brush_radius(radius)
    view = vp.rect()
    cx, cy = view.center().x(), view.center().y()
    points = [QPoint(round(cx + 0.4 * view.width() * math.sin(i / segments * 2 * math.pi)),
                     round(cy + 0.35 * view.height() * math.sin(i / segments * 6 * math.pi)))
              for i in range(segments + 1)]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    app.processEvents()
    times = []
    for p in points[1:]:
        t0 = time.perf_counter()
        QTest.mouseMove(vp, p)
        if process_events:
            app.processEvents()  # what really happens: the dirty region only
        else:
            vp.repaint()  # the whole viewport, the worst case
        times.append((time.perf_counter() - t0) * 1000)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])
    app.processEvents()
    return _percentiles(times)


def _switch(canvas: Canvas, size: int, repeats: int = 4) -> dict:
    """Browsing between two images of one size: set_image + set_heatmap + set_editor + a full repaint.
    The first switch to a new size also allocates the layers; it is reported apart."""
    images = [synthetic_image(size, seed=size + i) for i in range(2)]
    mask = np.zeros((size, size), bool)
    mask[size // 4: size // 2, size // 4: size // 2] = True
    times = []
    for i in range(repeats + 1):
        rgb, cam = images[i % 2]
        editor = MaskEditor((size, size), mask)  # loading the mask is the caller's, not timed
        t0 = time.perf_counter()
        canvas.set_image(rgb)
        canvas.set_heatmap(cam)
        canvas.set_editor(editor)
        canvas.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1000)
    return {"first_ms": times[0], "median_ms": float(np.median(times[1:])), "max_ms": float(max(times[1:]))}


def bench_canvas(size: int = 4096, segments: int = 300) -> dict:
    """Brush latency on a size x size image with the heatmap on, fitted and at 1:1, and switch times."""
    app = QApplication.instance() or QApplication([])
    canvas = Canvas()
    canvas.resize(*VIEW_SIZE)
    canvas.show()
    app.processEvents()
    result = {"view": f"{VIEW_SIZE[0]}x{VIEW_SIZE[1]}", "size": size}
    result["switch_1024"] = _switch(canvas, 1024)
    result[f"switch_{size}"] = _switch(canvas, size)

    rgb, cam = synthetic_image(size)
    canvas.set_image(rgb)
    canvas.set_heatmap(cam)
    canvas.set_editor(MaskEditor((size, size)))
    canvas.set_heatmap_visible(True)
    app.processEvents()
    result["fit_zoom"] = canvas.zoom()
    radius = 40.0
    result["stroke_fit_repaint"] = _stroke(canvas, segments, radius, process_events=False)
    result["stroke_fit_events"] = _stroke(canvas, segments, radius, process_events=True)
    canvas.zoom_by(1 / canvas.zoom(), QPointF(canvas.viewport().rect().center()))
    result["stroke_1to1_repaint"] = _stroke(canvas, segments, 12.0, process_events=False)
    result["stroke_1to1_events"] = _stroke(canvas, segments, 12.0, process_events=True)
    canvas.close()
    canvas.deleteLater()
    app.processEvents()
    return result


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(bench_canvas(int(sys.argv[1]) if len(sys.argv) > 1 else 4096), indent=2))
