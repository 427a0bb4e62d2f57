"""qt/canvas/click_worker.py: click to mask on large images, off the GUI thread."""

from __future__ import annotations

import threading

import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradia_desktop.core.mask_edit import MaskEditor
from gradia_desktop.errors import GradiaError
from gradia_desktop.qt.canvas.click_worker import BACKGROUND_PIXELS, ClickWorker


class _HeldSession:
    """A ClickSession stand-in whose cut waits until the test lets it go."""

    def __init__(self, shape):
        self.base = np.zeros(shape, bool)
        self.result = None
        self.go = threading.Event()

    def click(self, x, y, positive):
        self.go.wait(10)
        self.result = np.zeros_like(self.base)
        self.result[int(y), int(x)] = True
        return self.result.copy()


def test_a_result_is_applied_on_the_gui_thread_while_the_mask_is_unchanged(qtbot):
    worker = ClickWorker()
    editor, session = MaskEditor((8, 8)), _HeldSession((8, 8))
    applied = []
    worker.submit(editor, session, lambda: session.click(3, 4, True),
                  lambda e, m: applied.append((threading.current_thread(), m)))
    assert worker.pending() == 1 and not applied  # the GUI thread did not wait
    session.go.set()
    qtbot.waitUntil(lambda: worker.pending() == 0, timeout=5000)
    assert applied[0][0] is threading.main_thread() and applied[0][1][4, 3]
    worker.shutdown()


def test_a_result_is_dropped_when_the_mask_changed_meanwhile(qtbot):
    worker = ClickWorker()
    editor, session = MaskEditor((8, 8)), _HeldSession((8, 8))
    applied = []
    worker.submit(editor, session, lambda: session.click(3, 4, True), lambda e, m: applied.append(m))
    editor.flood_fill(0, 0, True)  # another tool changed the mask before the cut came back
    session.go.set()
    qtbot.waitUntil(lambda: worker.pending() == 0, timeout=5000)
    assert applied == []
    worker.shutdown()


def test_a_failed_step_leaves_the_mask_and_says_why_in_one_line(qtbot):
    worker = ClickWorker()
    editor, session = MaskEditor((8, 8)), _HeldSession((8, 8))
    said, applied = [], []
    worker.failed.connect(said.append)

    def broken():
        raise GradiaError("decoder.onnx: the decoder failed (bad input)")

    worker.submit(editor, session, broken, lambda e, m: applied.append(m))
    worker.submit(editor, session, lambda: 1 / 0, lambda e, m: applied.append(m))
    qtbot.waitUntil(lambda: worker.pending() == 0, timeout=5000)
    assert applied == [] and not editor.mask.any()
    assert said == ["decoder.onnx: the decoder failed (bad input)",
                    "Click to mask failed: ZeroDivisionError: division by zero"]
    worker.shutdown()


def test_the_canvas_cuts_a_large_image_in_the_background_and_then_masks_the_object(shown_canvas, qtbot):
    side = int(np.ceil(np.sqrt(BACKGROUND_PIXELS)))
    rng = np.random.default_rng(0)
    rgb = np.clip(np.array((200, 130, 60)) + rng.normal(0, 10, (side, side, 3)), 0, 255).astype(np.uint8)
    cv2.circle(rgb, (400, 500), 150, (30, 30, 40), -1)
    shown_canvas.set_image(rgb)
    editor = MaskEditor((side, side))
    shown_canvas.set_editor(editor)
    shown_canvas.set_tool("click")
    vp = shown_canvas.viewport()
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     shown_canvas.mapFromScene(QPointF(400.5, 500.5)))
    qtbot.waitUntil(lambda: editor.mask.any(), timeout=20_000)
    disc = np.zeros((side, side), np.uint8)
    cv2.circle(disc, (400, 500), 150, 1, -1)
    assert (editor.mask & disc.astype(bool)).sum() / (editor.mask | disc.astype(bool)).sum() > 0.9
    assert editor.can_undo
