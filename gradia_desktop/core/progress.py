"""Progress reporting shared by every long task: a callable taking (stage, done, total).

Long tasks also take a ``cancelled`` callable, asked regularly (per image, per batch); once it
says True the task raises ``Cancelled``.
"""

from __future__ import annotations

from typing import Callable, Optional

from ..errors import Cancelled

Progress = Optional[Callable[[str, int, int], None]]
CancelCheck = Optional[Callable[[], bool]]


def report(progress: Progress, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def stop_if_cancelled(cancelled: CancelCheck, what: str) -> None:
    """Raise ``Cancelled`` ("<what> cancelled") when ``cancelled`` says so."""
    if cancelled is not None and cancelled():
        raise Cancelled(f"{what} cancelled")
