"""A progress line on stderr: redrawn in place on a terminal, a few plain lines per stage otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._stage = None
        self._last = 0.0
        self._last_pct = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        pct = int(100 * done / total) if total else 100
        if stage != self._stage:
            self._end_line()
            self._stage, self._last_pct = stage, -1
        finished = done >= total
        if self.tty:
            if finished or now - self._last > 0.1:
                self.stream.write(f"\r{stage}: {done}/{total} ({pct}%)\x1b[K")
                self._last = now
        elif finished or pct // 25 > self._last_pct // 25 or now - self._last > 10:
            self.stream.write(f"{stage}: {done}/{total} ({pct}%)\n")
            self._last, self._last_pct = now, pct
        if finished:
            self._end_line()
            self._stage = None
        self.stream.flush()

    def message(self, text: str) -> None:
        """An informational line (per-epoch figures, notes); --quiet silences it."""
        if not self.quiet:
            self.warn(text)

    def warn(self, text: str) -> None:
        """A line the user must see whatever the verbosity: a warning, a skipped input, an error."""
        self._end_line()
        self.stream.write(text + "\n")
        self.stream.flush()

    def _end_line(self) -> None:
        if self.tty and self._stage is not None:
            self.stream.write("\n")
        self._stage = None
