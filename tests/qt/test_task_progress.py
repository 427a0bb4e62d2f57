"""The modal progress dialog that long core tasks report to."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QProgressDialog

from gradia_desktop.errors import Cancelled
from gradia_desktop.qt.task_progress import run_with_progress


def test_returns_the_task_result_after_reporting(qapp):
    def task(progress):
        for done in range(0, 5):
            progress("reading images", done, 4)
        return "result"

    assert run_with_progress(None, "Working", task) == "result"


def test_cancel_raises_cancelled_out_of_the_task(qapp, monkeypatch):
    monkeypatch.setattr(QProgressDialog, "wasCanceled", lambda self: True)
    reached = []

    def task(progress):
        progress("generating demo images", 1, 10)
        reached.append("after the first report")

    with pytest.raises(Cancelled):
        run_with_progress(None, "Working", task)
    assert reached == []
