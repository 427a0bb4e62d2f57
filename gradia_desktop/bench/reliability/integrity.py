"""The integrity check after a kill: ``core.project_check.check_project`` before and after a plain reopen.

A kill may leave things that the next ``Project.open`` reconciles (a temp file, a run still marked
running); those are reported as repaired by the reopen. What must hold is that after the reopen the
check finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...errors import GradiaError

CHECK_MODULE = "gradia_desktop.core.project_check"


@dataclass
class Integrity:
    available: bool
    before_reopen: list[str] = field(default_factory=list)  # problems a plain reopen is expected to repair
    after_reopen: list[str] = field(default_factory=list)  # problems left: a failure
    error: str | None = None  # the check itself failed


def check_available() -> bool:
    try:
        __import__(CHECK_MODULE)
    except ImportError:
        return False
    return True


def run_check(root: Path) -> list[str]:
    """The check's problems (GradiaError from the check counts as one problem)."""
    from ...core.project_check import check_project  # noqa: PLC0415 - may not exist yet: see check_available

    try:
        report = check_project(root)
    except GradiaError as exc:
        return [f"check_project refused: {exc}"]
    except Exception as exc:  # noqa: BLE001 - a crash of the check is a finding, not the harness's end
        return [f"check_project raised {type(exc).__name__}: {exc}"]
    return [] if report.ok else list(report.problems) or ["check_project: not ok, no problem listed"]


def check_around_reopen(root: Path, reopen) -> Integrity:
    """Check, call ``reopen()`` (open, read back, close), check again."""
    if not check_available():
        reopen()
        return Integrity(False, error=f"{CHECK_MODULE} is missing: integrity not checked")
    before = run_check(root)
    reopen()
    return Integrity(True, before, run_check(root))
