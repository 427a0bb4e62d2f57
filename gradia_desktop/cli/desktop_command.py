"""`gradia desktop install | uninstall`: the launcher, icons, AppStream metainfo and project file type in
the desktop's menus and file manager (core.desktop_integration)."""

from __future__ import annotations

from pathlib import Path

from .options import add_output_flags


def add_desktop(sub) -> None:
    p = sub.add_parser("desktop", help="add GRADIA Desktop to the desktop's menus and file manager, or remove it",
                       description="Install (or remove) the launcher, the icon in every size, the AppStream "
                                   "metainfo and the project file type (a project's project.sqlite opens "
                                   "with the app) under a data folder: yours by default ($XDG_DATA_HOME or "
                                   "~/.local/share), /usr/local/share with --system. The launcher runs this "
                                   "copy of gradia-desktop.")
    p.add_argument("action", choices=("install", "uninstall"))
    where = p.add_mutually_exclusive_group()
    where.add_argument("--system", action="store_true", help="for every user: /usr/local/share (needs root)")
    where.add_argument("--data-dir", type=Path, metavar="DIR", help="another data folder (e.g. a package's root)")
    add_output_flags(p)
    p.set_defaults(handler=run_desktop)


def run_desktop(args, progress):
    from ..core import desktop_integration as desktop

    data_dir = args.data_dir or desktop.default_data_dir(system=args.system)
    if args.action == "install":
        report = desktop.install(data_dir)
        done = f"installed GRADIA Desktop's launcher, icons, metainfo and project file type in {data_dir}"
    else:
        report = desktop.uninstall(data_dir)
        done = f"removed {len(report.written)} file(s) of GRADIA Desktop from {data_dir}"
    for tool in report.missing_tools:
        progress.warn(f"gradia desktop: {tool} is not installed: the desktop picks the change up at its next start")
    for failure in report.failed_tools:
        progress.warn(f"gradia desktop: {failure}")
    result = {"action": args.action, "data_dir": str(data_dir), "files": [str(p) for p in report.written],
              "refreshed": report.refreshed, "missing_tools": report.missing_tools,
              "failed_tools": report.failed_tools}
    return result, done
