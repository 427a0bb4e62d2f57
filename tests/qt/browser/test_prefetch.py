"""Prefetching the neighbours of the current sample: D/A show prepared images and masks, never stale ones."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradia_desktop.core.images import read_rgb
from gradia_desktop.core.store import Project
from gradia_desktop.bench.gui.browser import add_version
from gradia_desktop.qt.window.main_window import MainWindow
from gradia_desktop.qt.browser.prefetch import neighbours

from ..helpers_qt import open_main_window, qimage_array

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


@pytest.fixture
def window(qtbot, small_project_dir):
    return open_main_window(qtbot, small_project_dir)


def settle(qtbot, window):
    qtbot.waitUntil(lambda: window.prefetcher.pending() == 0, timeout=10_000)


def next_sample(window):
    return neighbours(window.browser)[0]


def no_gui_loads(window, monkeypatch):
    """Record the samples whose image or mask the GUI thread reads itself from now on."""
    loads = []
    for name in ("load_image", "read_mask_layers"):
        original = getattr(window.project, name)

        def record(sample, _original=original, _name=name):
            if threading.current_thread() is threading.main_thread():
                loads.append((_name, sample.id if hasattr(sample, "id") else sample))
            return _original(sample)
        monkeypatch.setattr(window.project, name, record)
    return loads


def layer_shows(window, mask) -> bool:
    return np.array_equal(qimage_array(window.canvas.mask_item.image, 4)[..., 3] > 0, mask)


def test_the_next_image_and_its_mask_come_prepared(window, qtbot, monkeypatch):
    # Start just before a sample with a mask, so the prepared mask is not empty.
    while not next_sample(window).has_mask:
        window.browser.select_next()
    settle(qtbot, window)
    target = next_sample(window)
    assert target.id in window.prefetcher.cached_ids()
    loads = no_gui_loads(window, monkeypatch)
    window.browser.select_next()
    assert window.current_sample.id == target.id
    assert loads == []  # decoded and read in the background
    assert np.array_equal(window.canvas.image(), read_rgb(window.project.image_path(target)))
    on_disk = window.project.read_mask(target)
    assert on_disk is not None and on_disk.any()
    assert np.array_equal(window.canvas.editor().mask, on_disk)
    assert layer_shows(window, on_disk)


def test_a_mask_changed_on_disk_after_prefetching_is_read_again(window, qtbot, monkeypatch):
    settle(qtbot, window)
    target = next_sample(window)
    new = np.zeros((target.height, target.width), bool)
    new[3:9, 4:12] = True
    window.project.write_mask(target, new)  # e.g. an import while the image waits in the cache
    loads = no_gui_loads(window, monkeypatch)
    window.browser.select_next()
    assert ("read_mask_layers", target.id) in loads
    assert np.array_equal(window.canvas.editor().mask, new) and layer_shows(window, new)


def test_going_back_keeps_the_painted_mask_and_its_undo_history(window, qtbot, monkeypatch):
    first = window.current_sample
    window.canvas.set_tool("brush")
    window.canvas.set_brush_radius(3)
    vp = window.canvas.viewport()
    QTest.mousePress(vp, LEFT, NONE, window.canvas.mapFromScene(QPointF(10.5, 10.5)))
    QTest.mouseMove(vp, window.canvas.mapFromScene(QPointF(30.5, 12.5)))
    QTest.mouseRelease(vp, LEFT, NONE, window.canvas.mapFromScene(QPointF(30.5, 12.5)))
    painted = window.canvas.editor().mask.copy()
    window.browser.select_next()
    settle(qtbot, window)  # the first image's mask layer is rendered again from its kept editor
    loads = no_gui_loads(window, monkeypatch)
    window.browser.select_previous()
    assert window.current_sample.id == first.id and loads == []
    assert np.array_equal(window.canvas.editor().mask, painted) and layer_shows(window, painted)
    assert window.canvas.editor().can_undo
    window.canvas.undo()
    assert layer_shows(window, window.canvas.editor().mask)
    window.autosaver.flush()
    qtbot.wait(50)  # its "saved" signal arrives before the window (and its project) close


def test_a_changed_mask_colour_is_not_shown_from_a_stale_layer(window, qtbot):
    while not next_sample(window).has_mask:
        window.browser.select_next()
    settle(qtbot, window)
    window.tools.set_mask_color(Qt.GlobalColor.red)
    window.browser.select_next()
    layer = qimage_array(window.canvas.mask_item.image, 4)
    inside = window.canvas.editor().mask
    assert (layer[inside][:, 2] > 0).all() and (layer[inside][:, 1] == 0).all()  # B, G, R: red only


def test_neighbours_heatmaps_are_computed_in_the_background(qtbot, small_project_dir):
    with Project.open(small_project_dir) as project:
        add_version(project)
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    target = window.tools.target()
    qtbot.waitUntil(lambda: all(window.heatmaps.cached(s.id, target) is not None
                                for s in [window.current_sample, *neighbours(window.browser)]), timeout=10_000)
    window.browser.select_next()
    assert window.canvas.heatmap() is not None  # shown at once, from the cache


def test_a_large_image_not_prefetched_is_decoded_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    from gradia_desktop.core.images import write_mask_png, write_rgb_png
    from gradia_desktop.core.project_init import create_project

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for cls in ("a", "b"):
            folder = tmp_path / "images" / split / cls
            folder.mkdir(parents=True)
            write_rgb_png(folder / "big.png", rng.integers(0, 255, (2048, 2048, 3), dtype=np.uint8))
    mask = np.zeros((2048, 2048), bool)
    mask[100:900, 300:1500] = True
    (tmp_path / "masks" / "train" / "b").mkdir(parents=True)
    write_mask_png(tmp_path / "masks" / "train" / "b" / "big.png", mask)
    create_project(tmp_path / "project", tmp_path / "images", tmp_path / "masks").close()
    window = open_main_window(qtbot, tmp_path / "project")
    settle(qtbot, window)
    target = next(s for s in window.project.samples() if s.has_mask)
    window.prefetcher.clear()  # as if the user jumped there before the background got to it
    loads = no_gui_loads(window, monkeypatch)
    window.browser.select_sample(target.id)
    assert window.canvas.image_shape() is None and "loading" in window.status.path_label.text()
    qtbot.waitUntil(lambda: window.canvas.image_shape() == (2048, 2048), timeout=20_000)
    assert loads == [] and window.status.path_label.text() == target.path
    assert np.array_equal(window.canvas.editor().mask, mask)
    assert np.array_equal(window.canvas.image(), read_rgb(window.project.image_path(target)))
    assert layer_shows(window, mask)


def test_an_image_that_failed_in_the_background_is_not_decoded_again(window, qtbot, monkeypatch):
    settle(qtbot, window)
    broken = next_sample(window)
    window.prefetcher.clear()
    calls = []
    original = window.project.load_image

    def load(sample):
        if sample.id == broken.id:
            calls.append(threading.current_thread() is threading.main_thread())
            raise MemoryError()
        return original(sample)

    monkeypatch.setattr(window.project, "load_image", load)
    window.show_sample(window.current_sample)  # prefetches the neighbours again
    settle(qtbot, window)
    assert calls == [False]
    for _ in range(2):
        window.browser.select_next()
        assert window.current_sample.id == broken.id and "not enough memory" in window.canvas.problem()
        window.browser.select_previous()
        settle(qtbot, window)
    assert calls == [False]  # the same file would fail the same way: never decoded again, never on the GUI thread
    window.project.image_path(broken).touch()  # a changed file is tried again
    window.browser.select_next()
    settle(qtbot, window)
    assert len(calls) == 2
