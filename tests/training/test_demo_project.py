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


def test_a_second_app_finds_the_demo_held_by_the_first_and_leaves_opening_to_the_window(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(demo, "COUNTS", {"train": 10, "val": 3, "test": 3})
    root = ensure_demo_with_baseline()
    holder = subprocess.Popen(  # the first window, holding the project's lock
        [sys.executable, "-c", "import sys; from gradia_desktop.core.store import Project; "
         "p = Project.open(sys.argv[1]); print('ready', flush=True); sys.stdin.read()", str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert ensure_demo_with_baseline() == root  # was: "in use by PID ..." and the second app quit
    finally:
        holder.communicate("", timeout=30)
