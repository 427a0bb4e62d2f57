"""MaskAutosaver: background writes that coalesce, keep order, flush, and report errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gradia_desktop.core.autosave import MaskAutosaver
from gradia_desktop.core.images import read_mask
from gradia_desktop.core.store import Project


class GatedProject:
    """Wraps a Project: write_mask blocks until the test opens the gate, and records every call."""

    def __init__(self, project: Project, fail: str | None = None):
        self.project = project
        self.gate = threading.Event()
        self.started = threading.Event()
        self.writes: list[tuple[int, int]] = []  # (sample id, mask pixel count)
        self.fail = fail

    def write_mask(self, sample, mask, avoid=None):
        self.started.set()
        self.gate.wait(10)
        sample_id = sample if isinstance(sample, int) else sample.id
        self.writes.append((sample_id, int(mask.sum())))
        if self.fail:
            raise OSError(self.fail)
        self.project.write_mask(sample, mask, avoid=avoid)


def _mask(project, sample_id, pixels):
    s = project.sample(sample_id)
    m = np.zeros((s.height, s.width), bool)
    m.flat[:pixels] = True
    return m


def test_the_file_on_disk_equals_the_last_mask(project):
    rng = np.random.default_rng(0)
    s = project.sample(2)
    saver = MaskAutosaver(project)
    masks = [rng.random((s.height, s.width)) > 0.5 for _ in range(5)]
    for version, m in enumerate(masks, 1):
        saver.save(s, m, version)
    assert saver.flush(10)
    assert saver.state(s.id) == "saved" and saver.saved_version(s.id) == 5
    assert np.array_equal(read_mask(project.mask_path(s.id)), masks[-1])
    assert np.array_equal(project.read_mask(s.id), masks[-1])
    saver.close()


def test_save_takes_a_copy(project):
    s = project.sample(2)
    gated = GatedProject(project)
    saver = MaskAutosaver(gated)
    m = _mask(project, 2, 10)
    saver.save(s, m, 1)
    m[:] = False  # the caller keeps editing its array
    gated.gate.set()
    saver.flush(10)
    assert project.read_mask(2).sum() == 10


def test_queued_saves_coalesce_and_never_reorder(project):
    gated = GatedProject(project)
    saver = MaskAutosaver(gated)
    saver.save(2, _mask(project, 2, 1), 1)
    assert gated.started.wait(5)  # the writer holds version 1 now
    for n in range(2, 7):
        saver.save(2, _mask(project, 2, n), n)  # queued behind it: only 6 should be written
    saver.save(3, _mask(project, 3, 9), 1)
    assert saver.state(2) == "saving" and saver.state(3) == "saving"
    assert saver.saved_version(2) is None
    gated.gate.set()
    assert saver.flush(10)
    assert gated.writes == [(2, 1), (2, 6), (3, 9)]
    assert saver.saved_version(2) == 6 and saver.saved_version(3) == 1
    assert project.read_mask(2).sum() == 6
    saver.close()


def test_flush_times_out_while_a_write_hangs(project):
    gated = GatedProject(project)
    saver = MaskAutosaver(gated)
    saver.save(2, _mask(project, 2, 3), 1)
    assert saver.flush(0.05) is False
    assert saver.pending() == 1
    gated.gate.set()
    assert saver.flush(10) and saver.pending() == 0


def test_errors_are_kept_per_sample_and_cleared_by_a_good_write(project):
    gated = GatedProject(project, fail="No space left on device")
    gated.gate.set()
    events = []
    saver = MaskAutosaver(gated, on_saved=lambda *args: events.append(args))
    saver.save(2, _mask(project, 2, 3), 7)
    saver.flush(10)
    assert saver.state(2) == "error: No space left on device"
    assert saver.state(3) == "saved" and saver.saved_version(2) is None
    assert events == [(2, 7, "No space left on device")]
    gated.fail = None
    saver.save(2, _mask(project, 2, 3), 8)
    saver.flush(10)
    assert saver.state(2) == "saved" and saver.saved_version(2) == 8
    assert events[-1] == (2, 8, None)


def test_read_only_project_reports_an_error(project_template):
    with Project.open(project_template, readonly=True) as ro:
        saver = MaskAutosaver(ro)
        saver.save(2, _mask(ro, 2, 4), 1)
        saver.flush(10)
        assert saver.state(2).startswith("error: ") and "read-only" in saver.state(2)
        saver.close()


def test_an_empty_mask_deletes_the_saved_one(project):
    saver = MaskAutosaver(project)
    saver.save(2, _mask(project, 2, 4), 1)
    saver.flush(10)
    assert project.read_mask(2) is not None
    saver.save(2, _mask(project, 2, 0), 2)
    saver.flush(10)
    assert project.read_mask(2) is None and not project.mask_path(2).exists()
    assert saver.state(2) == "saved" and saver.saved_version(2) == 2


def test_both_layers_are_saved_and_a_mask_of_only_dont_look_here_is_kept(project):
    saver = MaskAutosaver(project)
    look, avoid = _mask(project, 2, 4), ~_mask(project, 2, 8)
    saver.save(2, look, 1, avoid=avoid)
    saver.flush(10)
    layers = project.read_mask_layers(2)
    assert np.array_equal(layers.look, look) and np.array_equal(layers.avoid, avoid)
    saver.save(2, _mask(project, 2, 0), 2, avoid=avoid)
    saver.flush(10)
    layers = project.read_mask_layers(2)
    assert not layers.look.any() and np.array_equal(layers.avoid, avoid) and project.read_mask(2) is None
    saver.save(2, _mask(project, 2, 0), 3, avoid=_mask(project, 2, 0))
    saver.flush(10)
    assert project.read_mask_layers(2) is None
    saver.close()


def test_a_broken_listener_does_not_stall_flush(project):
    def boom(*_):
        raise RuntimeError("listener bug")
    saver = MaskAutosaver(project, on_saved=boom)
    saver.save(2, _mask(project, 2, 1), 1)
    assert saver.flush(10)
    saver.close()
    with pytest.raises(RuntimeError):
        saver.save(2, _mask(project, 2, 1), 2)
