"""The main window on a small generated project: list, image view, overlays, status bar."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gradia_desktop.core.records import Prediction
from gradia_desktop.core.store import Project
from gradia_desktop.qt.browser.table_model import SAMPLE_ROLE
from gradia_desktop.qt.window.main_window import BROWSER, WELCOME, MainWindow
from gradia_desktop.qt.window.status import NO_MODEL

from ..helpers_qt import open_main_window


@pytest.fixture
def window(qtbot, small_project_dir):
    return open_main_window(qtbot, small_project_dir)


def sample_at(window, row):
    return window.browser.proxy.index(row, 0).data(SAMPLE_ROLE)


def row_count(window):
    return window.browser.proxy.rowCount()


def add_finished_version(project_dir, cam_value: float = 0.8) -> int:
    """A fake finished model version whose CAM is a bright square in the top-left quarter."""
    with Project.open(project_dir) as project:
        version = project.create_version(None, "baseline", "resnet18", "layer4", 64, {})
        cam = np.zeros((7, 7), np.float32)
        cam[:3, :3] = cam_value
        project.save_predictions(version, [Prediction(s.id, s.class_idx, 0.9, cam) for s in project.samples()])
        project.finish_version(version, "done")
        return version


def test_one_row_per_sample_and_first_selected(window, small_project_dir):
    with Project.open(small_project_dir, readonly=True) as project:
        samples = project.samples()
    assert row_count(window) == len(samples) == 16
    assert window.stack.currentIndex() == BROWSER
    assert window.current_sample == samples[0]
    assert window.browser.table.currentIndex().row() == 0
    assert window.windowTitle() == "GRADIA Desktop \u2014 small-project"


def test_selecting_a_row_shows_that_image(window):
    window.browser.table.selectRow(2)
    sample = sample_at(window, 2)
    assert window.current_sample == sample
    assert np.array_equal(window.canvas.image(), window.project.load_image(sample))
    assert window.canvas.editor().mask.shape == (sample.height, sample.width)
    assert window.status.path_label.text() == sample.path
    assert sample.class_name in window.status.class_label.text()
    assert f"{sample.width} \u00d7 {sample.height}" in window.status.size_label.text()


def test_small_images_are_scaled_up_to_fill_the_view(window):
    view = window.canvas
    scale = view.transform().m11()
    assert scale > 4  # a 64x64 image in a ~600 px tall view
    assert view.transform().m22() == pytest.approx(scale)  # aspect ratio kept


def test_mask_layer_holds_the_stored_mask_or_nothing(window):
    rows = {sample_at(window, r).has_mask: r for r in range(row_count(window))}
    assert set(rows) == {True, False}  # the small demo has both kinds
    window.browser.table.selectRow(rows[True])
    stored = window.project.read_mask(window.current_sample)
    assert np.array_equal(window.canvas.editor().mask, stored) and stored.any()
    window.browser.table.selectRow(rows[False])
    assert not window.canvas.editor().mask.any()


def test_without_a_model_there_is_no_heatmap(window):
    assert window.version is None
    assert window.canvas.heatmap() is None
    assert window.status.model_label.text() == NO_MODEL
    assert not window.tools.show_heatmap.isEnabled()


def test_heatmap_of_the_latest_version_arrives_from_the_background(qtbot, small_project_dir):
    version = add_finished_version(small_project_dir)
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.canvas.heatmap() is not None, timeout=10_000)
    cam = window.canvas.heatmap()
    sample = window.current_sample
    assert cam.shape == (sample.height, sample.width)
    assert cam[2, 2] > 0.9 and cam[-2, -2] < 0.1  # the stored grid's hot top-left corner
    assert f"model v{version}" in window.status.model_label.text()
    assert "predicts" in window.status.model_label.text()
    assert window.tools.show_heatmap.isEnabled()


def test_a_missing_image_file_is_reported_in_the_status_bar(window):
    sample = sample_at(window, 1)
    window.project.image_path(sample).unlink()
    window.browser.table.selectRow(1)
    assert "file not found" in window.status.path_label.text()
    assert window.canvas.image() is None


def test_empty_window_offers_open_actions(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.stack.currentIndex() == WELCOME
    assert window.windowTitle() == "GRADIA Desktop"
    file_menu = window.menuBar().actions()[0].menu()
    texts = [a.text().replace("&", "") for a in file_menu.actions()]
    assert "Open project\u2026" in texts and "Open demo project" in texts


def test_opening_a_bad_folder_shows_the_error(qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    window = MainWindow()
    qtbot.addWidget(window)
    assert not window.open_project_path(tmp_path)
    assert shown and str(tmp_path) in shown[0] and "not a GRADIA project" in shown[0]
    assert window.stack.currentIndex() == WELCOME


def test_open_demo_project_from_the_menu(qtbot, demo_data_home):
    window = MainWindow()
    qtbot.addWidget(window)
    window.menus.demo_action.trigger()
    assert window.project is not None
    assert window.project.root.is_relative_to(demo_data_home)
    assert row_count(window) == 1400


def test_r_and_u_store_human_judgements_for_the_current_version(qtbot, small_project_dir):
    version = add_finished_version(small_project_dir)
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    first = window.current_sample
    assert "suggested" in window.status.judgement_label.text() or "not judged" in window.status.judgement_label.text()
    qtbot.keyClick(window.browser.table, "r")
    assert window.project.judgements(version) == {first.id: True}
    assert window.status.judgement_label.text().startswith("judged reasonable")
    qtbot.keyClick(window.browser.table, "d")  # next sample
    second = window.current_sample
    assert second.id != first.id
    qtbot.keyClick(window.browser.table, "u")
    assert window.project.judgements(version) == {first.id: True, second.id: False}
    assert window.browser.assessment(second.id).source == "human"
    qtbot.keyClick(window.browser.table, Qt.Key.Key_Backspace)
    assert window.project.judgements(version) == {first.id: True}


def test_judging_without_a_model_asks_for_one_and_stores_nothing(window):
    assert not window.menus.reasonable_action.isEnabled()
    judged_before = window.status.judgement_label.text()
    window.judge(True)
    assert window.statusBar().currentMessage() == "Judgements belong to a model version: train a baseline first"
    assert window.version is None and window.project.versions() == []
    assert window.status.judgement_label.text() == judged_before


def test_a_project_without_model_offers_a_baseline_and_trains_it(qtbot, window):
    offer = window.offer
    assert offer.isVisible() and offer.start_button.isEnabled()
    with qtbot.waitSignal(offer.trained, timeout=180_000):
        offer.start_button.click()
        assert offer.progress.isVisible()
    qtbot.waitUntil(lambda: offer.worker is None, timeout=10_000)
    assert not offer.isVisible()
    assert window.version is not None and window.tools.show_heatmap.isEnabled()
    qtbot.waitUntil(lambda: window.canvas.heatmap() is not None, timeout=20_000)
    assert "predicts" in window.status.model_label.text()


def test_read_only_project_is_flagged_and_cannot_be_judged(qtbot, small_project_dir):
    add_finished_version(small_project_dir)
    window = MainWindow(Project.open(small_project_dir, readonly=True))
    qtbot.addWidget(window)
    assert window.windowTitle().endswith("(read-only)")
    assert not window.status.readonly_label.isHidden()
    assert not window.menus.reasonable_action.isEnabled()


def test_recent_projects_remember_what_was_opened(qtbot, small_project_dir):
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    assert window.recent.paths()[0] == str(small_project_dir.resolve())
    window.menus.recent_menu.aboutToShow.emit()
    assert str(small_project_dir.resolve()) in [a.text() for a in window.menus.recent_menu.actions()]


def test_help_menu_has_cheat_sheet_and_about(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()))
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    help_menu = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"][0]
    for action in help_menu.actions():
        action.trigger()
    assert "Ctrl+Z" in shown[0] and "PyTorch" in shown[1]


def test_a_project_reopens_at_the_last_sample(qtbot, small_project_dir):
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    window.browser.select_next()
    window.browser.select_next()
    third = window.current_sample
    window.close()
    again = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(again)
    assert again.current_sample.id == third.id


def test_failed_and_cancelled_runs_are_listed_but_never_the_active_model(qtbot, small_project_dir):
    done = add_finished_version(small_project_dir)
    with Project.open(small_project_dir) as project:
        failed = project.create_version(done, "guided", "resnet18", "layer4", 64, {})
        project.finish_version(failed, "failed", note="loss became NaN at epoch 2")
        cancelled = project.create_version(done, "gradia", "resnet18", "layer4", 64, {})
        project.finish_version(cancelled, "cancelled", note="cancelled")
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    panel = window.models.versions
    assert panel.table.rowCount() == 3 and window.version.id == done
    assert panel.version(failed).status == "failed" and panel.version(cancelled).status == "cancelled"
    row = next(r for r in range(3) if panel.table.item(r, 0).text() == f"v{failed}")
    assert "loss became NaN" in panel.table.item(row, 0).toolTip()
    assert not panel.table.item(row, 0).flags() & Qt.ItemFlag.ItemIsSelectable
    assert panel.selected_version() == done


def test_a_heatmap_that_cannot_be_made_says_why(qtbot, small_project_dir):
    add_finished_version(small_project_dir)  # stored CAM grids, but no checkpoint for other targets
    window = open_main_window(qtbot, small_project_dir)
    qtbot.waitUntil(lambda: window.canvas.heatmap() is not None, timeout=10_000)
    assert window.status.heatmap_label.isHidden()
    window.tools.target_combo.setCurrentIndex(window.tools.target_combo.findData("true"))
    qtbot.waitUntil(lambda: window.status.heatmap_problem() != "", timeout=10_000)
    problem = window.status.heatmap_problem()
    assert problem.startswith("no heatmap: ") and "checkpoint" in problem and "\n" not in problem
    assert window.canvas.heatmap() is None and not window.status.heatmap_label.isHidden()
    window.tools.target_combo.setCurrentIndex(window.tools.target_combo.findData("predicted"))
    assert window.status.heatmap_problem() == "" and window.canvas.heatmap() is not None


def test_the_cam_method_picked_in_the_tool_bar_is_what_the_canvas_shows(qtbot, small_project_dir):
    from gradia_desktop.training.config import TrainConfig
    from gradia_desktop.training.explain import Explainer
    from gradia_desktop.training.trainer import train

    with Project.open(small_project_dir) as project:
        train(project, TrainConfig(epochs=1, batch_size=8, image_size=32, device="cpu"))
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.canvas.heatmap() is not None, timeout=20_000)
    gradcam = window.canvas.heatmap().copy()
    window.tools.method_combo.setCurrentIndex(window.tools.method_combo.findData("layercam"))
    qtbot.waitUntil(lambda: window.canvas.heatmap() is not None
                    and not np.allclose(window.canvas.heatmap(), gradcam, atol=1e-3), timeout=20_000)
    project = window.project
    expected = Explainer(project, window.version).heatmap(project.load_image(window.current_sample), None,
                                                          "layercam")[0]
    np.testing.assert_allclose(window.canvas.heatmap(), np.clip(expected, 0, 1), atol=1e-5)
    # the layer, picked in the tool bar, is read for the view only
    assert window.tools.layer_field.edit.placeholderText() == window.version.cam_layer == "layer4"
    layer_cam = window.canvas.heatmap().copy()
    window.tools.layer_field._choose("layer2")
    qtbot.waitUntil(lambda: window.canvas.heatmap() is not None
                    and not np.allclose(window.canvas.heatmap(), layer_cam, atol=1e-3), timeout=20_000)
    expected = Explainer(project, window.version).heatmap(project.load_image(window.current_sample), None,
                                                          "layercam", "layer2")[0]
    np.testing.assert_allclose(window.canvas.heatmap(), np.clip(expected, 0, 1), atol=1e-5)
    window.tools.layer_field._choose("layer9")
    qtbot.waitUntil(lambda: "layer9" in window.status.heatmap_problem(), timeout=20_000)


def test_faithfulness_is_measured_from_the_versions_dock_and_shown_in_its_table(qtbot, small_project_dir):
    from gradia_desktop.qt.models.versions_panel import COLUMNS
    from gradia_desktop.training.config import TrainConfig
    from gradia_desktop.training.trainer import train

    with Project.open(small_project_dir) as project:
        version = train(project, TrainConfig(epochs=1, batch_size=8, image_size=32, device="cpu")).version
    window = MainWindow(Project.open(small_project_dir))
    qtbot.addWidget(window)
    panel = window.models.versions
    panel.table.selectRow(0)
    assert panel.faithfulness_button.isEnabled()
    with qtbot.waitSignal(panel.faithfulness_requested):
        panel.faithfulness_button.click()
    qtbot.waitUntil(lambda: "deletion_auc" in window.project.version(version).metrics["val"], timeout=30_000)
    qtbot.waitUntil(lambda: panel.table.item(0, COLUMNS.index("Val deletion")).text() != "\u2013", timeout=5_000)
    recorded = window.project.version(version).metrics["val"]
    assert 0 <= recorded["deletion_auc"] <= 1 and recorded["faithfulness_steps"] == 20
    cell = panel.table.item(0, COLUMNS.index("Val deletion")).text()
    assert cell == f"{recorded['deletion_auc']:.3f}"
