"""Progress reporting shared by every long task: a callable taking (stage, done, total)."""

from __future__ import annotations

from typing import Callable, Optional

Progress = Optional[Callable[[str, int, int], None]]


def report(progress: Progress, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)
