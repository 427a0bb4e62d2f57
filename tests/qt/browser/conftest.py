"""The thumbnail tests' shared fixtures: a 30-image project and a one-thread loader on it.

A test module sets ``IMAGE_SIZE`` and ``THUMB_SIZE`` (pixels a side) to size them."""

from __future__ import annotations

import pytest

from gradia_desktop.bench.gui.browser import make_tiny_project
from gradia_desktop.qt.browser.thumbnails import ThumbnailLoader


@pytest.fixture
def project(tmp_path, request):
    project = make_tiny_project(tmp_path, 30, size=getattr(request.module, "IMAGE_SIZE", 64), mask_every=0)
    yield project
    project.close()


@pytest.fixture
def loader(project, request):
    loader = ThumbnailLoader(size=getattr(request.module, "THUMB_SIZE", 40), max_threads=1)
    loader.set_project(project)
    yield loader
    loader.shutdown()
