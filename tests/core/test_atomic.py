"""core/atomic.py: temp-file-and-rename writes and staged directories."""

from __future__ import annotations

import os

import pytest

from gradia_desktop.core import atomic
from gradia_desktop.core.atomic import atomic_write, atomic_write_bytes, atomic_write_text, staged_directory


def test_atomic_write_bytes_creates_file_and_parents(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    atomic_write_bytes(target, b"\x00\x01hello")
    assert target.read_bytes() == b"\x00\x01hello"
    assert sorted(os.listdir(target.parent)) == ["out.bin"]


def test_atomic_write_text_is_utf8_and_replaces(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    atomic_write_text(target, "grün ✓")
    assert target.read_bytes() == "grün ✓".encode("utf-8")
    assert os.listdir(tmp_path) == ["t.txt"]


def test_atomic_write_passes_a_temp_path_in_the_same_folder(tmp_path):
    target = tmp_path / "x.png"
    seen = []

    def write(tmp):
        seen.append(tmp)
        assert tmp != target
        assert tmp.parent == target.parent  # same filesystem, so the rename is atomic
        assert tmp.name.startswith(".x.png.")
        tmp.write_bytes(b"new")

    atomic_write(target, write)
    assert target.read_bytes() == b"new"
    assert len(seen) == 1 and not seen[0].exists()


def test_writer_failing_midway_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"OLD CONTENT")

    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"NEW PARTIAL")  # half the new content...
        raise RuntimeError("disk on fire")  # ...then the writer dies

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, write)
    assert target.read_bytes() == b"OLD CONTENT"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_writer_interrupted_by_keyboardinterrupt_cleans_up(tmp_path):
    target = tmp_path / "data.bin"

    def write(tmp):
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, write)
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_failing_rename_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "data.bin"
    target.write_bytes(b"OLD")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"NEW")
    assert target.read_bytes() == b"OLD"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_writer_that_deletes_its_temp_file_raises_and_keeps_old(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"OLD")
    with pytest.raises(FileNotFoundError):
        atomic_write(target, lambda tmp: tmp.unlink())
    assert target.read_bytes() == b"OLD"
    assert os.listdir(tmp_path) == ["data.bin"]


# ---- staged_directory ------------------------------------------------------------------------

def test_staged_directory_renames_into_place(tmp_path):
    final = tmp_path / "out"
    with staged_directory(final) as stage:
        assert stage.parent == tmp_path
        assert stage.name.startswith(".out.") and stage.name.endswith(".partial")
        assert not final.exists()  # nothing visible under the final name while building
        (stage / "sub").mkdir()
        (stage / "sub" / "f.txt").write_text("hi")
    assert (final / "sub" / "f.txt").read_text() == "hi"
    assert os.listdir(tmp_path) == ["out"]


def test_staged_directory_creates_missing_parent(tmp_path):
    final = tmp_path / "deep" / "er" / "out"
    with staged_directory(final) as stage:
        (stage / "f").write_text("x")
    assert (final / "f").read_text() == "x"


def test_staged_directory_removes_stage_on_error(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(ValueError):
        with staged_directory(final) as stage:
            (stage / "f.txt").write_text("half")
            raise ValueError("boom")
    assert not final.exists()
    assert os.listdir(tmp_path) == []


def test_staged_directory_removes_stage_on_keyboardinterrupt(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with staged_directory(final) as stage:
            (stage / "f.txt").write_text("half")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_staged_directory_replaces_an_empty_existing_folder(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    with staged_directory(final) as stage:
        (stage / "f.txt").write_text("new")
    assert (final / "f.txt").read_text() == "new"
    assert os.listdir(tmp_path) == ["out"]


def test_staged_directory_refuses_non_empty_existing_folder(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not empty"):
        with staged_directory(final) as stage:
            (stage / "f.txt").write_text("new")
    assert os.listdir(final) == ["keep.txt"]
    assert (final / "keep.txt").read_text() == "precious"
    assert os.listdir(tmp_path) == ["out"]  # the stage is gone


def test_staged_directory_flushes_every_file_and_folder_before_the_rename(tmp_path, monkeypatch):
    """No system-wide sync: each file and folder of the stage is fsynced, all before the rename."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "sync", lambda: pytest.fail("os.sync() flushes the whole machine"))
    final = tmp_path / "out"
    with staged_directory(final) as stage:
        (stage / "a").mkdir()
        for name in ("a/1.png", "a/2.png", "top.json"):
            (stage / name).write_bytes(b"x")
    rename = events.index(("replace", str(stage)))
    flushed = {path for kind, path in events[:rename] if kind == "fsync"}
    expected = {str(stage / p) for p in ("a/1.png", "a/2.png", "top.json", "a")} | {str(stage)}
    assert expected <= flushed
