"""Creating a project from an images folder, and settling a mask whose size differs from its image."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ...core.project_init import create_project
from ...core.records import Sample
from ...core.store import Project
from .progress_dialog import run_with_progress


def create_project_interactively(parent: QWidget, start: str) -> Project | None:
    """Ask for IMAGES/{train,val,test}/<class>/, optional masks and the new project folder; create it.

    Raises GradiaError (bad input, one line) or Cancelled; returns None when the user backs out.
    """
    images = QFileDialog.getExistingDirectory(parent, "Images folder (with train/, val/, test/ inside)", start)
    if not images:
        return None
    masks = None
    beside = Path(images).parent / "masks"
    if QMessageBox.question(parent, "Masks", "Import existing attention masks too?\n"
                            "(a folder MASKS/{train,val,test}/<class>/<image stem>.png, nonzero = attention)"
                            ) == QMessageBox.StandardButton.Yes:
        masks = QFileDialog.getExistingDirectory(parent, "Masks folder", str(beside if beside.is_dir() else start))
        if not masks:
            return None
    target, _ = QFileDialog.getSaveFileName(parent, "New project folder", str(Path(images).parent / "project"))
    if not target:
        return None
    return run_with_progress(parent, "Creating the project",
                             lambda progress: create_project(target, images, masks or None, progress))


def ask_mask_size_choice(parent: QWidget, text: str) -> str:
    """'resize', 'discard' or 'leave', chosen by the user."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Mask size differs")
    box.setText(text)
    buttons = {box.addButton("Resize to the image", QMessageBox.ButtonRole.AcceptRole): "resize",
               box.addButton("Discard the mask", QMessageBox.ButtonRole.DestructiveRole): "discard",
               box.addButton("Leave it (hidden)", QMessageBox.ButtonRole.RejectRole): "leave"}
    box.exec()
    return buttons.get(box.clickedButton(), "leave")


def settle_mask_size(parent: QWidget, project: Project, sample: Sample, mask: np.ndarray,
                     shape: tuple[int, int]) -> np.ndarray | None:
    """A stored mask of the wrong size: resize it to the image, discard it, or leave it untouched (hidden)."""
    choice = ask_mask_size_choice(parent, f"{sample.path}: the mask is {mask.shape[1]}\u00d7{mask.shape[0]}, "
                                          f"the image {shape[1]}\u00d7{shape[0]}.")
    if choice == "resize":
        fitted = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        project.write_mask(sample, fitted)
        return fitted
    if choice == "discard":
        project.delete_mask(sample.id)
    return None
