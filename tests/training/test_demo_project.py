"""The demo opens ready to explore: a trained baseline and a masked training image first."""

from __future__ import annotations

from gradia_desktop.core import demo
from gradia_desktop.core.store import Project
from gradia_desktop.training.demo_project import ensure_demo_with_baseline


def test_demo_is_created_once_with_a_baseline(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(demo, "COUNTS", {"train": 10, "val": 3, "test": 3})
    root = ensure_demo_with_baseline()
    with Project.open(root) as project:
        versions = project.versions()
        assert len(versions) == 1 and versions[0].mode == "baseline"
        first = project.sample(project.setting("last_sample"))
        assert first.split == "train" and first.has_mask
    assert ensure_demo_with_baseline() == root
    with Project.open(root) as project:
        assert len(project.versions()) == 1  # not trained twice
