"""Opening projects in the GUI: one that another process holds is offered read-only; a damaged one
leaves the window on the welcome page saying why, in one line, at start-up too."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gradia_desktop.core.project_lock import Holder, ProjectInUse
from gradia_desktop.core.schema import DB_NAME
from gradia_desktop.core.store import Project
from gradia_desktop.qt.window import app, project_opening
from gradia_desktop.qt.window.main_window import BROWSER, WELCOME, MainWindow

from .test_main_window import add_finished_version

YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


@pytest.fixture
def empty_window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    return window


@pytest.fixture
def held_elsewhere(monkeypatch):
    """Project.open(writable) raises ProjectInUse, as when another process has the project open."""
    real_open = Project.open.__func__

    def open_(cls, root, readonly=False):
        if not readonly:
            raise ProjectInUse(root, Holder(4242, "lab-pc", "2025-01-01 09:00:00"))
        return real_open(cls, root, readonly)

    monkeypatch.setattr(Project, "open", classmethod(open_))


@pytest.fixture
def questions(monkeypatch):
    """Answers QMessageBox.question with the answers queued (Yes when none); records the questions."""
    asked, answers = [], []

    def question(parent, title, text, *args):
        asked.append(text)
        return answers.pop(0) if answers else YES

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked, answers


@pytest.fixture
def dialogs(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    return shown


def damage_the_samples_table(project_dir) -> None:
    """Overwrite the database page that holds the samples table: the file opens, reading it fails."""
    import sqlite3

    conn = sqlite3.connect(project_dir / DB_NAME)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root_page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'samples'").fetchone()[0]
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    with open(project_dir / DB_NAME, "r+b") as db:
        db.seek((root_page - 1) * page_size)
        db.write(b"\xff" * page_size)


@pytest.fixture
def with_version(small_project_dir):
    add_finished_version(small_project_dir)
    return small_project_dir


def test_a_project_in_use_opens_read_only_when_the_user_agrees(empty_window, with_version, held_elsewhere,
                                                               questions, qtbot):
    small_project_dir = with_version
    asked, _ = questions
    window = empty_window
    assert window.open_project_path(small_project_dir)
    assert asked == [f"{small_project_dir} is in use by PID 4242 on lab-pc. Open it read-only?"]
    assert window.project.readonly and window.windowTitle().endswith("(read-only)")
    assert window.stack.currentIndex() == BROWSER and not window.status.readonly_label.isHidden()
    assert not window.menus.reasonable_action.isEnabled() and window.canvas.is_read_only()
    sample = window.current_sample
    stored = window.project.read_mask(sample)
    qtbot.keyClick(window.browser.table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    window.judge(True)
    assert window.autosaver is None and window.project.judgements(window.version.id) == {}
    after = window.project.read_mask(sample)
    assert (stored is None and after is None) or np.array_equal(stored, after)


def test_a_project_in_use_stays_closed_when_the_user_declines(empty_window, small_project_dir, held_elsewhere,
                                                              questions, dialogs):
    _, answers = questions
    answers.append(NO)
    assert not empty_window.open_project_path(small_project_dir)
    assert empty_window.project is None and empty_window.stack.currentIndex() == WELCOME
    assert dialogs == []  # declining is not an error


def test_a_project_held_by_another_process_is_offered_read_only(empty_window, small_project_dir, questions):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gradia_desktop.core.store import Project; "
         "p = Project.open(sys.argv[1]); print('ready', flush=True); sys.stdin.read()", str(small_project_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        asked, _ = questions
        assert empty_window.open_project_path(small_project_dir)
        assert len(asked) == 1 and f"PID {holder.pid} on " in asked[0]
        assert empty_window.project.readonly
    finally:
        holder.communicate("", timeout=30)


def test_a_damaged_project_leaves_the_welcome_page_saying_why(empty_window, small_project_dir, dialogs):
    damage_the_samples_table(small_project_dir)
    window = empty_window
    assert not window.open_project_path(small_project_dir)
    assert window.project is None and window.stack.currentIndex() == WELCOME
    assert len(dialogs) == 1 and "\n" not in dialogs[0] and str(small_project_dir) in dialogs[0]
    assert window.welcome.error() == dialogs[0] and window.welcome.error_label.isVisibleTo(window.welcome)


def test_damage_found_while_showing_a_project_closes_it_and_says_why(empty_window, small_project_dir, dialogs,
                                                                     monkeypatch):
    import sqlite3

    def broken(self):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Project, "latest_version", broken)
    window = empty_window
    assert not window.open_project_path(small_project_dir)
    assert window.project is None and window.stack.currentIndex() == WELCOME
    assert dialogs == [f"{small_project_dir}: cannot read the project (DatabaseError: database disk image is "
                       "malformed)"]
    monkeypatch.undo()
    assert window.open_project_path(small_project_dir)  # the window is still whole
    assert window.stack.currentIndex() == BROWSER and window.welcome.error() == ""


def test_start_up_with_a_damaged_project_shows_the_welcome_page_and_one_line(empty_window, small_project_dir,
                                                                              dialogs, capsys):
    damage_the_samples_table(small_project_dir)
    assert not app.open_start_project(empty_window, small_project_dir, scripted=False)
    assert empty_window.stack.currentIndex() == WELCOME and str(small_project_dir) in empty_window.welcome.error()
    assert dialogs == []  # said on the welcome page, no dialog in the way
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"gradia-desktop: {empty_window.welcome.error()}"]


def test_a_screenshot_of_a_project_in_use_opens_it_read_only_without_asking(empty_window, small_project_dir,
                                                                            held_elsewhere, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *args: pytest.fail("a scripted run must not ask"))
    assert app.open_start_project(empty_window, small_project_dir, scripted=True)
    assert empty_window.project.readonly


def test_the_question_names_the_holder():
    exc = ProjectInUse("/data/proj", Holder(None, "an unknown host", "an unknown time"))
    assert project_opening.in_use_question("/data/proj", exc) == \
        "/data/proj is in use by PID ? on an unknown host. Open it read-only?"
