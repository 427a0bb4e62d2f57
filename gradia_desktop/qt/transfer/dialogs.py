"""File > Export masks and File > Import masks: the options of `gradia export` / `gradia import`, a progress bar.

The work is core.export.export_masks / core.mask_import.import_masks, run on the GUI thread with a
progress callback that keeps the dialog painted and turns Cancel into ``Cancelled`` (the export's
staging folder is removed, the import rolls back), as ``task_progress.run_with_progress`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ...core.export import AUTO, ExportFilter, ExportSummary, export_masks
from ...core.mask_import import ImportRejected, ImportSummary, import_masks
from ...core.records import QUADRANTS, SPLITS
from ...core.store import Project
from ...errors import Cancelled, GradiaError


def _combo(items: list[tuple[str, object]]) -> QComboBox:
    combo = QComboBox()
    for text, value in items:
        combo.addItem(text, value)
    return combo


def _path_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


LAST_EXPORT_KEY = "export/last_parent"


def export_parent() -> Path:
    """Where a new export goes: beside the last one, else in the user's documents (never inside the
    app's hidden data folder, where the demo project lives)."""
    last = str(QSettings().value(LAST_EXPORT_KEY, "") or "")
    if last and Path(last).is_dir():
        return Path(last)
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents else Path.home()


def default_export_folder(project: Project, parent: Path | None = None) -> Path:
    """``<project>-export`` in ``parent`` (default: ``export_parent()``), numbered if that is taken."""
    base = (parent or export_parent()) / f"{project.root.name}-export"
    candidate, n = base, 2
    while candidate.exists():
        candidate, n = base.with_name(f"{base.name}-{n}"), n + 1
    return candidate


class _TaskDialog(QDialog):
    """A form, a Run button, a progress bar and a status line; Cancel stops a running task."""

    run_text = "Run"
    cancelled_text = "Cancelled."

    def __init__(self, parent: QWidget | None):
        super().__init__(parent)
        self.form_widget = QWidget()
        self.form = QFormLayout(self.form_widget)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.progress_bar = QProgressBar(textVisible=True)
        self.progress_bar.setVisible(False)
        self.status_label = QLabel(wordWrap=True)
        self.problems_view = QPlainTextEdit(readOnly=True, visible=False)
        self.problems_view.setMaximumHeight(120)
        self.buttons = QDialogButtonBox()
        self.run_button = self.buttons.addButton(self.run_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.reject)
        self.running = False
        self._cancel_requested = False
        layout = QVBoxLayout(self)
        layout.addWidget(self.form_widget)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.problems_view)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.progress_bar.setFormat(f"{stage[:1].upper()}{stage[1:]}: %v / %m")
        self.progress_bar.setMaximum(max(total, 1))
        self.progress_bar.setValue(min(done, max(total, 1)))
        QApplication.processEvents()  # paint, and let Cancel be clicked
        if self._cancel_requested:
            raise Cancelled("cancelled")

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #c0392b" if error else "")

    def _execute(self, task: Callable[[Callable], object]) -> object | None:
        """Run ``task(progress)``; its result, or None after an error or Cancel (shown in the dialog)."""
        self.running, self._cancel_requested = True, False
        self.form_widget.setEnabled(False)
        self.run_button.setEnabled(False)
        self.progress_bar.setVisible(True)
        self.progress_bar.setValue(0)
        self.problems_view.setVisible(False)
        self._show_status("Working\u2026")
        try:
            return task(self._progress)
        except ImportRejected as exc:
            self._show_status(str(exc), error=True)
            self.problems_view.setPlainText("\n".join(exc.problems))
            self.problems_view.setVisible(True)
        except GradiaError as exc:
            self._show_status(str(exc), error=True)
        except Cancelled:
            self._show_status(self.cancelled_text, error=True)
        finally:
            self.running = False
            self.form_widget.setEnabled(True)
            self.run_button.setEnabled(True)
            self.progress_bar.setVisible(False)
            self._update_enabled()
        return None

    def _update_enabled(self) -> None:
        pass

    def reject(self) -> None:
        if self.running:  # Cancel while working stops the task; the dialog stays open
            self._cancel_requested = True
            return
        super().reject()

    def run(self) -> None:
        raise NotImplementedError


class ExportDialog(_TaskDialog):
    """Formats, output folder, the sample filters, model version, images on/off."""

    run_text = "Export"
    cancelled_text = "Export cancelled; nothing was written."

    def __init__(self, project: Project, parent: QWidget | None = None, version_id: int | None = None):
        super().__init__(parent)
        self.project = project
        self.summary: ExportSummary | None = None
        self.setWindowTitle("Export masks")
        self.png_check = QCheckBox("PNG masks (masks/{split}/<class>/<stem>.png)", checked=True)
        self.png_check.setToolTip("One 8-bit PNG per mask, the image's size: 255 look here, 64 don't look here, "
                                  "0 not marked")
        self.coco_check = QCheckBox("COCO JSON with RLE masks (coco.json)")
        self.manifest_check = QCheckBox("Manifest (manifest.csv and manifest.jsonl)")
        self.images_check = QCheckBox("Copy the images too (a self-contained dataset folder)")
        self.out_edit = QLineEdit(str(default_export_folder(project)))
        self.out_button = QPushButton("Browse\u2026")
        self.out_button.clicked.connect(self._browse)
        self.split_combo = _combo([("All splits", None)] + [(s, s) for s in SPLITS])
        self.class_combo = _combo([("All classes", None)] + [(c, c) for c in project.classes])
        self.quadrant_combo = _combo([("All quadrants", None)] + [(q, q) for q in QUADRANTS])
        self.judged_combo = _combo([("Judged: any", None), ("Judged by a human", True), ("Not judged", False)])
        self.mask_combo = _combo([("Automatic: with a mask, every sample for the manifest", AUTO),
                                  ("With a mask", True), ("Without a mask", False), ("Any", None)])
        versions = project.versions()
        self.version_combo = _combo([(f"{v.name} ({v.mode})", v.id) for v in reversed(versions)]
                                    + [("No model version", "none")])
        if version_id is not None and self.version_combo.findData(version_id) >= 0:
            self.version_combo.setCurrentIndex(self.version_combo.findData(version_id))
        self.version_combo.currentIndexChanged.connect(self._update_enabled)
        formats = QVBoxLayout()
        for check in (self.png_check, self.coco_check, self.manifest_check):
            formats.addWidget(check)
            check.toggled.connect(self._update_enabled)
        self.form.addRow("Formats", formats)
        self.form.addRow("Output folder", _path_row(self.out_edit, self.out_button))
        self.form.addRow("Split", self.split_combo)
        self.form.addRow("Class", self.class_combo)
        self.form.addRow("Model version", self.version_combo)
        self.form.addRow("Quadrant", self.quadrant_combo)
        self.form.addRow("Judgement", self.judged_combo)
        self.form.addRow("Mask", self.mask_combo)
        self.form.addRow("", self.images_check)
        self._update_enabled()

    def formats(self) -> list[str]:
        checks = (("png", self.png_check), ("coco", self.coco_check), ("manifest", self.manifest_check))
        return [name for name, check in checks if check.isChecked()]

    def export_filter(self) -> ExportFilter:
        return ExportFilter(split=self.split_combo.currentData(), class_name=self.class_combo.currentData(),
                            quadrant=self.quadrant_combo.currentData(), judged=self.judged_combo.currentData(),
                            has_mask=self.mask_combo.currentData())

    def _update_enabled(self) -> None:
        has_version = self.version_combo.currentData() != "none"
        for combo in (self.quadrant_combo, self.judged_combo):
            if not has_version:
                combo.setCurrentIndex(0)
            combo.setEnabled(has_version and not self.running)
        self.run_button.setEnabled(bool(self.formats()) and not self.running)

    def _browse(self) -> None:
        start = str(Path(self.out_edit.text()).parent) if self.out_edit.text() else str(self.project.root.parent)
        folder = QFileDialog.getExistingDirectory(self, "Folder to create the export in", start)
        if folder:
            self.out_edit.setText(str(default_export_folder(self.project, Path(folder))))

    def run(self) -> None:
        out = self.out_edit.text().strip()
        if not out:
            self._show_status("Choose an output folder.", error=True)
            return
        formats, flt, version = self.formats(), self.export_filter(), self.version_combo.currentData()
        summary = self._execute(lambda progress: export_masks(
            self.project, out, formats, flt, version=version, with_images=self.images_check.isChecked(),
            progress=progress))
        if summary is not None:
            self.summary = summary
            QSettings().setValue(LAST_EXPORT_KEY, str(Path(out).resolve().parent))
            self._show_status(summary.text())
            self.accept()


class ImportDialog(_TaskDialog):
    """Source format and path, and what to do with samples that already have a mask."""

    run_text = "Import"
    cancelled_text = "Import cancelled; the project's masks are unchanged."

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.summary: ImportSummary | None = None
        self.setWindowTitle("Import masks")
        self.png_radio = QRadioButton("PNG mask folder ({split}/<class>/<image stem>.png)", checked=True)
        self.coco_radio = QRadioButton("COCO JSON with RLE masks")
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("Mask folder or COCO JSON file")
        self.source_button = QPushButton("Browse\u2026")
        self.source_button.clicked.connect(self._browse)
        self.overwrite_check = QCheckBox("Replace masks that samples already have (otherwise they are skipped)")
        formats = QVBoxLayout()
        formats.addWidget(self.png_radio)
        formats.addWidget(self.coco_radio)
        self.form.addRow("Format", formats)
        self.form.addRow("From", _path_row(self.source_edit, self.source_button))
        self.form.addRow("", self.overwrite_check)
        self.form.addRow("", QLabel("Every entry is checked first: any problem rejects the whole import "
                                    "and nothing changes.", wordWrap=True))
        if project.readonly:
            self._show_status("The project is open read-only: masks cannot be imported.", error=True)
            self.run_button.setEnabled(False)

    def format(self) -> str:
        return "coco" if self.coco_radio.isChecked() else "png"

    def _browse(self) -> None:
        start = self.source_edit.text() or str(self.project.root.parent)
        if self.format() == "coco":
            path, _ = QFileDialog.getOpenFileName(self, "COCO JSON file", start, "JSON (*.json);;All files (*)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Mask folder", start)
        if path:
            self.source_edit.setText(path)

    def _update_enabled(self) -> None:
        self.run_button.setEnabled(not self.project.readonly and not self.running)

    def run(self) -> None:
        source = self.source_edit.text().strip()
        if not source:
            self._show_status("Choose a mask folder or a COCO JSON file.", error=True)
            return
        fmt, overwrite = self.format(), self.overwrite_check.isChecked()
        summary = self._execute(lambda progress: import_masks(self.project, fmt, source, overwrite=overwrite,
                                                              progress=progress))
        if summary is not None:
            self.summary = summary
            self._show_status(summary.text())
            self.accept()


def export_interactively(parent: QWidget | None, project: Project, version_id: int | None = None
                         ) -> ExportSummary | None:
    """File > Export masks: the dialog, then a summary box. The summary, or None when backed out of."""
    dialog = ExportDialog(project, parent, version_id)
    try:
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.summary is None:
            return None
        QMessageBox.information(parent, "Export finished", dialog.summary.text())
        return dialog.summary
    finally:
        dialog.deleteLater()


def import_interactively(parent: QWidget | None, project: Project) -> bool:
    """File > Import masks: the dialog, then a summary box. True when masks changed (reload what is shown)."""
    dialog = ImportDialog(project, parent)
    try:
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.summary is None:
            return False
        QMessageBox.information(parent, "Import finished", dialog.summary.text())
        return dialog.summary.changed
    finally:
        dialog.deleteLater()
