"""Thumbnails: made off the GUI thread, cached, coalesced, newest first; bad files get a warning."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QThread, Qt
from PySide6.QtWidgets import QApplication

from gradia_desktop.qt.browser import thumbnails
from gradia_desktop.qt.browser.table_model import NAME
from gradia_desktop.qt.browser.sample_browser import SampleBrowser
from gradia_desktop.qt.browser.thumbnails import ThumbnailLoader

from ..helpers_qt import pixmap_rgb

DECORATION, TOOLTIP = Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole
IMAGE_SIZE, THUMB_SIZE = 64, 40  # the project and loader fixtures (conftest.py)


@pytest.fixture
def gated(monkeypatch):
    """make_thumbnail that records the order of loads and holds the first one until released."""
    order, gate = [], threading.Event()
    real = thumbnails.make_thumbnail

    def make(project, sample, size):
        order.append(sample.id)
        if len(order) == 1:
            gate.wait(5)
        return real(project, sample, size)

    monkeypatch.setattr(thumbnails, "make_thumbnail", make)
    yield order, gate
    gate.set()


def test_a_thumbnail_is_made_off_the_gui_thread_and_cached(loader, project, qtbot, monkeypatch):
    sample = project.samples()[0]
    image_path = project.image_path(sample)
    cv2.imwrite(str(image_path), np.random.default_rng(1).integers(0, 256, (32, 64, 3), np.uint8))
    threads = []
    real = thumbnails.make_thumbnail
    monkeypatch.setattr(thumbnails, "make_thumbnail",
                        lambda *args: threads.append(QThread.currentThread()) or real(*args))
    with qtbot.waitSignal(loader.ready) as signal:
        loader.request(sample)
    sample_id, pixmap = signal.args
    assert sample_id == sample.id and (pixmap.width(), pixmap.height()) == (40, 40)  # 40 x 20, centred
    expected = cv2.resize(project.load_image(sample), (40, 20), interpolation=cv2.INTER_AREA)
    assert np.array_equal(pixmap_rgb(pixmap)[10:30], expected)
    assert threads and threads[0] != QApplication.instance().thread()
    assert loader.pixmap(sample.id).cacheKey() == pixmap.cacheKey() and loader.pending() == 0


def test_bad_files_fail_with_a_reason_and_the_rest_still_load(loader, project, qtbot):
    good, corrupt, missing = project.samples()[:3]
    project.image_path(corrupt).write_bytes(b"not a png at all")
    project.image_path(missing).unlink()
    failures, ready = {}, []
    loader.failed.connect(lambda sid, reason: failures.__setitem__(sid, reason))
    loader.ready.connect(lambda sid, _: ready.append(sid))
    for sample in (corrupt, missing, good):
        loader.request(sample)
    qtbot.waitUntil(lambda: len(failures) == 2 and ready == [good.id])
    assert failures[missing.id] == "file not found"
    assert failures[corrupt.id].startswith("not a readable image")
    assert loader.error(corrupt.id) == failures[corrupt.id] and loader.pixmap(corrupt.id) is None
    loader.request(corrupt)  # a known failure is not tried again
    assert loader.pending() == 0


def test_duplicate_requests_are_coalesced(loader, project, qtbot, gated):
    order, gate = gated
    first, second, third = project.samples()[:3]
    for _ in range(3):
        loader.request(first)
        loader.request(second)
    gate.set()
    # (A callback returning None counts as passed: compare with None explicitly.)
    qtbot.waitUntil(lambda: loader.pixmap(first.id) is not None and loader.pixmap(second.id) is not None)
    loader.request(first)  # cached: nothing to do
    assert loader.pending() == 0
    with qtbot.waitSignal(loader.ready) as ready:
        loader.request(third)
    assert ready.args[0] == third.id and loader.pending() == 0
    assert sorted(order) == [first.id, second.id, third.id]  # each loaded once


def test_the_newest_requests_load_first_and_old_ones_are_dropped(loader, project, qtbot, gated, monkeypatch):
    order, gate = gated
    monkeypatch.setattr(thumbnails, "MAX_PENDING", 3)
    samples = project.samples()[:6]
    loader.request(samples[0])
    qtbot.waitUntil(lambda: order == [samples[0].id])  # in the worker's hands, held at the gate
    for sample in samples[1:]:
        loader.request(sample)
    assert loader.pending() == 4
    gate.set()
    qtbot.waitUntil(lambda: loader.pending() == 0)
    assert order == [samples[0].id, samples[5].id, samples[4].id, samples[3].id]
    assert loader.pixmap(samples[1].id) is None
    with qtbot.waitSignal(loader.ready):  # a dropped row that is painted again simply asks again
        loader.request(samples[1])


def test_the_cache_keeps_the_most_recently_used(project, qtbot):
    loader = ThumbnailLoader(size=16, cache_size=2)
    loader.set_project(project)
    a, b, c = project.samples()[:3]
    for sample in (a, b):
        with qtbot.waitSignal(loader.ready):
            loader.request(sample)
    assert loader.pixmap(a.id) is not None  # touching a makes b the oldest
    with qtbot.waitSignal(loader.ready):
        loader.request(c)
    assert loader.pixmap(b.id) is None and loader.pixmap(a.id) and loader.pixmap(c.id)
    loader.shutdown()


def test_results_for_a_previous_project_are_ignored(loader, project, qtbot, gated):
    order, gate = gated
    stale, fresh = project.samples()[:2]
    loader.request(stale)
    qtbot.waitUntil(lambda: len(order) == 1)  # in the worker's hands, held at the gate
    loader.set_project(None)
    ready = []
    loader.ready.connect(lambda sample_id, _: ready.append(sample_id))
    gate.set()
    loader.set_project(project)
    # The one worker finishes the stale image before it takes this one.
    with qtbot.waitSignal(loader.ready):
        loader.request(fresh)
    assert ready == [fresh.id] and loader.pixmap(stale.id) is None


def test_the_browser_shows_placeholders_thumbnails_and_warnings(project, qtbot):
    corrupt = project.samples()[1]
    project.image_path(corrupt).write_bytes(b"\x89PNG broken")
    browser = SampleBrowser()
    qtbot.addWidget(browser)
    browser.resize(600, 220)  # a few rows: only those ask for thumbnails
    browser.set_project(project, None)
    good_index = browser.model.index(browser.model.row_of(project.samples()[0].id), NAME)
    bad_index = browser.model.index(browser.model.row_of(corrupt.id), NAME)
    assert good_index.data(DECORATION).cacheKey() == browser.model.placeholder.cacheKey()
    with qtbot.waitExposed(browser):
        browser.show()
    qtbot.waitUntil(lambda: good_index.data(DECORATION).cacheKey() not in (
        browser.model.placeholder.cacheKey(), browser.model.warning.cacheKey()))
    qtbot.waitUntil(lambda: bad_index.data(DECORATION).cacheKey() == browser.model.warning.cacheKey())
    reason = "not a readable image (corrupt or unsupported format)"
    assert bad_index.data(TOOLTIP) == f"{corrupt.path}\nthumbnail: {reason}"
    assert good_index.data(TOOLTIP) == project.samples()[0].path
    qtbot.waitUntil(lambda: browser.thumbnails.pending() == 0)
    loaded = browser.thumbnails.cached_count() + 1
    assert 2 <= loaded < len(project.samples()) and browser.thumbnails.pending() == 0
    browser.select_next()  # the app goes on
    assert browser.current_sample() == corrupt
    browser.shutdown()


def test_whatever_a_decoder_raises_becomes_a_one_line_warning(project, qtbot, monkeypatch):
    cv2_error, memory, other, good = project.samples()[:4]
    raising = {cv2_error.id: lambda: cv2.error("OpenCV(4.10.0) /io/opencv/modules/imgcodecs/src/loadsave.cpp:79: "
                                               "error: (-215:Assertion failed) pixels <= CV_IO_MAX_IMAGE_PIXELS "
                                               "in function 'validateInputImageSize'\n"),
               memory.id: MemoryError, other.id: lambda: ValueError("bad\nheader")}
    real, sides = thumbnails.read_rgb, []

    def read_rgb(path, max_side=None):
        sides.append(max_side)
        for sample_id, make in raising.items():
            if path == project.image_path(project.sample(sample_id)):
                raise make()
        return real(path, max_side)

    monkeypatch.setattr(thumbnails, "read_rgb", read_rgb)
    browser = SampleBrowser()
    qtbot.addWidget(browser)
    browser.resize(600, 260)
    browser.set_project(project, None)
    with qtbot.waitExposed(browser):
        browser.show()
    model, loader = browser.model, browser.thumbnails
    qtbot.waitUntil(lambda: all(loader.error(i) is not None for i in raising) and loader.pixmap(good.id) is not None)
    assert "CV_IO_MAX_IMAGE_PIXELS" in loader.error(cv2_error.id) and "loadsave.cpp" not in loader.error(cv2_error.id)
    assert loader.error(memory.id) == "not enough memory to load the image"
    assert loader.error(other.id) == "cannot load the image (ValueError: bad header)"
    for sample_id in raising:
        index = model.index(model.row_of(sample_id), NAME)
        assert index.data(DECORATION).cacheKey() == model.warning.cacheKey()
        path, reason = index.data(TOOLTIP).split("\n")
        assert reason == f"thumbnail: {loader.error(sample_id)}"
    assert set(sides) == {round(loader.size * loader.ratio)}  # large JPEGs are decoded at a fraction
    browser.shutdown()


def test_a_non_square_image_is_centred_on_a_transparent_square(project):
    """Wide and tall images get the same square icon, so the names beside them line up."""
    from ..helpers_qt import qimage_array

    sample = project.samples()[0]
    wide = np.zeros((40, 100, 3), np.uint8)
    wide[..., 2] = 255  # red, in OpenCV's BGR
    cv2.imwrite(str(project.image_path(sample)), wide)
    image = thumbnails.make_thumbnail(project, sample, 32)
    assert (image.width(), image.height()) == (32, 32)
    rgba = qimage_array(image.convertToFormat(image.Format.Format_RGBA8888), 4)
    assert rgba[0, :, 3].max() == 0 and rgba[-1, :, 3].max() == 0  # padding above and below
    assert (rgba[16, :, 3] == 255).all() and tuple(rgba[16, 16, :3]) == (255, 0, 0)
