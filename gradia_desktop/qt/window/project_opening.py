"""Opening a project folder from the GUI. A project that another process holds (its lock) is
offered read-only: "<project> is in use by PID … on HOST. Open it read-only?"."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox, QWidget

from ...core.project_lock import ProjectInUse
from ...core.store import Project
from ...errors import Cancelled

APP_TITLE = "GRADIA Desktop"


def in_use_question(folder: str | os.PathLike, exc: ProjectInUse) -> str:
    return f"{folder} is in use by PID {exc.pid or '?'} on {exc.host or 'another computer'}. Open it read-only?"


def open_project(parent: QWidget | None, folder: str | os.PathLike, ask: bool = True) -> Project:
    """``Project.open(folder)``; when another process holds it, ask whether to open it read-only
    (``ask`` False: open it read-only without asking, e.g. for a screenshot). Raises GradiaError
    (one line) when it cannot be opened, Cancelled when the user declines read-only."""
    try:
        return Project.open(folder)
    except ProjectInUse as exc:
        if ask:
            answer = QMessageBox.question(parent, APP_TITLE, in_use_question(folder, exc),
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.Yes)
            if answer != QMessageBox.StandardButton.Yes:
                raise Cancelled(str(exc)) from None
        return Project.open(folder, readonly=True)
