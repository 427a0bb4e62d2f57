"""File > Export / Import masks dialogs, driven through their widgets (offscreen)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from gradia_desktop.core import export as export_mod
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.store import Project
from gradia_desktop.qt.transfer import dialogs as transfer_dialogs
from gradia_desktop.qt.transfer.dialogs import (
    ExportDialog,
    ImportDialog,
    export_interactively,
    export_parent,
    import_interactively,
)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture
def project(small_project_dir):
    p = Project.open(small_project_dir)
    yield p
    p.close()


def masks_of(project):
    return {s.path: project.read_mask(s) for s in project.samples(has_mask=True)}


def test_export_dialog_writes_the_chosen_formats_with_the_filters(qtbot, project, tmp_path):
    dialog = ExportDialog(project)
    qtbot.addWidget(dialog)
    assert dialog.png_check.isChecked() and not dialog.coco_check.isChecked()
    assert not dialog.quadrant_combo.isEnabled()  # no model version yet
    assert dialog.out_edit.text().endswith("small-project-export")
    assert Path(dialog.out_edit.text()).parent == export_parent() != project.root.parent  # documents, at first
    dialog.coco_check.setChecked(True)
    dialog.manifest_check.setChecked(True)
    dialog.split_combo.setCurrentIndex(dialog.split_combo.findData("val"))
    dialog.out_edit.setText(str(tmp_path / "out"))
    seen = []
    real = dialog._progress
    dialog._progress = lambda *a: seen.append(not dialog.progress_bar.isHidden()) or real(*a)
    dialog.run_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.summary is not None
    assert seen and all(seen)  # the progress bar showed while working
    assert dialog.progress_bar.isHidden()
    val = project.samples(split="val")
    rows = (tmp_path / "out/manifest.jsonl").read_text().splitlines()
    assert [json.loads(r)["path"] for r in rows] == [s.path for s in val]  # the manifest: every val sample
    doc = json.loads((tmp_path / "out/coco.json").read_text())
    assert {i["file_name"] for i in doc["images"]} == {s.path for s in val}
    assert len(doc["annotations"]) == sum(s.has_mask for s in val) == dialog.summary.masks
    again = ExportDialog(project)  # the next export goes beside this one
    qtbot.addWidget(again)
    assert Path(again.out_edit.text()) == tmp_path / "small-project-export"


def test_export_errors_and_cancel_keep_the_dialog_open_and_write_nothing(qtbot, project, tmp_path, monkeypatch):
    dialog = ExportDialog(project)
    qtbot.addWidget(dialog)
    dialog.show()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/file.txt").write_text("x")
    dialog.out_edit.setText(str(tmp_path / "taken"))
    dialog.run_button.click()
    assert dialog.isVisible() and "not an empty folder" in dialog.status_label.text()
    assert dialog.form_widget.isEnabled() and dialog.run_button.isEnabled()
    dialog.png_check.setChecked(False)
    assert not dialog.run_button.isEnabled()  # no format chosen
    dialog.png_check.setChecked(True)

    real_export = export_mod.export_masks

    def export_and_click_cancel(*args, progress, **kwargs):
        def clicking(stage, done, total):
            assert not dialog.form_widget.isEnabled()  # the form is locked while working
            dialog.cancel_button.click()
            progress(stage, done, total)
        return real_export(*args, progress=clicking, **kwargs)

    monkeypatch.setattr(transfer_dialogs, "export_masks", export_and_click_cancel)
    dialog.out_edit.setText(str(tmp_path / "out"))
    dialog.run_button.click()
    assert dialog.isVisible() and "cancelled; nothing was written" in dialog.status_label.text()
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or "out" in p.name] == []  # no staging
    dialog.cancel_button.click()  # not running: closes
    assert not dialog.isVisible()


def test_export_dialog_with_a_version_offers_the_quadrant_filter(qtbot, project, tmp_path):
    from gradia_desktop.core.records import Prediction

    v = project.create_version(None, "baseline", "tiny", "layer4", 32, {})
    project.finish_version(v, "done")
    project.save_predictions(v, [Prediction(s.id, s.class_idx, 0.9, np.zeros((2, 2), np.float32))
                                 for s in project.samples()])
    for s in project.samples()[:3]:
        project.set_judgement(v, s.id, True)
    dialog = ExportDialog(project, version_id=v)
    qtbot.addWidget(dialog)
    assert dialog.version_combo.currentData() == v and dialog.quadrant_combo.isEnabled()
    dialog.png_check.setChecked(False)
    dialog.manifest_check.setChecked(True)
    dialog.quadrant_combo.setCurrentIndex(dialog.quadrant_combo.findData("RA"))
    dialog.out_edit.setText(str(tmp_path / "ra"))
    dialog.run_button.click()
    rows = [json.loads(r) for r in (tmp_path / "ra/manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and {r["quadrant"] for r in rows} == {"RA"} and rows[0]["judgement_source"] == "human"
    dialog.version_combo.setCurrentIndex(dialog.version_combo.findData("none"))
    assert not dialog.quadrant_combo.isEnabled() and dialog.quadrant_combo.currentData() is None


def test_import_dialog_round_trip_and_rejected_input(qtbot, project, tmp_path):
    export_mod.export_masks(project, tmp_path / "out", "png,coco", with_images=True)
    with create_project(tmp_path / "fresh", tmp_path / "out/images") as fresh:
        dialog = ImportDialog(fresh)
        qtbot.addWidget(dialog)
        dialog.show()
        doc = json.loads((tmp_path / "out/coco.json").read_text())
        doc["images"][0]["file_name"] = "/etc/passwd"
        (tmp_path / "bad.json").write_text(json.dumps(doc))
        dialog.coco_radio.setChecked(True)
        dialog.source_edit.setText(str(tmp_path / "bad.json"))
        dialog.run_button.click()
        assert dialog.isVisible() and "nothing imported" in dialog.status_label.text()
        assert dialog.problems_view.isVisible() and "absolute path" in dialog.problems_view.toPlainText()
        assert fresh.samples(has_mask=True) == []
        dialog.source_edit.setText(str(tmp_path / "out/coco.json"))
        dialog.run_button.click()
        assert dialog.result() == QDialog.DialogCode.Accepted and dialog.summary.changed
        assert {p: m.tolist() for p, m in masks_of(fresh).items()} == \
               {p: m.tolist() for p, m in masks_of(project).items()}


def test_entry_functions_for_the_main_window(qtbot, project, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append((title, text)))

    def run_export(self):
        self.out_edit.setText(str(tmp_path / "out"))
        self.images_check.setChecked(True)
        self.run_button.click()
        return self.result()

    monkeypatch.setattr(ExportDialog, "exec", run_export)
    summary = export_interactively(None, project)
    assert summary is not None and summary.images == summary.samples and shown[-1][0] == "Export finished"
    assert (tmp_path / "out/masks").is_dir() and (tmp_path / "out/images").is_dir()

    monkeypatch.setattr(ImportDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    assert import_interactively(None, project) is False
    for overwrite, changed in ((False, False), (True, True)):
        def run_import(self, overwrite=overwrite):
            monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: str(tmp_path / "out/masks"))
            self.source_button.click()
            self.overwrite_check.setChecked(overwrite)
            self.run_button.click()
            return self.result()

        monkeypatch.setattr(ImportDialog, "exec", run_import)
        assert import_interactively(None, project) is changed
        assert shown[-1][0] == "Import finished" and ("already has a mask" in shown[-1][1]) != overwrite


def test_import_dialog_on_a_read_only_project(qtbot, small_project_dir):
    with Project.open(small_project_dir, readonly=True) as project:
        dialog = ImportDialog(project)
        qtbot.addWidget(dialog)
        assert not dialog.run_button.isEnabled() and "read-only" in dialog.status_label.text()
