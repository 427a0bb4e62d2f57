"""Per-user folders, and the built-in demo project that lives in one of them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .demo import generate_demo
from .progress import Progress
from .project_init import create_project
from .schema import DB_NAME

APP_NAME = "gradia-desktop"


def user_data_dir() -> Path:
    """$XDG_DATA_HOME/gradia-desktop (Linux), ~/Library/Application Support/... (macOS), %APPDATA%\\... (Windows)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME


def demo_project_dir() -> Path:
    return user_data_dir() / "demo" / "project"


def ensure_demo_project(progress: Progress = None, project: Path | None = None) -> Path:
    """Create the demo dataset and project once (seed 0); return the project folder (by default the
    user's demo; ``project``: another, its dataset beside it)."""
    project = Path(project) if project is not None else demo_project_dir()
    if (project / DB_NAME).is_file():
        return project
    data = project.parent / "dataset"
    if not (data / "images").is_dir():
        generate_demo(data, seed=0, progress=progress)
    with create_project(project, data / "images", data / "masks", progress=progress) as created:
        masked = created.samples(split="train", has_mask=True)
        if masked:  # open on an image with an expert mask: mask (and, once trained, heatmap) show at once
            created.set_setting("last_sample", masked[0].id)
    return project
