"""New project from images: one dialog that reads the images folder first and shows what it found
(layout, classes, images per split and class, skipped entries, masks matched) before anything is made.

The folder is listed in a worker thread by core.dataset_scan.scan_dataset, the function `gradia init`
uses; nothing is decoded until Create, which runs core.project_init.init_project behind the usual
progress dialog. Bad input shows inline, in one line naming the folder or file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

from ...core.dataset_scan import CLASS_FOLDERS, SPLIT_FOLDERS, DatasetScan, detect_layout, scan_dataset
from ...core.project_init import InitResult, check_project_target, init_project
from ...core.records import SPLITS
from ...core.split import DEFAULT_FRACTIONS, parse_fractions
from ...errors import Cancelled, GradiaError
from ..task_progress import run_with_progress

RESCAN_DELAY_MS = 300  # after the last keystroke in the split or seed fields
LAYOUT_TEXT = {CLASS_FOLDERS: "Class folders (IMAGES/<class>/<file>): split into train, val and test below",
               SPLIT_FOLDERS: "Split folders (IMAGES/{train,val,test}/<class>/<file>)"}


class _ScanSignals(QObject):
    finished = Signal(int, str, object, str)  # request number, layout ('' unknown), DatasetScan or None, error


class _ScanJob(QRunnable):
    """List the folders off the GUI thread; the result comes back as a queued signal."""

    def __init__(self, signals: _ScanSignals, request: int, images: Path, masks: Path | None,
                 split: tuple[float, float, float], seed: int):
        super().__init__()
        self.signals, self.request = signals, request
        self.images, self.masks, self.split, self.seed = images, masks, split, seed

    def run(self) -> None:
        layout, scan, error = "", None, ""
        try:
            layout = detect_layout(self.images)
            scan = scan_dataset(self.images, self.masks, self.split if layout == CLASS_FOLDERS else None, self.seed)
        except GradiaError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"{exc.filename or self.images}: cannot read ({exc.strerror or exc})"
        self.signals.finished.emit(self.request, layout, scan, error)


def _free_name(folder: Path, stem: str) -> Path:
    """``folder/stem``, or ``stem-2``, ``stem-3``... : the first that is missing or an empty folder."""
    for n in range(1, 1000):
        path = folder / (stem if n == 1 else f"{stem}-{n}")
        if not path.exists() or (path.is_dir() and not any(path.iterdir())):
            return path
    return folder / stem


class NewProjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, start: str = ""):
        super().__init__(parent)
        self.setWindowTitle("New project from images")
        self.setMinimumWidth(620)
        self.start = start
        self.scan: DatasetScan | None = None
        self.created: InitResult | None = None
        self._request = 0
        self._layout = ""
        self._error = ""  # why the folders as given make no project (shown inline)
        self._listed = ("", "")  # the images and masks folders of the latest scan
        self._masks_chosen = False  # the user picked or cleared the masks folder: no more suggestions
        self._target_chosen = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _ScanSignals(self)
        self._signals.finished.connect(self._scan_finished, Qt.ConnectionType.QueuedConnection)
        self._rescan_timer = QTimer(self, singleShot=True, interval=RESCAN_DELAY_MS)
        self._rescan_timer.timeout.connect(self.rescan)
        self._build()

    # ---- widgets ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self._form = form = QFormLayout()
        self.images_edit = self._folder_row(form, "Images folder:", self._browse_images)
        self.images_edit.editingFinished.connect(self._images_edited)
        self.layout_label = QLabel("Choose the folder that holds your images: IMAGES/<class>/<file>, or "
                                   "IMAGES/{train,val,test}/<class>/<file>.")
        self.layout_label.setWordWrap(True)
        form.addRow("", self.layout_label)
        self.split_edit = QLineEdit(",".join(f"{f:g}" for f in DEFAULT_FRACTIONS))
        self.split_edit.setToolTip("train,val,test fractions, summing to 1; each class is split on its own")
        self.seed_spin = QSpinBox(maximum=2**31 - 1)
        self.seed_spin.setToolTip("the same seed and files always give the same split")
        self.split_row = QWidget()
        row = QHBoxLayout(self.split_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.split_edit, 1)
        row.addWidget(QLabel("seed:"))
        row.addWidget(self.seed_spin)
        form.addRow("Split (train,val,test):", self.split_row)
        self.split_row.setVisible(False)
        form.labelForField(self.split_row).setVisible(False)
        self.split_edit.textChanged.connect(self._split_edited)
        self.seed_spin.valueChanged.connect(self._split_edited)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels([*SPLITS, "total"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(120)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Image files found; they are decoded when the project is made, and any that "
                              "cannot be read are left out then, and named.")
        form.addRow("Found:", self.table)
        self.skipped_label = QLabel()
        self.skipped_toggle = QToolButton(text="Show", checkable=True)
        self.skipped_list = QPlainTextEdit(readOnly=True)
        self.skipped_list.setVisible(False)
        self.skipped_toggle.toggled.connect(self._toggle_skipped)
        skipped_row = QHBoxLayout()
        skipped_row.addWidget(self.skipped_label, 1)
        skipped_row.addWidget(self.skipped_toggle)
        form.addRow("Skipped:", skipped_row)
        form.addRow("", self.skipped_list)

        self.masks_edit = self._folder_row(form, "Masks folder (optional):", self._browse_masks, clear=True)
        self.masks_edit.editingFinished.connect(self._masks_edited)
        self.masks_label = QLabel()
        form.addRow("", self.masks_label)
        self.target_edit = self._folder_row(form, "New project folder:", self._browse_target)
        self.target_edit.textEdited.connect(self._target_edited)
        self.error_label = QLabel()
        self.error_label.setObjectName("new_project_error")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b; font-weight: bold")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setEnabled(False)
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addLayout(form)
        outer.addWidget(self.error_label)
        outer.addWidget(self.buttons)
        self._show_scan(None)

    def _folder_row(self, form: QFormLayout, label: str, browse, clear: bool = False) -> QLineEdit:
        edit = QLineEdit()
        button = QPushButton("Browse\u2026")
        button.clicked.connect(browse)
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(button)
        if clear:
            clear_button = QPushButton("Clear")
            clear_button.clicked.connect(lambda: self.set_masks_folder(None))
            row.addWidget(clear_button)
        form.addRow(label, row)
        return edit

    # ---- choosing folders -------------------------------------------------------------------------
    def _browse_images(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Images folder", self.images_edit.text() or self.start)
        if folder:
            self.set_images_folder(folder)

    def _browse_masks(self) -> None:
        start = self.masks_edit.text() or str(Path(self.images_edit.text() or self.start).parent)
        folder = QFileDialog.getExistingDirectory(self, "Masks folder", start)
        if folder:
            self.set_masks_folder(folder)

    def _browse_target(self) -> None:
        target, _ = QFileDialog.getSaveFileName(self, "New project folder", self.target_edit.text() or self.start)
        if target:
            self._target_chosen = True
            self.target_edit.setText(target)
            self._update_create()

    def _images_edited(self) -> None:
        text = self.images_edit.text().strip()
        if text and text != self._listed[0]:
            self.set_images_folder(text)

    def _masks_edited(self) -> None:
        if self.masks_edit.text().strip() != self._listed[1]:
            self.set_masks_folder(self.masks_edit.text().strip() or None)

    def _split_edited(self) -> None:
        self._rescan_timer.start()
        self.create_button.setEnabled(False)  # until the split as typed has been listed

    def _target_edited(self) -> None:
        self._target_chosen = True
        self._update_create()

    def set_images_folder(self, folder: str | Path) -> None:
        """Take ``folder`` as the images folder: suggest a masks folder and a project folder beside it
        (unless the user chose them), and list it."""
        images = Path(folder).expanduser()
        self.images_edit.setText(str(images))
        beside = images.parent / "masks"
        if not self._masks_chosen:
            self.masks_edit.setText(str(beside) if beside.is_dir() and beside != images else "")
        if not self._target_chosen:
            self.target_edit.setText(str(_free_name(images.parent, "project")))
        self.rescan()

    def set_masks_folder(self, folder: str | Path | None) -> None:
        self._masks_chosen = True
        self.masks_edit.setText(str(Path(folder).expanduser()) if folder else "")
        self.rescan()

    # ---- the scan ---------------------------------------------------------------------------------
    def _inputs(self) -> tuple[Path, Path | None, tuple[float, float, float], int]:
        """The folders, split and seed as typed; a GradiaError for a split that does not parse."""
        masks = self.masks_edit.text().strip()
        split = DEFAULT_FRACTIONS if self._layout == SPLIT_FOLDERS else parse_fractions(self.split_edit.text())
        return Path(self.images_edit.text().strip()), Path(masks) if masks else None, split, self.seed_spin.value()

    def rescan(self) -> None:
        """List the folders again (in the worker thread); an older scan still running is ignored."""
        self._rescan_timer.stop()
        self._request += 1
        self.scan = None
        if not self.images_edit.text().strip():
            return self._show_scan(None)
        try:
            images, masks, split, seed = self._inputs()
        except GradiaError as exc:
            return self._show_scan(None, str(exc))
        self._listed = (self.images_edit.text().strip(), self.masks_edit.text().strip())
        self._show_scan(None, status="Reading the folder\u2026")
        self._pool.start(_ScanJob(self._signals, self._request, images, masks, split, seed))

    def scanning(self) -> bool:
        """A scan is under way or about to start (the split or seed was just edited)."""
        return self._pool.activeThreadCount() > 0 or self._rescan_timer.isActive()

    def _scan_finished(self, request: int, layout: str, scan: DatasetScan | None, error: str) -> None:
        if request != self._request:
            return  # the inputs changed since: a newer scan is on its way
        changed = bool(layout) and layout != self._layout
        if changed:
            self._layout = layout
            flat = layout == CLASS_FOLDERS
            self.split_row.setVisible(flat)
            self._form.labelForField(self.split_row).setVisible(flat)
            if flat and scan is not None and self._typed_split() not in (None, scan.split.fractions):
                return self.rescan()  # listed with the default split while the field, now shown, says another
        self.scan = scan
        self._show_scan(scan, error)

    def _typed_split(self) -> tuple[float, float, float] | None:
        try:
            return parse_fractions(self.split_edit.text())
        except GradiaError:
            return None

    # ---- showing what was found -------------------------------------------------------------------
    def _show_scan(self, scan: DatasetScan | None, error: str = "", status: str = "") -> None:
        if scan is not None:
            self.layout_label.setText(LAYOUT_TEXT[scan.layout])
        elif status or error:
            self.layout_label.setText(status or "Nothing found that a project can be made from.")
        self._fill_table(scan)
        problems = scan.problems if scan else []
        self.skipped_label.setText(f"{len(problems)} entr{'y' if len(problems) == 1 else 'ies'} not images or out "
                                   "of place, left out" if problems else "nothing")
        self.skipped_list.setPlainText("\n".join(str(p) for p in problems))
        self.skipped_toggle.setEnabled(bool(problems))
        if not problems:
            self.skipped_toggle.setChecked(False)
        self.masks_label.setText(self._masks_text(scan))
        self._error = error
        self._update_create()

    def _fill_table(self, scan: DatasetScan | None) -> None:
        self.table.setRowCount(0)
        if scan is None:
            return
        counts = scan.counts()
        self.table.setRowCount(len(scan.classes) + 1)
        self.table.setVerticalHeaderLabels([*scan.classes, "all"])
        for row, name in enumerate([*scan.classes, None]):
            values = [sum(counts[s].values()) if name is None else counts[s][name] for s in SPLITS]
            for col, value in enumerate([*values, sum(values)]):
                item = QTableWidgetItem(str(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)

    def _masks_text(self, scan: DatasetScan | None) -> str:
        if scan is None:
            return ""
        if scan.masks_dir is None:
            return "No masks folder: masks can be painted in the app."
        skipped = f", {len(scan.masks_skipped)} skipped (listed above)" if scan.masks_skipped else ""
        return f"{len(scan.masks)} of {len(scan.images)} images have a mask{skipped}."

    def _toggle_skipped(self, shown: bool) -> None:
        self.skipped_list.setVisible(shown)
        self.skipped_toggle.setText("Hide" if shown else "Show")

    def _target_problem(self) -> str:
        text = self.target_edit.text().strip()
        if not text:
            return "Choose the new project folder."
        try:
            check_project_target(Path(text).expanduser())
        except GradiaError as exc:
            return str(exc)
        return ""

    def _update_create(self) -> None:
        """Show what stands in the way (the folders, then the project folder); Create only when nothing does."""
        problem = self._error or (self._target_problem() if self.scan is not None else "")
        self.error_label.setText(problem)
        self.error_label.setVisible(bool(problem))
        self.create_button.setEnabled(self.scan is not None and not problem and not self._rescan_timer.isActive())

    # ---- creating ---------------------------------------------------------------------------------
    def create(self) -> None:
        """Create the project behind a progress dialog; on success the dialog closes, accepted."""
        scan = self.scan
        if scan is None or not self.create_button.isEnabled():
            return
        target = Path(self.target_edit.text().strip()).expanduser()
        split, seed = (scan.split.fractions, scan.split.seed) if scan.split is not None else (None, 0)
        try:  # the folders, split and seed shown: init_project lists them again and decodes every image
            self.created = run_with_progress(self, "Creating the project", lambda progress: init_project(
                target, scan.images_dir, scan.masks_dir, progress, split=split, seed=seed))
        except Cancelled:
            return
        except GradiaError as exc:  # a mask that cannot be read or does not fit, the disk, ...
            self.error_label.setText(str(exc))
            self.error_label.setVisible(True)
            return
        self.accept()

    def done(self, result: int) -> None:
        self._request += 1  # a scan still running is no longer wanted
        self._pool.waitForDone()
        super().done(result)
