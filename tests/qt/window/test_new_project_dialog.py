"""The New project dialog (issue 12 point 15): the images folder is read first and what it holds shown
(layout, classes, counts per split, skipped entries, masks matched) before anything is created."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from gradia_desktop.core.demo import generate_demo
from gradia_desktop.core.store import Project
from gradia_desktop.qt.window import new_project_dialog
from gradia_desktop.qt.window.main_window import MainWindow
from gradia_desktop.qt.window.new_project_dialog import NewProjectDialog

COUNTS = {"train": 3, "val": 1, "test": 1}  # per class


def table(dialog):
    """{row header: [train, val, test, total]} as the dialog shows it."""
    t = dialog.table
    return {t.verticalHeaderItem(r).text(): [int(t.item(r, c).text()) for c in range(4)] for r in range(t.rowCount())}


def listed(qtbot, dialog, folder):
    dialog.set_images_folder(folder)
    qtbot.waitUntil(lambda: not dialog.scanning() and (dialog.scan is not None or bool(dialog.error_label.text())))
    return dialog


def class_folders(root, n=10):
    for cls in ("ant", "bee"):
        for i in range(n):
            path = root / "IMAGES" / cls / f"{cls}{i:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), np.full((6, 8, 3), 10 * i, np.uint8))
    return root / "IMAGES"


@pytest.fixture
def dialog(qtbot, tmp_path):
    d = NewProjectDialog(None, str(tmp_path))
    qtbot.addWidget(d)
    return d


def test_the_folder_is_shown_before_anything_is_created_then_create_makes_it(qtbot, tmp_path, dialog):
    data = generate_demo(tmp_path / "data", seed=2, counts=COUNTS)
    (data / "images" / "train" / "disc" / "Thumbs.db").write_bytes(b"x")
    listed(qtbot, dialog, data / "images")
    assert dialog.layout_label.text().startswith("Split folders")
    assert table(dialog) == {"cross": [3, 1, 1, 5], "disc": [3, 1, 1, 5], "all": [6, 2, 2, 10]}
    assert dialog.masks_edit.text() == str(data / "masks")  # the sibling masks folder, suggested
    assert dialog.masks_label.text() == "4 of 10 images have a mask."
    assert dialog.skipped_label.text().startswith("1 entry") and not dialog.skipped_list.isVisibleTo(dialog)
    dialog.skipped_toggle.click()
    assert dialog.skipped_list.isVisibleTo(dialog) and dialog.skipped_list.toPlainText() == \
        f"{data / 'images' / 'train' / 'disc' / 'Thumbs.db'}: not an image file (suffix .db)"
    assert not dialog.split_row.isVisibleTo(dialog)  # the folders are split already
    assert dialog.target_edit.text() == str(data / "project") and not (data / "project").exists()
    assert dialog.create_button.isEnabled() and not dialog.error_label.text()
    dialog.create_button.click()
    assert dialog.result() == NewProjectDialog.DialogCode.Accepted
    with dialog.created.project as project:
        assert project.root == (data / "project").resolve() and len(project.samples()) == 10
        assert len(project.samples(has_mask=True)) == 4


def test_class_folders_show_the_split_which_create_stores(qtbot, tmp_path, dialog):
    images = class_folders(tmp_path)
    listed(qtbot, dialog, images)
    assert dialog.split_row.isVisibleTo(dialog) and dialog.split_edit.text() == "0.7,0.15,0.15"
    assert dialog.layout_label.text().startswith("Class folders")
    assert table(dialog)["all"] == [14, 4, 2, 20] and dialog.masks_label.text().startswith("No masks folder")
    dialog.split_edit.setText("0.5,0.5")
    qtbot.waitUntil(lambda: not dialog.scanning() and bool(dialog.error_label.text()))
    assert "split '0.5,0.5': 2 numbers given" in dialog.error_label.text() and not dialog.create_button.isEnabled()
    dialog.split_edit.setText("0.6,0.2,0.2")
    dialog.seed_spin.setValue(5)
    qtbot.waitUntil(lambda: not dialog.scanning() and dialog.scan is not None)
    assert table(dialog)["ant"] == [6, 2, 2, 10] and dialog.scan.split.seed == 5
    shown = {image.rel: image.split for image in dialog.scan.images}
    dialog.create_button.click()
    with dialog.created.project as project:
        assert {s.path: s.split for s in project.samples()} == shown


def test_a_folder_no_project_can_come_from_is_named_inline(qtbot, tmp_path, dialog):
    (tmp_path / "empty").mkdir()
    listed(qtbot, dialog, tmp_path / "empty")
    assert dialog.error_label.text().startswith(f"{tmp_path / 'empty'}: no class folders")
    assert dialog.error_label.isVisibleTo(dialog) and not dialog.create_button.isEnabled()
    assert dialog.table.rowCount() == 0


def test_a_project_folder_in_the_way_is_named_inline(qtbot, tmp_path, dialog):
    images = class_folders(tmp_path, 3)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("precious")
    listed(qtbot, dialog, images)
    assert dialog.target_edit.text() == str(tmp_path / "project") and dialog.create_button.isEnabled()
    dialog.target_edit.setText(str(taken))
    dialog.target_edit.textEdited.emit(str(taken))  # as typing does
    assert "already exists and is not an empty folder" in dialog.error_label.text()
    assert not dialog.create_button.isEnabled()


def _drive(qtbot, folder):
    """A stand-in for the dialog's exec(): list ``folder``, click Create."""
    def exec_(self):
        listed(qtbot, self, folder)
        self.create_button.click()
        return self.result()
    return exec_


def test_new_project_from_the_menu_opens_what_the_dialog_made_and_names_what_was_left_out(qtbot, tmp_path,
                                                                                          monkeypatch):
    data = generate_demo(tmp_path / "data", seed=2, counts=COUNTS)
    bad = data / "images" / "val" / "cross" / "broken.png"
    bad.write_bytes(b"\x89PNG but no more")
    warned = []
    monkeypatch.setattr(NewProjectDialog, "exec", _drive(qtbot, data / "images"))
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warned.append(text))
    window = MainWindow()
    qtbot.addWidget(window)
    window.menus.new_action.trigger()
    assert window.project is not None and window.project.root == (data / "project").resolve()
    assert window.browser.proxy.rowCount() == 10
    assert len(warned) == 1 and f"{bad}: not a readable image" in warned[0]


def test_backing_out_opens_nothing(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(NewProjectDialog, "exec", lambda self: NewProjectDialog.DialogCode.Rejected)
    window = MainWindow()
    qtbot.addWidget(window)
    window.new_project()
    assert window.project is None and not any(tmp_path.iterdir())


def test_the_scan_runs_off_the_gui_thread(qtbot, tmp_path, dialog, monkeypatch):
    from PySide6.QtCore import QThread

    threads = []
    real = new_project_dialog.scan_dataset

    def spy(*args, **kwargs):
        threads.append(QThread.currentThread())
        return real(*args, **kwargs)

    monkeypatch.setattr(new_project_dialog, "scan_dataset", spy)
    listed(qtbot, dialog, class_folders(tmp_path, 2))
    assert threads and all(t is not dialog.thread() for t in threads) and dialog.scan is not None
