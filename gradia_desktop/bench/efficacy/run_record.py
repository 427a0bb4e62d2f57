"""A record of the suite's finished (cell, seed) runs, so that a long suite can stop and go on.

The full suite takes hours on a small machine. Each finished (cell, seed) pair is appended to a JSON
Lines file as one line, flushed to disk before the next pair starts. Running the same command again
reuses every recorded pair that was run with the same settings (data sizes, epochs, recipes) and
runs only the rest. A line cut short by a crash is ignored and that pair runs again. A file that is
not such a record is refused, never overwritten.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from ...errors import GradiaError

FORMAT = "gradia-efficacy-runs/1"


def task_key(cell_name: str, seed: int, settings: dict) -> str:
    return json.dumps({"cell": cell_name, "seed": seed, **settings}, sort_keys=True)


class RunRecord:
    def __init__(self, path: Path):
        self.path = path
        self.done: dict[str, list[dict]] = {}
        if path.exists():
            self._read()

    def _read(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise GradiaError(f"{self.path}: cannot read the suite's run record ({exc})") from None
        if lines and _header(lines[0]) != FORMAT:
            raise GradiaError(f"{self.path}: not a run record of the efficacy suite (first line is not "
                              f"{{\"format\": \"{FORMAT}\"}}); move it away or pick another --out")
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                self.done[entry["key"]] = entry["rows"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut short by a crash: that pair runs again

    def add(self, key: str, rows: list) -> None:
        """Append one finished pair and flush it to disk."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        text = json.dumps({"format": FORMAT}) + "\n" if fresh else ""
        if not fresh and not self.path.read_bytes().endswith(b"\n"):
            text += "\n"  # after a line cut short: start a new one
        text += json.dumps({"key": key, "rows": [dataclasses.asdict(r) for r in rows]}) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self.done[key] = [dataclasses.asdict(r) for r in rows]


def _header(line: str) -> str | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value.get("format") if isinstance(value, dict) else None
