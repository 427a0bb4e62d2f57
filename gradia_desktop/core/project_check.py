"""``gradia check``: is a project whole? Database integrity, masks against their rows, leftovers of
interrupted runs and writes, and stored JSON and heatmaps; with ``repair`` it fixes what can be fixed
without losing anything that still has a use.

Repair never deletes a mask file a row names, and never writes to a database that fails SQLite's
integrity check (that is only reported). It takes the project's lock, so it refuses a project that
another process has open for writing.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GradiaError
from . import project_db, project_lock
from .check_findings import Finding, database_findings, mask_findings, model_findings
from .progress import Progress
from .schema import DB_NAME


@dataclass
class CheckReport:
    project: str
    problems: list[str] = field(default_factory=list)  # what is wrong now (after repair: what is left)
    repaired: list[str] = field(default_factory=list)  # what repair did

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"project": self.project, "ok": self.ok, "problems": self.problems, "repaired": self.repaired}


def check_project(root: str | os.PathLike, repair: bool = False, progress: Progress = None) -> CheckReport:
    """Check the project folder ``root``; with ``repair``, fix what can be fixed safely (see the module
    docstring). Raises a one-line GradiaError when ``root`` is no project (or cannot be read), and
    ProjectInUse when repairing a project another process has open for writing."""
    root = Path(root).expanduser().resolve()
    db = root / DB_NAME
    if not root.is_dir():
        raise GradiaError(f"{root}: project folder not found")
    if not db.is_file():
        raise GradiaError(f"{root}: not a GRADIA project (no {DB_NAME})")
    if not repair:
        return _check(root, project_db.access_for(root, readonly=True), repair=False, progress=progress)
    if project_db.access_for(root, readonly=False) != project_db.RW:
        raise GradiaError(f"{root}: cannot repair, the project folder or its database is read-only")
    try:
        project_lock.acquire(root)
    except OSError as exc:
        raise GradiaError(f"{root}: cannot repair, {project_lock.LOCK_NAME} cannot be made "
                          f"({exc.strerror or exc})") from None
    try:
        return _check(root, project_db.RW, repair=True, progress=progress)
    finally:
        project_lock.release(root)


def _check(root: Path, access: str, repair: bool, progress: Progress) -> CheckReport:
    db = root / DB_NAME
    report = CheckReport(str(root))
    try:
        conn, version, meta = project_db.connect_checked(db, access, check="integrity_check")
    except project_db.DamagedDatabase as exc:
        report.problems.append(f"{DB_NAME}: damaged ({exc.what}); nothing was changed, nothing can be "
                               f"repaired here: restore {DB_NAME} from a backup")
        return report
    try:
        if repair:
            project_db.stand_in_for_missing_tables(conn, version)
        else:
            project_db.settle_reader(conn, access, version)
        # Leftovers only count when no process can be making them right now (ours included); while
        # repairing, this call holds the lock once itself.
        idle = project_lock.hold_count(root) == 1 if repair else project_lock.holder(root) is None
        findings = database_findings(conn, db, meta)
        findings += mask_findings(conn, root, idle, progress)
        findings += model_findings(conn, root, idle)
        _settle(findings, repair, report)
    except sqlite3.DatabaseError as exc:
        raise project_db.database_error(db, exc) from None
    finally:
        conn.close()
    return report


def _settle(findings: list[Finding], repair: bool, report: CheckReport) -> None:
    for finding in findings:
        if not (repair and finding.repair):
            report.problems.append(finding.problem)
            continue
        try:
            report.repaired.append(finding.repair())
        except (OSError, sqlite3.Error, GradiaError) as exc:
            report.problems.append(f"{finding.problem} (repair failed: {exc})")
