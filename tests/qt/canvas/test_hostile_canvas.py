"""The hostile-image corpus in the real window (issue 11, items 1, 5, 6, 12): every sample is selected;
no exception escapes (pytest-qt fails the test on one), the canvas shows the image as a correct
reader would or says why not in one line and stays read-only, and Ctrl+I (invert: the one-key edit
of a whole mask) writes a mask only for a sample that is shown, under that sample, never under
one that failed to load or under the sample shown before it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gradia_desktop.bench.reliability.corpus import check_loaded
from gradia_desktop.bench.reliability.corpus_project import build_corpus_project

from ..helpers_qt import open_main_window

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def corpus(tmp_path):
    return build_corpus_project(tmp_path)


def _show(qtbot, window, sample_id):
    assert window.browser.select_sample(sample_id)
    canvas = window.canvas
    qtbot.waitUntil(lambda: window.current_sample is not None and window.current_sample.id == sample_id
                    and (canvas.editor() is not None or canvas.problem() is not None), timeout=10_000)


def _invert_and_flush(window):
    QTest.keyClick(window.canvas, Qt.Key.Key_I, CTRL)
    window.autosaver.flush()


def test_every_hostile_sample_is_shown_or_explained_and_never_edited(qtbot, corpus):
    project_dir, planted = corpus
    window = open_main_window(qtbot, project_dir)
    project = window.project
    by_path = {s.path: s for s in project.samples()}
    good = next(s for s in project.samples() if s.path not in {p.path for p in planted})
    shown, explained = [], []
    for entry in planted:
        sample = by_path[entry.path]
        _show(qtbot, window, good.id)  # a good image on screen first: its editor must not follow us
        _show(qtbot, window, sample.id)
        canvas = window.canvas
        if canvas.problem() is not None:
            reason = canvas.problem()
            assert reason.strip() and "\n" not in reason and "Traceback" not in reason, (entry.kind.name, reason)
            assert canvas.is_read_only(), entry.kind.name
            _invert_and_flush(window)
            assert project.read_mask(sample) is None, f"{entry.kind.name}: a mask was saved for an unloadable image"
            explained.append(entry.kind.name)
        else:
            problem = check_loaded(entry.expected, canvas.image())
            assert problem is None, f"{entry.kind.name}: {problem}"
            _invert_and_flush(window)
            saved = project.read_mask(sample)
            assert saved is not None and saved.shape == (sample.height, sample.width) and saved.all(), entry.kind.name
            shown.append(entry.kind.name)
        assert project.read_mask(good) is None, f"{entry.kind.name}: the previous sample's mask changed"
    refusal_only = {p.kind.name for p in planted if p.expected is None}
    assert refusal_only <= set(explained)  # FIFO, /dev/zero, bombs...: never shown
    assert shown, "no hostile kind was shown at all: the corpus or the window is broken"
    window.autosaver.flush()
    qtbot.wait(20)  # the last "saved" signals arrive before the window closes
