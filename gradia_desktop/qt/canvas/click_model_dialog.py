"""Choosing the Segment-Anything-family ONNX pair that Click to mask uses, or going back to the
built-in colour-based one. Nothing is downloaded: the dialog says which two files to provide."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.learned_segmentation import explain_missing, onnxruntime_available
from ...errors import GradiaError
from .click_to_mask import ClickToMask

TITLE = "Learned click to mask"
ONNX_FILTER = "ONNX models (*.onnx);;All files (*)"


class ClickModelDialog(QDialog):
    """Two file fields (encoder, decoder); "Use these files" loads them and says in one line why not
    when they cannot be used; "Use the built-in click to mask" drops them."""

    def __init__(self, click_to_mask: ClickToMask, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.click_to_mask = click_to_mask
        files = click_to_mask.model_files()
        if files is None:
            about = explain_missing("this dialog")
        else:
            about = (f"Click to mask uses the model pair {files[0].name} + {files[1].name}: the image's embedding "
                     "is computed once per image in the background, then each click runs the decoder only. "
                     "Choose other files, or go back to the built-in colour-based click to mask.")
        self.about = QLabel(about)
        self.about.setWordWrap(True)
        self.about.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.encoder_edit, encoder_row = self._file_row(files[0] if files else None, "encoder")
        self.decoder_edit, decoder_row = self._file_row(files[1] if files else None, "decoder")
        form = QFormLayout()
        form.addRow("Image encoder:", encoder_row)
        form.addRow("Prompt decoder:", decoder_row)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c62828")
        self.problem.setVisible(not onnxruntime_available())
        if not onnxruntime_available():
            self.problem.setText("onnxruntime is not installed: pip install onnxruntime")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = buttons.addButton("Use these files", QDialogButtonBox.ButtonRole.AcceptRole)
        self.builtin_button = buttons.addButton("Use the built-in click to mask", QDialogButtonBox.ButtonRole.ResetRole)
        self.builtin_button.setEnabled(files is not None)
        self.use_button.setDefault(True)
        self.use_button.clicked.connect(self.use_files)
        self.builtin_button.clicked.connect(self.use_builtin)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.about)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.resize(640, self.sizeHint().height())

    def _file_row(self, path: Path | None, part: str) -> tuple[QLineEdit, QWidget]:
        edit = QLineEdit("" if path is None else str(path))
        edit.setPlaceholderText(f"the model's {part}, an .onnx file")
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(lambda: self._browse(edit, part))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(browse)
        return edit, row

    def _browse(self, edit: QLineEdit, part: str) -> None:
        start = edit.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, f"The model's {part}", start, ONNX_FILTER)
        if path:
            edit.setText(path)

    def use_files(self) -> bool:
        """Load the two files and use them (True); or say why not, and stay open (False)."""
        encoder, decoder = self.encoder_edit.text().strip(), self.decoder_edit.text().strip()
        if not encoder or not decoder:
            return self._show_problem("Choose both files: the image encoder and the prompt decoder")
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.click_to_mask.load_model(Path(encoder).expanduser(), Path(decoder).expanduser())
        except GradiaError as e:
            return self._show_problem(str(e))
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.accept()
        return True

    def use_builtin(self) -> None:
        self.click_to_mask.set_model_files(None, None)
        self.accept()

    def _show_problem(self, text: str) -> bool:
        self.problem.setText(text)
        self.problem.setVisible(True)
        return False
