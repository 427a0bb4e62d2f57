"""Creating a project from an images folder, and settling a mask whose size differs from its image."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from ...core.mask_layers import MaskLayers
from ...core.records import Sample
from ...core.store import Project
from .new_project_dialog import NewProjectDialog

LISTED_LEFT_OUT = 20


def create_project_interactively(parent: QWidget, start: str) -> Project | None:
    """The New project dialog (new_project_dialog.py): the images folder is read and what it holds shown
    before anything is made. Returns the new project, opened, or None when the user backs out; images
    that could not be read and were left out are then named in a warning."""
    dialog = NewProjectDialog(parent, start)
    try:
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.created is None:
            return None
        created = dialog.created
    finally:
        dialog.deleteLater()
    if created.left_out:
        say_left_out(parent, created.left_out)
    return created.project


def say_left_out(parent: QWidget, left_out: list) -> None:
    """The images that could not be read when the project was made (the first 20 named)."""
    lines = [str(problem) for problem in left_out[:LISTED_LEFT_OUT]]
    if len(left_out) > LISTED_LEFT_OUT:
        lines.append(f"\u2026 and {len(left_out) - LISTED_LEFT_OUT} more")
    QMessageBox.warning(parent, "Some images were left out",
                        f"The project was made without {len(left_out)} entr{'y' if len(left_out) == 1 else 'ies'} "
                        "that could not be read:\n\n" + "\n".join(lines))


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


def settle_mask_size(parent: QWidget, project: Project, sample: Sample, layers: MaskLayers,
                     shape: tuple[int, int]) -> MaskLayers | None:
    """A stored mask of the wrong size: resize it (both layers) to the image, discard it, or leave it
    untouched (hidden)."""
    height, width = layers.shape
    choice = ask_mask_size_choice(parent, f"{sample.path}: the mask is {width}\u00d7{height}, "
                                          f"the image {shape[1]}\u00d7{shape[0]}.")
    if choice == "resize":
        look, avoid = (cv2.resize(layer.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0
                       for layer in (layers.look, layers.avoid))
        project.write_mask(sample, look, avoid=avoid)
        return MaskLayers.of(look, avoid)
    if choice == "discard":
        project.delete_mask(sample.id)
    return None
