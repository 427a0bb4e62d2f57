"""A project whose images include every hostile kind, swapped in after ``init`` (as when files are
replaced behind the app's back): what the GUI's canvas test opens in the real window."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.images import is_image_name
from ...core.project_init import create_project
from .corpus import KINDS, Expected, HostileKind, skip_reason
from .hostile_runs import HOSTILE_CLASS_DIR, placeholder_bytes, shown_size
from .tiny_projects import TRAIN_LAYOUT, write_image_tree


@dataclass
class PlantedKind:
    kind: HostileKind
    path: str  # the sample's path in the project
    expected: Expected | None  # what a correct load shows (None: only a refusal is right)


def build_corpus_project(root: Path) -> tuple[Path, list[PlantedKind]]:
    """A closed project at ``root / 'project'`` over good images plus one sample per hostile kind
    (those ``init`` can take by name), each replaced by its hostile file after ``init``."""
    rng = np.random.default_rng(0)
    images, masks = write_image_tree(root / "data", TRAIN_LAYOUT, seed=3, masked=0)
    folder = images.joinpath(*HOSTILE_CLASS_DIR)
    kinds = [k for k in KINDS if skip_reason(k) is None and is_image_name(k.file_name)]
    for k, kind in enumerate(kinds):
        height, width = shown_size(kind, root / "scratch" / str(k))
        (folder / kind.file_name).write_bytes(placeholder_bytes(kind.file_name, rng, height, width))
    create_project(root / "project", images, masks).close()
    planted = []
    for k, kind in enumerate(kinds):
        path = folder / kind.file_name
        path.unlink()
        expected = kind.write(path, np.random.default_rng(k))
        planted.append(PlantedKind(kind, "/".join((*HOSTILE_CLASS_DIR, kind.file_name)), expected))
    return root / "project", planted
