"""What thumbnail loading costs the GUI thread: no work started mid-paint, results in bounded batches,
and the screen-sized preview a large image leaves behind, made off the GUI thread."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication

from gradia_desktop.core.assessment import Assessment
from gradia_desktop.qt.browser import thumbnails
from gradia_desktop.qt.browser.table_model import BrowserModel
from gradia_desktop.qt.canvas import progressive_image
from gradia_desktop.qt.canvas.progressive_image import PREVIEWS, file_stamp

IMAGE_SIZE, THUMB_SIZE = 48, 16  # the project and loader fixtures (conftest.py)


@pytest.fixture
def small_previews(monkeypatch):
    """Previews for images of 200x200 pixels and more, sized for a 64x64 screen."""
    monkeypatch.setattr(progressive_image, "PREVIEW_MIN_PIXELS", 200 * 200)
    monkeypatch.setattr(progressive_image, "_screen", (64, 64))
    PREVIEWS.clear()
    yield
    PREVIEWS.clear()


def test_a_request_made_while_a_row_is_painted_starts_no_work_until_the_event_loop_turns(loader, project, qtbot,
                                                                                        monkeypatch):
    started = threading.Event()
    real = thumbnails.make_thumbnail
    monkeypatch.setattr(thumbnails, "make_thumbnail", lambda *args: started.set() or real(*args))
    loader.request(project.samples()[0])
    assert not started.wait(0.3)  # no worker competes with the paint that asked
    with qtbot.waitSignal(loader.ready):
        pass
    assert started.is_set()


def test_finished_thumbnails_reach_the_model_in_bounded_batches(loader, project, qtbot, monkeypatch):
    monkeypatch.setattr(thumbnails, "MAX_DELIVERED", 10)
    model = BrowserModel(loader)
    samples = project.samples()[:25]
    model.set_rows([Assessment(s, None, None, None) for s in samples], project.classes)
    changes, ready, made, gate = [], [], [], threading.Event()
    model.dataChanged.connect(lambda *args: changes.append(args))
    loader.ready.connect(lambda sample_id, _: ready.append(sample_id))
    real = thumbnails.make_thumbnail

    def make(*args):
        gate.wait(5)
        image = real(*args)
        made.append(args[1].id)
        return image

    monkeypatch.setattr(thumbnails, "make_thumbnail", make)
    for sample in samples:
        loader.request(sample)
    qtbot.wait(20)  # the worker starts, and waits at the gate
    gate.set()
    deadline = time.monotonic() + 10
    while len(made) < len(samples) and time.monotonic() < deadline:  # the GUI thread busy meanwhile
        time.sleep(0.01)
    time.sleep(0.05)
    QCoreApplication.sendPostedEvents()  # one turn's posted events
    assert len(ready) == 10  # not all 25 at once
    qtbot.waitUntil(lambda: len(ready) == len(samples))
    qtbot.wait(20)
    assert sorted(ready) == sorted(s.id for s in samples)
    assert 1 <= len(changes) <= 3  # one dataChanged per batch, not one per thumbnail


def test_a_large_image_decoded_in_full_for_its_thumbnail_leaves_a_preview(loader, project, qtbot, monkeypatch,
                                                                          small_previews):
    sample = project.samples()[0]
    path = project.image_path(sample)
    rgb = cv2.resize(np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8), (400, 300))
    cv2.imwrite(str(path), rgb)
    threads = []
    real_put = PREVIEWS.put
    monkeypatch.setattr(PREVIEWS, "put", lambda *args: threads.append(threading.current_thread()) or real_put(*args))
    with qtbot.waitSignal(loader.ready):
        loader.request(sample)
    assert threads and threading.main_thread() not in threads
    preview, full = PREVIEWS.get(path, file_stamp(path))
    assert full == (400, 300) and preview.shape == (48, 64, 3)  # fitted on the 64x64 screen
    expected = cv2.cvtColor(cv2.resize(rgb, (64, 48), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    assert np.abs(preview.astype(int) - expected).mean() < 3  # a JPEG copy


def test_a_large_jpeg_and_a_small_image_leave_no_preview(loader, project, qtbot, small_previews):
    big_jpeg, small = project.samples()[:2]
    jpeg_path = project.image_path(big_jpeg)
    ok, data = cv2.imencode(".jpg", np.zeros((400, 400, 3), np.uint8))
    jpeg_path.write_bytes(data.tobytes())  # JPEG content under the .png name: the header decides
    for sample in (big_jpeg, small):
        with qtbot.waitSignal(loader.ready):
            loader.request(sample)
    assert len(PREVIEWS) == 0  # a JPEG has a reduced decode; a small image decodes quickly
