"""core/atomic.py: temp-file-and-rename writes and staged directories."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

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


# ---- modes: what a plain open or mkdir would give, not mkstemp's 0600 / mkdtemp's 0700 -------------

@pytest.fixture
def umask():
    """Set the process umask for one test, then put the old one back."""
    old = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("value, file_mode, folder_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775),
                                                           (0o077, 0o600, 0o700), (0o027, 0o640, 0o750)])
def test_new_files_and_folders_follow_the_umask(tmp_path, umask, value, file_mode, folder_mode):
    umask(value)
    assert atomic.current_umask() == value and atomic.current_umask() == value  # reading it changes nothing
    atomic_write_bytes(tmp_path / "f.bin", b"x")
    with staged_directory(tmp_path / "out") as stage:
        (stage / "inner.txt").write_text("x")
    assert mode(tmp_path / "f.bin") == file_mode
    assert mode(tmp_path / "out") == folder_mode
    assert mode(tmp_path / "out" / "inner.txt") == file_mode


def test_a_replaced_file_or_empty_folder_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    target.chmod(0o440)  # read-only, group-readable: the writer chose this
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o440
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o770)
    with staged_directory(shared) as stage:
        (stage / "f").write_text("x")
    assert mode(shared) == 0o770


def test_the_umask_fallback_sets_it_back(umask, monkeypatch):
    umask(0o027)
    atomic._umask_by_setting.cache_clear()
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: (_ for _ in ()).throw(FileNotFoundError(path))
                        if path == "/proc/self/status" else real_open(path, *a, **k))
    try:
        assert atomic.current_umask() == 0o027
        assert os.umask(0o027) == 0o027  # unchanged
    finally:
        atomic._umask_by_setting.cache_clear()


# ---- leftovers of killed processes -----------------------------------------------------------------

def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


KILL_INSIDE = """
import os, signal, sys
from gradia_desktop.core.atomic import atomic_write, staged_directory
if sys.argv[1] == "stage":
    with staged_directory(sys.argv[2]) as stage:
        (stage / "half.png").write_bytes(b"x" * 1000)
        os.kill(os.getpid(), signal.SIGKILL)
else:
    def write(tmp):
        tmp.write_bytes(b"half")
        os.kill(os.getpid(), signal.SIGKILL)
    atomic_write(sys.argv[2], write)
"""


def killed_inside(kind: str, target) -> None:
    result = subprocess.run([sys.executable, "-c", KILL_INSIDE, kind, str(target)], timeout=60)
    assert result.returncode == -signal.SIGKILL


def test_a_staging_left_by_a_killed_process_is_removed_by_the_next_staging(tmp_path):
    final = tmp_path / "out"
    killed_inside("stage", final)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".out.") and left[0].endswith(".partial")  # only the stage
    with staged_directory(final) as stage:
        (stage / "f.txt").write_text("new")
    assert os.listdir(tmp_path) == ["out"] and os.listdir(final) == ["f.txt"]


def test_only_leftovers_of_ended_processes_on_this_host_are_removed(tmp_path):
    gone, alive, host = dead_pid(), os.getpid(), atomic._HOST
    names = {
        f".out.{gone}@{host}.abcd_123.partial": True,  # the one to remove
        f".out.{alive}@{host}.abcd_123.partial": False,  # a live process (here: this one) is still building it
        f".out.{gone}@another-host.abcd_123.partial": False,  # that pid means nothing here
        f".other.{gone}@{host}.abcd_123.partial": False,  # another destination's
        ".out.abcd_123.partial": False,  # no owner recorded (made before owners were)
        "out.partial": False,
    }
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("x")
    with staged_directory(tmp_path / "out"):
        pass
    kept = sorted(n for n in os.listdir(tmp_path) if n != "out")
    assert kept == sorted(n for n, removed in names.items() if not removed)


def test_temp_files_left_by_a_killed_writer_are_removed_on_request(tmp_path):
    target = tmp_path / "mask.png"
    target.write_bytes(b"OLD")
    killed_inside("write", target)
    left = sorted(os.listdir(tmp_path))
    assert len(left) == 2 and left[0].startswith(".mask.png.") and left[0].endswith(".tmp.png")
    assert target.read_bytes() == b"OLD"  # never half-written
    live = tmp_path / f".other.png.{os.getpid()}@{atomic._HOST}.abcd_123.tmp.png"
    live.write_bytes(b"being written")
    assert atomic.remove_stale_temp_files(tmp_path) == [tmp_path / left[0]]
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, "mask.png"])
    assert atomic.remove_stale_temp_files(tmp_path / "missing") == []


def test_temp_names_keep_their_pattern_for_long_names(tmp_path):
    name = "n" * 200 + ".png"
    seen = []
    atomic_write(tmp_path / name, lambda tmp: (seen.append(tmp.name), tmp.write_bytes(b"x")))
    assert len(seen[0]) < 255 and seen[0].endswith(".tmp.png")
    assert atomic._LEFTOVER.fullmatch(seen[0])["name"] == name[:atomic._NAME_KEPT]
