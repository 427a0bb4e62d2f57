"""A seeded, stratified split of class folders (IMAGES/<class>/<file>) into train, val and test.

Each class is split on its own, so every split keeps the class proportions. Within a class the files
are ranked by a hash of the seed and the file's path: the ranking depends on nothing else (not on the
listing order, the platform, or a random generator's version), so the same files and seed always give
the same split. The first files of the ranking go to train, the next to val, the rest to test.

The split is made once, when the project is created, and stored with it (the samples' split column,
and the parameters in the project's meta table): nothing splits again afterwards.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from ..errors import GradiaError
from .records import SPLITS

DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)
METHOD = "sha256-rank-per-class/1"  # recorded with the split, in case the method ever changes
SPLIT_META_KEY = "split"  # the project's meta table: how its samples were split
FOLDERS_RECORD = {"source": "folders"}  # the images came split into train/, val/, test/
_EXAMPLE = ",".join(f"{f:g}" for f in DEFAULT_FRACTIONS)


@dataclass(frozen=True)
class SplitSpec:
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    seed: int = 0

    def record(self) -> dict:
        """What the project stores about how it was split."""
        return {"source": "seeded", "fractions": list(self.fractions), "seed": self.seed, "method": METHOD}


def _bad(shown: str, why: str) -> GradiaError:
    return GradiaError(f"split {shown}: {why} (three fractions train,val,test that sum to 1, e.g. {_EXAMPLE})")


def parse_fractions(text: str) -> tuple[float, float, float]:
    """'0.7,0.15,0.15' -> (0.7, 0.15, 0.15); a one-line GradiaError for anything else."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise _bad(repr(text), "not numbers") from None
    return check_fractions(values, repr(text))


def check_fractions(values, shown: str | None = None) -> tuple[float, float, float]:
    values = tuple(float(v) for v in values)
    shown = shown or ",".join(f"{v:g}" for v in values)
    if len(values) != 3:
        raise _bad(shown, f"{len(values)} numbers given")
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise _bad(shown, "each fraction must be 0 or more")
    if abs(sum(values) - 1) > 1e-6:
        raise _bad(shown, f"they sum to {sum(values):g}, not 1")
    if values[0] <= 0:
        raise _bad(shown, "the train fraction must be above 0")
    return values  # type: ignore[return-value]


def split_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """How many of ``n`` files go to train, val and test: largest remainders, and at least one in train."""
    exact = [n * f for f in fractions]
    counts = [math.floor(x + 1e-9) for x in exact]
    by_remainder = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    if n and counts[0] == 0:  # a class without a training image cannot be learned
        donor = 2 if counts[2] else 1
        counts[donor] -= 1
        counts[0] += 1
    return counts[0], counts[1], counts[2]


def _rank(seed: int, rel: str) -> bytes:
    return hashlib.sha256(f"{seed}\0{rel}".encode("utf-8", "surrogateescape")).digest()


def assign_splits(rels_by_class: dict[str, list[str]], spec: SplitSpec) -> dict[str, str]:
    """Each file's split (path relative to the images folder -> 'train', 'val' or 'test')."""
    fractions = check_fractions(spec.fractions)
    assigned: dict[str, str] = {}
    for rels in rels_by_class.values():
        ranked = sorted(rels, key=lambda rel: _rank(spec.seed, rel))
        n_train, n_val, _ = split_counts(len(ranked), fractions)
        for i, rel in enumerate(ranked):
            assigned[rel] = SPLITS[0] if i < n_train else SPLITS[1] if i < n_train + n_val else SPLITS[2]
    return assigned
