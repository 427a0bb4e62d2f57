"""Shared fixtures: small generated projects (never the network, never real weights)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from gradia_desktop.core.demo import generate_demo  # noqa: E402
from gradia_desktop.core.project_init import create_project  # noqa: E402

SMALL_COUNTS = {"train": 16, "val": 4, "test": 4}  # per class


def pytest_collection_modifyitems(config, items):
    """`heavy` tests (minutes, gigabytes, or a benchmark's full measurement) run only when asked for:
    `pytest -m heavy` (or a -m expression naming heavy). Everything else, `slow` included, runs in `make test`."""
    if "heavy" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="heavy: minutes or gigabytes; run it with -m heavy")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """A tiny demo dataset (64 px, two classes, masks on half of train) on disk."""
    out = tmp_path_factory.mktemp("data") / "demo"
    return generate_demo(out, seed=3, mask_fraction=0.5, counts=SMALL_COUNTS)


@pytest.fixture
def small_project(small_dataset, tmp_path):
    """A fresh project over the small dataset; closed after the test."""
    project = create_project(tmp_path / "project", small_dataset / "images", small_dataset / "masks")
    yield project
    project.close()


@pytest.fixture
def decode_flags(monkeypatch):
    """The flags of every cv2.imdecode call the image reader makes during the test, in order."""
    from gradia_desktop.core import images

    flags = []
    real = images.cv2.imdecode

    def spy(data, flag):
        flags.append(flag)
        return real(data, flag)

    monkeypatch.setattr(images.cv2, "imdecode", spy)
    return flags
