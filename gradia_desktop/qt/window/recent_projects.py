"""The recently opened projects, kept in QSettings (most recent first)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

KEY = "recent_projects"
LIMIT = 8


class RecentProjects:
    def paths(self) -> list[str]:
        value = QSettings().value(KEY, [])
        paths = [value] if isinstance(value, str) else list(value or [])
        return [p for p in paths if Path(p).is_dir()]

    def add(self, root: Path) -> None:
        entry = str(root)
        QSettings().setValue(KEY, ([entry] + [p for p in self.paths() if p != entry])[:LIMIT])

    def start_folder(self) -> str:
        paths = self.paths()
        return str(Path(paths[0]).parent) if paths else str(Path.home())
