"""core/paths.py: per-user folders and the built-in demo project."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gradia_desktop.core import demo, paths
from gradia_desktop.core.demo import generate_demo
from gradia_desktop.core.schema import DB_NAME
from gradia_desktop.core.store import Project

SMALL = {"train": 3, "val": 1, "test": 1}


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    """XDG_DATA_HOME in tmp_path, a fake home, and a tiny demo (demo.COUNTS patched)."""
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(demo, "COUNTS", dict(SMALL))
    return tmp_path / "xdg"


@pytest.fixture
def counting(monkeypatch):
    """Count the calls ensure_demo_project makes to generate_demo and create_project."""
    calls = {"generate": 0, "create": 0}
    real_generate, real_create = paths.generate_demo, paths.create_project

    def generate(*a, **k):
        calls["generate"] += 1
        return real_generate(*a, **k)

    def create(*a, **k):
        calls["create"] += 1
        return real_create(*a, **k)

    monkeypatch.setattr(paths, "generate_demo", generate)
    monkeypatch.setattr(paths, "create_project", create)
    return calls


def test_user_data_dir_honours_xdg_data_home(xdg):
    assert paths.user_data_dir() == xdg / "gradia-desktop"
    assert paths.demo_project_dir() == xdg / "gradia-desktop" / "demo" / "project"


@pytest.mark.parametrize("value", [None, ""])
def test_user_data_dir_falls_back_to_local_share(tmp_path, monkeypatch, value):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if value is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", value)
    assert paths.user_data_dir() == tmp_path / "home" / ".local" / "share" / "gradia-desktop"


def test_user_data_dir_macos(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "ignored"))
    assert paths.user_data_dir() == tmp_path / "home" / "Library" / "Application Support" / "gradia-desktop"


def test_user_data_dir_windows(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert paths.user_data_dir() == tmp_path / "Roaming" / "gradia-desktop"
    monkeypatch.delenv("APPDATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.user_data_dir() == Path.home() / "AppData" / "Roaming" / "gradia-desktop"


def test_ensure_demo_project_creates_it(xdg, counting):
    calls = []
    project_dir = paths.ensure_demo_project(progress=lambda *a: calls.append(a))
    assert project_dir == xdg / "gradia-desktop" / "demo" / "project"
    assert (project_dir / DB_NAME).is_file()
    dataset = project_dir.parent / "dataset"
    assert (dataset / "images" / "train" / "disc").is_dir()
    assert counting == {"generate": 1, "create": 1}
    with Project.open(project_dir) as p:
        n = sum(SMALL.values()) * 2
        assert len(p.samples()) == n  # the patched, tiny COUNTS were used
        assert p.images_root == dataset / "images"
        assert len(p.samples(split="val", has_mask=True)) == 2
    stages = {c[0] for c in calls}
    assert {"generating demo images", "reading images", "reading masks"} <= stages


def test_ensure_demo_project_uses_seed_0(xdg, tmp_path):
    project_dir = paths.ensure_demo_project()
    reference = generate_demo(tmp_path / "ref", seed=0, counts=SMALL)
    dataset = project_dir.parent / "dataset"
    ours = {p.relative_to(dataset): p.read_bytes() for p in dataset.rglob("*.png")}
    ref = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*.png")}
    assert ours == ref and len(ours) > 0


def test_ensure_demo_project_is_idempotent(xdg, counting):
    first = paths.ensure_demo_project()
    db = first / DB_NAME
    with Project.open(first) as p:
        p.set_setting("marker", 42)  # user state that a re-creation would wipe
    stamp = db.stat().st_mtime_ns
    second = paths.ensure_demo_project()
    assert second == first
    assert counting == {"generate": 1, "create": 1}
    assert db.stat().st_mtime_ns == stamp
    with Project.open(second) as p:
        assert p.setting("marker") == 42


def test_ensure_demo_project_reuses_an_existing_dataset(xdg, counting):
    dataset = paths.demo_project_dir().parent / "dataset"
    generate_demo(dataset, seed=0, counts={"train": 2, "val": 1, "test": 0})
    project_dir = paths.ensure_demo_project()
    assert counting == {"generate": 0, "create": 1}
    with Project.open(project_dir) as p:
        assert len(p.samples()) == 6  # the existing dataset's 3 images per class, not SMALL's


def test_ensure_demo_project_recovers_after_a_failed_create(xdg, counting, monkeypatch):
    real_create = paths.create_project

    def failing(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(paths, "create_project", failing)
    with pytest.raises(OSError):
        paths.ensure_demo_project()
    project_dir = paths.demo_project_dir()
    assert not project_dir.exists()
    monkeypatch.setattr(paths, "create_project", real_create)
    assert paths.ensure_demo_project() == project_dir
    assert (project_dir / DB_NAME).is_file()
    assert counting["generate"] == 1  # the dataset from the first try is reused
