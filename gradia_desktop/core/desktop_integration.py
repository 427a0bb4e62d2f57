"""Desktop integration on Linux (freedesktop.org): the launcher, the icon in every size, the AppStream
metainfo and the project file type, installed under a data folder so that menus, software centres
and file managers know the app.

Below DATA ($XDG_DATA_HOME or ~/.local/share for the user; /usr/local/share for everyone):

- applications/org.gradia.GradiaDesktop.desktop, its Exec line the launcher of this very copy (a
  virtual environment's gradia-desktop, or the bundle's executable), so it works off the PATH too;
- metainfo/org.gradia.GradiaDesktop.metainfo.xml (what software centres show);
- mime/packages/org.gradia.GradiaDesktop.xml: application/x-gradia-project, a project's
  project.sqlite, which the file manager then opens with the app (it opens the folder around it);
- icons/hicolor/scalable/apps/org.gradia.GradiaDesktop.svg and icons/hicolor/NxN/apps/....png.

The caches are refreshed afterwards where their tools exist (update-desktop-database,
update-mime-database, gtk-update-icon-cache); a missing tool is reported, not an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GradiaError
from .atomic import atomic_write_bytes, atomic_write_text

APP_ID = "org.gradia.GradiaDesktop"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
DESKTOP_DIR = RESOURCES / "desktop"
ICON_DIR = RESOURCES / "icons" / "app"
SYSTEM_DATA_DIR = Path("/usr/local/share")
LAUNCHER = "gradia-desktop"


def desktop_file() -> Path:
    return DESKTOP_DIR / f"{APP_ID}.desktop"


def metainfo_file() -> Path:
    return DESKTOP_DIR / f"{APP_ID}.metainfo.xml"


def mime_file() -> Path:
    return DESKTOP_DIR / f"{APP_ID}.xml"


def icon_svg() -> Path:
    return ICON_DIR / f"{APP_ID}.svg"


def icon_png(size: int) -> Path:
    return ICON_DIR / f"{APP_ID}-{size}.png"


def shipped_files() -> dict[str, Path]:
    """Where each shipped file goes below the data folder -> the file in this installation."""
    files = {f"applications/{APP_ID}.desktop": desktop_file(),
             f"metainfo/{APP_ID}.metainfo.xml": metainfo_file(),
             f"mime/packages/{APP_ID}.xml": mime_file(),
             f"icons/hicolor/scalable/apps/{APP_ID}.svg": icon_svg()}
    for size in ICON_SIZES:
        files[f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png"] = icon_png(size)
    return files


def default_data_dir(system: bool = False) -> Path:
    if system:
        return SYSTEM_DATA_DIR
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def this_launcher() -> str:
    """The command that starts this copy of the app: the bundle's executable when frozen, else the
    gradia-desktop beside this Python (a virtual environment's), else the one on the PATH."""
    if getattr(sys, "frozen", False):
        return str(Path(sys.executable).resolve())
    beside = Path(sys.executable).parent / LAUNCHER
    if beside.is_file():
        return str(beside)
    found = shutil.which(LAUNCHER)
    if found is None:
        raise GradiaError(f"{LAUNCHER}: not found beside {sys.executable} nor on the PATH; install the package first")
    return found


def _exec_quoted(path: str) -> str:
    """``path`` as one argument of a .desktop Exec line (the specification's quoting)."""
    if not any(c in path for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return path
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'.replace("%", "%%")


def desktop_entry(launcher: str) -> str:
    """The shipped .desktop file with Exec and TryExec pointing at ``launcher``."""
    lines = []
    for line in desktop_file().read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={_exec_quoted(launcher)} %f"
        elif line.startswith("TryExec="):
            line = f"TryExec={launcher}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass
class InstallReport:
    data_dir: Path
    written: list[Path] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)  # the cache tools that ran
    missing_tools: list[str] = field(default_factory=list)
    failed_tools: list[str] = field(default_factory=list)  # "tool: its first line of output"


def _check_sources() -> None:
    for source in shipped_files().values():
        if not source.is_file():
            raise GradiaError(f"{source}: missing from this installation (reinstall GRADIA Desktop)")


def install(data_dir: Path | None = None, launcher: str | None = None, refresh: bool = True) -> InstallReport:
    """Install every shipped file below ``data_dir`` (each written atomically), then refresh the caches."""
    _check_sources()
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    launcher = launcher or this_launcher()
    report = InstallReport(data_dir)
    for relative, source in shipped_files().items():
        target = data_dir / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if source == desktop_file():
                atomic_write_text(target, desktop_entry(launcher))
            else:
                atomic_write_bytes(target, source.read_bytes())
        except OSError as e:
            raise GradiaError(f"{target}: cannot write ({e.strerror or e})") from None
        report.written.append(target)
    if refresh:
        _refresh_caches(data_dir, report)
    return report


def uninstall(data_dir: Path | None = None, refresh: bool = True) -> InstallReport:
    """Remove what ``install`` put below ``data_dir`` (files that are not there are skipped)."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    report = InstallReport(data_dir)
    for relative in shipped_files():
        target = data_dir / relative
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise GradiaError(f"{target}: cannot remove ({e.strerror or e})") from None
        report.written.append(target)
    if refresh:
        _refresh_caches(data_dir, report)
    return report


def _refresh_caches(data_dir: Path, report: InstallReport) -> None:
    commands = [("update-desktop-database", ["-q", str(data_dir / "applications")]),
                ("update-mime-database", [str(data_dir / "mime")]),
                ("gtk-update-icon-cache", ["-q", "-t", "-f", str(data_dir / "icons" / "hicolor")])]
    for tool, args in commands:
        path = shutil.which(tool)
        if path is None:
            report.missing_tools.append(tool)
            continue
        done = subprocess.run([path, *args], capture_output=True, text=True, timeout=120)
        if done.returncode == 0:
            report.refreshed.append(tool)
        else:
            output = (done.stderr or done.stdout).strip().splitlines()
            report.failed_tools.append(f"{tool}: {output[0] if output else f'exit status {done.returncode}'}")
