"""An ``Expected`` (what a correct load shows) kept on disk between the step that writes a hostile file
and the step that loads it back, which may run in a restarted process."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .corpus import Expected

_NOTHING = "refusal-only"


def save_expected(path: str | Path, expected: Expected | None) -> None:
    arrays = {"kind": np.array(_NOTHING if expected is None else "expected")}
    if expected is not None:
        arrays["tolerance"] = np.array(expected.tolerance)
        for name in ("shape", "rgb", "where"):
            value = getattr(expected, name)
            if value is not None:
                arrays[name] = np.asarray(value)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_expected(path: str | Path) -> Expected | None:
    with np.load(path) as data:
        if str(data["kind"]) == _NOTHING:
            return None
        shape = tuple(int(v) for v in data["shape"]) if "shape" in data else None
        return Expected(shape, data["rgb"] if "rgb" in data else None, float(data["tolerance"]),
                        data["where"] if "where" in data else None)
