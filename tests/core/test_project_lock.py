"""One writer per project: the lock, its message, re-entry within a process, and the leftovers a newly
taken lock clears (runs left 'running', their model folders, stray mask files)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from gradia_desktop.core import project_lock
from gradia_desktop.core.project_lock import LOCK_NAME, ProjectInUse
from gradia_desktop.core.reconcile import INTERRUPTED_NOTE
from gradia_desktop.core.store import Project
from gradia_desktop.errors import GradiaError

from .conftest import square_mask

fcntl = pytest.importorskip("fcntl", reason="the tests hold the lock as another process would, with fcntl")


class OtherProcess:
    """Holds a project's lock the way another process would: its own open file description."""

    def __init__(self, root, pid=4242, host="elsewhere", since="2026-01-02 03:04:05"):
        self.fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise
        os.write(self.fd, json.dumps({"pid": pid, "host": host, "since": since}).encode())

    def dies(self):
        os.close(self.fd)  # the kernel drops the lock with the process's files


def test_a_second_writer_is_told_who_holds_the_project(project):
    root = project.root
    project.close()
    other = OtherProcess(root)
    try:
        with pytest.raises(ProjectInUse) as exc:
            Project.open(root)
        assert isinstance(exc.value, GradiaError)
        assert (exc.value.pid, exc.value.host) == (4242, "elsewhere")
        assert str(exc.value) == (f"{root}: in use by PID 4242 on elsewhere (since 2026-01-02 03:04:05); "
                                  "open it read-only or close the other window")
        with Project.open(root, readonly=True) as p:  # reading stays possible
            assert len(p.samples()) == 10
    finally:
        other.dies()
    with Project.open(root) as p:  # a holder that died leaves no stale lock
        assert not p.readonly


def test_the_lock_text_names_this_process(project):
    text = json.loads((project.root / LOCK_NAME).read_text())
    assert text["pid"] == os.getpid() and text["host"] == socket.gethostname() and text["since"]


def test_one_process_may_open_a_project_for_writing_several_times(project):
    root = project.root
    second = Project.open(root)  # e.g. the GUI's training worker while the window holds the project
    assert not second.readonly
    second.set_setting("from the worker", 1)
    second.close()
    with pytest.raises(OSError):  # still held: project is open
        OtherProcess(root)
    project.close()
    assert not (root / LOCK_NAME).exists()  # the last close removes the lock file
    other = OtherProcess(root)
    other.dies()


def test_a_real_process_killed_while_holding_the_lock(project):
    root = project.root
    project.close()
    code = ("import sys, time\nfrom gradia_desktop.core.store import Project\n"
            "p = Project.open(sys.argv[1])\nprint('open', flush=True)\ntime.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "open"
        with pytest.raises(ProjectInUse) as exc:
            Project.open(root)
        assert exc.value.pid == child.pid and exc.value.host == socket.gethostname()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    with Project.open(root) as p:
        assert not p.readonly


def test_interrupted_runs_are_closed_when_the_lock_is_newly_taken(project):
    root = project.root
    running = project.create_version(None, "baseline", "tiny", "layer4", 64, {})
    (root / "models" / f"v{running}").mkdir()
    (root / "models" / f"v{running}" / "epoch_001.safetensors").write_bytes(b"x")
    with Project.open(root) as again:  # the same process: its own worker may be running it
        assert again.version(running).status == "running"
    assert project.version(running).status == "running"
    project.close()
    with Project.open(root) as p:
        v = p.version(running)
        assert (v.status, v.note) == ("failed", INTERRUPTED_NOTE)
    assert not (root / "models" / f"v{running}").exists()


def test_stray_mask_files_are_removed_when_the_lock_is_newly_taken(project):
    root = project.root
    project.write_mask(2, square_mask())
    (root / "masks" / "3-4.png").write_bytes(b"orphan of a killed write")
    (root / "masks" / ".2-2.png.k3j4.tmp.png").write_bytes(b"half a png")
    (root / "masks" / "notes.txt").write_text("not ours: kept")
    with Project.open(root):
        assert (root / "masks" / "3-4.png").exists()  # re-entered: nothing touched
    project.close()
    with Project.open(root) as p:
        assert p.read_mask(2).sum() == square_mask().sum()
    assert sorted(os.listdir(root / "masks")) == ["1.png", "10.png", "2-1.png", "7.png", "notes.txt"]


def test_read_only_opens_take_no_lock_and_clear_nothing(project):
    root = project.root
    running = project.create_version(None, "baseline", "tiny", "layer4", 64, {})
    project.close()
    other = OtherProcess(root)
    try:
        with Project.open(root, readonly=True) as p:
            assert p.version(running).status == "running"
    finally:
        other.dies()


def test_holder_reports_another_process_and_nobody(project):
    root = project.root
    assert project_lock.holder(root).pid == os.getpid()
    project.close()
    assert project_lock.holder(root) is None
    other = OtherProcess(root, pid=77)
    try:
        assert project_lock.holder(root).pid == 77
    finally:
        other.dies()


def test_a_holder_that_has_not_written_its_text_yet(project):
    root = project.root
    project.close()
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        started = time.perf_counter()
        with pytest.raises(ProjectInUse, match=r"in use by PID \? on an unknown host"):
            Project.open(root)
        assert time.perf_counter() - started < 2
    finally:
        os.close(fd)


_FORKS = r"""
import fcntl, json, os, sys
from gradia_desktop.core.project_lock import LOCK_NAME, ProjectInUse
from gradia_desktop.core.store import Project

root = sys.argv[1]
project = Project.open(root)
read, write = os.pipe()
child = os.fork()
if child == 0:
    try:
        Project.open(root)
        seen = "opened"
    except ProjectInUse as exc:
        seen = exc.pid
    project.close()  # the parent's Project, copied by the fork: must not unlock the parent's lock
    os.write(write, json.dumps(seen).encode())
    os._exit(0)
os.waitpid(child, 0)
fd = os.open(os.path.join(root, LOCK_NAME), os.O_RDONLY)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    still_held = False
except BlockingIOError:
    still_held = True
print(json.dumps({"child saw": json.loads(os.read(read, 100)), "parent": os.getpid(), "still held": still_held}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_is_another_process_and_cannot_unlock_its_parent(project):
    root = project.root
    project.close()
    proc = subprocess.run([sys.executable, "-c", _FORKS, str(root)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["child saw"] == result["parent"] and result["still held"] is True


GUEST = ("import sys\nfrom gradia_desktop.core.store import Project\n"
         "with Project.open(sys.argv[1]) as p:\n"
         "    p.set_setting('guest', 1)\n"
         "    print(p.version(int(sys.argv[2])).status)\n")


def _guest(root, running, token):
    env = {k: v for k, v in os.environ.items() if k != project_lock.INVITATION_ENV}
    if token is not None:
        env[project_lock.INVITATION_ENV] = token
    return subprocess.run([sys.executable, "-c", GUEST, str(root), str(running)], capture_output=True, text=True,
                          env=env, timeout=60)


def test_an_invited_child_writes_beside_its_host_and_the_invitation_ends_with_revoke(project):
    """The app's distributed run: the window keeps the project; the run's first process writes too."""
    root = project.root
    running = project.create_version(None, "baseline", "tiny", "layer4", 64, {})  # e.g. the host's own run
    token = project_lock.invite(root)
    invited = _guest(root, running, token)
    assert invited.returncode == 0, invited.stderr
    assert invited.stdout.strip() == "running"  # a guest clears nothing of its host's
    assert project.setting("guest") == 1 and project.version(running).status == "running"
    assert "in use by PID" in _guest(root, running, "not-the-token").stderr
    assert "in use by PID" in _guest(root, running, None).stderr
    project_lock.revoke(root, token)
    assert "in use by PID" in _guest(root, running, token).stderr
    assert project_lock.held_here(root) and (root / LOCK_NAME).exists()


def test_only_the_holder_can_invite(project):
    root = project.root
    project.close()
    with pytest.raises(GradiaError, match="only the process holding the project"):
        project_lock.invite(root)
