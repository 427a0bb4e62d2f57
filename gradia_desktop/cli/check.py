"""`gradia check`: is the project whole, and with --repair, make it so where that is safe (core.project_check).

Exit status 0 when nothing was found, 1 when problems were found or repaired, 2 on errors.
"""

from __future__ import annotations

from pathlib import Path

from .options import add_output_flags

PROBLEMS_FOUND = 1


def add_check(sub) -> None:
    p = sub.add_parser("check", help="check a project's database, masks and runs; --repair fixes what is safe",
                       description="Check the database's integrity, masks against their rows (missing, "
                                   "orphaned and temp files, pixel counts), runs left 'running' by a process "
                                   "that ended, leftover model folders, and stored JSON and heatmaps. Exit "
                                   "status: 0 clean, 1 problems found or repaired, 2 errors.")
    p.add_argument("project", type=Path)
    p.add_argument("--repair", action="store_true",
                   help="fix what can be fixed without losing data (never deletes a mask file a row names, "
                        "never writes to a database that fails the integrity check)")
    add_output_flags(p)
    p.set_defaults(handler=run_check)


def run_check(args, progress):
    from ..core.project_check import check_project

    report = check_project(args.project, repair=args.repair, progress=progress)
    result, text = report.to_dict(), _text(report, args.repair)
    return result, text, 0 if report.ok and not report.repaired else PROBLEMS_FOUND


def _text(report, repairing: bool) -> str:
    if report.ok and not report.repaired:
        return f"{report.project}: no problems found"
    n = len(report.problems)
    head = f"{n} problem{'' if n == 1 else 's'}"
    if repairing:
        head = f"repaired {len(report.repaired)}, {head} left"
    else:
        head += " found (gradia check --repair fixes what is safe to fix)"
    return "\n".join([f"{report.project}: {head}", *(f"  problem: {p}" for p in report.problems),
                      *(f"  repaired: {r}" for r in report.repaired)])
