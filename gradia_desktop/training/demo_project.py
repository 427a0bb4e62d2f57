"""The built-in demo project, ready to explore: created once, with a trained baseline."""

from __future__ import annotations

from pathlib import Path

from ..core.paths import ensure_demo_project
from ..core.progress import Progress
from ..core.project_lock import ProjectInUse
from ..core.store import Project
from .config import TrainConfig
from .trainer import Callbacks, train

DEMO_BASELINE_EPOCHS = 6


class _Forward(Callbacks):
    def __init__(self, progress: Progress):
        self._progress = progress

    def progress(self, stage: str, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(stage, done, total)


def ensure_demo_with_baseline(progress: Progress = None) -> Path:
    """The demo project folder; the first time also trains its baseline (about 30 s on a CPU) and
    opens it on a training image that has an expert mask, so heatmap and mask show at once."""
    root = ensure_demo_project(progress)
    try:
        project = Project.open(root)
    except ProjectInUse:  # another window has it (and trains its baseline if needed): opening is theirs to offer
        return root
    with project:
        if project.latest_version() is None and not project.readonly:
            train(project, TrainConfig(mode="baseline", epochs=DEMO_BASELINE_EPOCHS), _Forward(progress))
            masked = project.samples(split="train", has_mask=True)
            if masked:
                project.set_setting("last_sample", masked[0].id)
    return root
