"""The result of a probe run: one row per (subject, stage), judged ok or not, as the report lists them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ProbeRow:
    subject: str  # the hostile file, the damage, the situation
    item: str  # the item number(s) it probes
    stage: str  # the command or operation
    status: str  # handled, refused, found problems, ... (step_runner.classify)
    detail: str
    ok: bool
    seconds: float = 0.0


@dataclass
class ProbeSummary:
    name: str
    rows: list[ProbeRow] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # subject -> why it was not run
    seconds: float = 0.0

    @property
    def failed(self) -> list[ProbeRow]:
        return [r for r in self.rows if not r.ok]
