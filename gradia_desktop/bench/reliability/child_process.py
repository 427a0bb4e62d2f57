"""How the harness starts its child processes: this interpreter, the package importable, headless."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import gradia_desktop

PACKAGE_PARENT = str(Path(gradia_desktop.__file__).resolve().parents[1])


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment, with the package importable and no Qt display needed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def module_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *map(str, args)]
