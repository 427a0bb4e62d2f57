"""The Training dock's "Download ImageNet weights" button: shown while the chosen architecture's file is
missing from torchvision's cache; downloads it (hash-checked, with a progress bar, cancellable)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from ...errors import Cancelled, GradiaError
from ...training.models import TINY
from ..task_progress import run_with_progress


class WeightsButton(QPushButton):
    fetched = Signal(str)  # where the file now is

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._arch: str | None = None
        self.clicked.connect(self._fetch)
        self.hide()

    def set_arch(self, arch: str) -> None:
        """Show the button for ``arch`` if it has ImageNet weights that are not downloaded yet."""
        self._arch = arch = arch.strip()
        found = None
        if arch and arch not in TINY:  # tiny has none: torchvision need not even be imported
            from ...training.weights_fetch import weights_file

            try:
                found = weights_file(arch)
            except GradiaError:
                found = None
        self.setVisible(found is not None and not found.present)
        if found is not None:
            self.setText(f"Download ImageNet weights for {arch}")
            self.setToolTip(f"From {found.url} into {found.path}, checked against its SHA-256; needs a "
                            "connection (or copy the file there yourself)")

    def _fetch(self) -> None:
        from ...training.weights_fetch import fetch_weights

        arch = self._arch
        try:
            found = run_with_progress(self.window(), f"ImageNet weights for {arch}",
                                      lambda progress: fetch_weights(arch, progress))
        except Cancelled:
            return
        except GradiaError as exc:
            QMessageBox.warning(self.window(), "ImageNet weights", str(exc))
            return
        self.set_arch(arch)
        self.fetched.emit(str(found.path))
