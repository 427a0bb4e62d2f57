"""Tool preferences: saved in QSettings when changed, restored by the next tool panel or main window;
the threshold of "mask from heatmap"."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMainWindow, QMessageBox

from gradia_desktop.core.mask_edit import MaskEditor
from gradia_desktop.core.store import Project
from gradia_desktop.qt.canvas.canvas_widget import Canvas
from gradia_desktop.qt.window.main_window import MainWindow
from gradia_desktop.qt.canvas.tool_panel import ToolPanel

H, W = 32, 40


@pytest.fixture
def make_panel(qtbot):
    windows = []  # kept alive until the test ends

    def make(settings: QSettings | None = None):
        window = QMainWindow()
        windows.append(window)
        canvas = Canvas()
        window.setCentralWidget(canvas)
        panel = ToolPanel(canvas, ["disc", "cross"], window, settings=settings)
        window.addToolBar(panel)
        qtbot.addWidget(window)
        window.resize(1200, 700)
        canvas.set_image(np.zeros((H, W, 3), np.uint8))
        canvas.set_editor(MaskEditor((H, W)))
        return canvas, panel
    return make


def change_everything(canvas, panel):
    panel.tool_actions["eraser"].trigger()
    panel.size_spin.setValue(23)
    panel.heatmap_opacity.setValue(35)
    panel.mask_opacity.setValue(55)
    panel.colormap_combo.setCurrentText("inferno")
    panel.show_heatmap.setChecked(False)  # (disabled without a model, as in the main window test)
    panel.show_mask.trigger()
    panel.set_mask_color(QColor(200, 30, 40))
    panel.threshold_spin.setValue(0.3)
    panel.snap.trigger()
    panel.superpixel_size.setValue(24)


def assert_changed(canvas, panel):
    assert canvas.tool() == "eraser" and panel.tool_actions["eraser"].isChecked()
    assert canvas.brush_radius() == 23 and panel.size_spin.value() == 23
    assert panel.heatmap_opacity.value() == 35 and canvas.heatmap_opacity() == pytest.approx(0.35)
    assert panel.mask_opacity.value() == 55 and canvas.mask_opacity() == pytest.approx(0.55)
    assert canvas.colormap() == "inferno" and panel.colormap_combo.currentText() == "inferno"
    assert not panel.show_heatmap.isChecked() and not canvas.heat_item.isVisible()
    assert not panel.show_mask.isChecked() and not canvas.mask_item.isVisible()
    assert canvas.mask_color() == QColor(200, 30, 40)
    assert panel.threshold() == pytest.approx(0.3)
    assert panel.snap.isChecked() and canvas.superpixels.snap_to_edges
    assert panel.superpixel_size.value() == 24 and canvas.superpixels.size == 24


def assert_defaults(canvas, panel):
    assert canvas.tool() == "brush" and canvas.brush_radius() == 8
    assert canvas.colormap() == "jet" and panel.show_heatmap.isChecked() and panel.show_mask.isChecked()
    assert panel.heatmap_opacity.value() == 70 and panel.mask_opacity.value() == 90
    assert panel.threshold() == pytest.approx(0.5) and canvas.mask_color() == QColor(40, 220, 80)
    assert not panel.snap.isChecked() and not canvas.superpixels.snap_to_edges and canvas.superpixels.size == 16


def test_preferences_reach_the_file_and_the_next_panel(make_panel, tmp_path):
    path = str(tmp_path / "prefs.ini")
    canvas, panel = make_panel(QSettings(path, QSettings.Format.IniFormat))
    assert_defaults(canvas, panel)
    change_everything(canvas, panel)
    panel.prefs.settings().sync()
    with open(path) as f:
        text = f.read()
    assert "[tools]" in text and "inferno" in text and "eraser" in text

    canvas2, panel2 = make_panel(QSettings(path, QSettings.Format.IniFormat))  # the next start
    assert_changed(canvas2, panel2)


def test_the_application_settings_are_the_default_store(make_panel):
    canvas, panel = make_panel()
    change_everything(canvas, panel)
    canvas2, panel2 = make_panel()
    assert_changed(canvas2, panel2)


def test_tests_start_from_empty_settings(make_panel):
    """The autouse fixture cleared what the tests above saved."""
    assert QSettings().value("tools/colormap") is None
    assert_defaults(*make_panel())


def test_unusable_stored_values_are_skipped(make_panel, tmp_path):
    settings = QSettings(str(tmp_path / "bad.ini"), QSettings.Format.IniFormat)
    for key, value in {"tool": "laser", "brush_radius": "huge", "colormap": "rainbow", "mask_color": "not-a-colour",
                       "heatmap_opacity": 400, "threshold": 2.5, "show_mask": "maybe", "snap_to_edges": "maybe",
                       "superpixel_size": 9999}.items():
        settings.setValue(f"tools/{key}", value)
    settings.setValue("tools/mask_opacity", 40)
    canvas, panel = make_panel(settings)
    assert canvas.tool() == "brush" and canvas.brush_radius() == 8 and canvas.colormap() == "jet"
    assert panel.heatmap_opacity.value() == 70 and panel.threshold() == pytest.approx(0.5)
    assert panel.show_mask.isChecked() and canvas.mask_color() == QColor(40, 220, 80)
    assert not panel.snap.isChecked() and panel.superpixel_size.value() == 16
    assert panel.mask_opacity.value() == 40  # the one good value is used


def test_main_window_restores_the_tools_on_the_next_start(qtbot, small_project_dir):
    first = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(first)
    change_everything(first.canvas, first.tools)
    first.close()
    second = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(second)
    assert_changed(second.canvas, second.tools)


def test_mask_from_heatmap_uses_the_panel_threshold(make_panel, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)  # replace: yes
    canvas, panel = make_panel()
    cam = np.tile(np.linspace(0, 1, W, dtype=np.float32), (H, 1))  # 0 on the left to 1 on the right
    canvas.set_heatmap(cam)
    panel.threshold_spin.setValue(0.3)
    panel.from_heatmap.trigger()
    low = canvas.editor().mask.copy()
    assert np.array_equal(low, cam >= 0.3)
    panel.threshold_spin.setValue(0.7)
    panel.from_heatmap.trigger()
    high = canvas.editor().mask.copy()
    assert np.array_equal(high, cam >= 0.7)
    assert high.sum() < low.sum() and not np.array_equal(low, high)
    canvas.undo()
    assert np.array_equal(canvas.editor().mask, low)


def test_mask_colour_paints_the_mask_layer(make_panel):
    canvas, panel = make_panel()
    canvas.invert_mask()
    panel.set_mask_color(QColor(255, 0, 0))
    from ..helpers_qt import qimage_array
    bgra = qimage_array(canvas.mask_item.image, 4)
    assert (bgra[..., 2] > 0).all() and (bgra[..., 1] == 0).all() and (bgra[..., 0] == 0).all()
