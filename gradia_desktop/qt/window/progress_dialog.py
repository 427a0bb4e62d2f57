"""The demo project, created behind the shared progress dialog (qt/task_progress.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from ..task_progress import run_with_progress


def ensure_demo_project(parent: QWidget | None = None, project: Path | None = None) -> Path:
    """The demo project folder (the user's, or ``project``), created the first time behind a progress
    dialog (a few seconds); its baseline is then trained in the background by the window's baseline banner."""
    from ...core.paths import ensure_demo_project as create_demo

    return run_with_progress(parent, "Preparing the demo project", lambda progress: create_demo(progress, project))
