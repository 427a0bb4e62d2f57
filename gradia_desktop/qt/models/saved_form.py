"""The Training dock's form as saved between sessions: a TrainConfig as JSON, read back leniently."""

from __future__ import annotations

import json
from dataclasses import fields

from ...training.config import DEFAULT_BATCH, TrainConfig

FORM_VERSION = 2  # a saved form without it predates the batch that can be left open ("auto")


def saved_form(config: TrainConfig) -> str:
    return json.dumps({**config.to_dict(), "form": FORM_VERSION})


def restored_form(text: str) -> TrainConfig | None:
    """The config saved as ``text``; None when nothing usable was saved. Settings this version does
    not know are dropped (a form saved by a newer one still opens)."""
    try:
        data = json.loads(text or "{}")
        if not data:
            return None
        if data.get("form") is None and data.get("batch_size") == DEFAULT_BATCH:
            data["batch_size"] = None  # the field then always held a number: 32 was its default, not a choice
        known = {f.name for f in fields(TrainConfig)}
        config = TrainConfig(**{k: v for k, v in data.items() if k in known})
        config.weights = {k: (float(a), float(b)) for k, (a, b) in config.weights.items()}
    except (TypeError, ValueError, AttributeError):
        return None
    return config
