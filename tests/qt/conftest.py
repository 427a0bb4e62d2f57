"""Qt test setup: headless platform, a throw-away user folder, and a small generated project."""

import os
import tempfile

# Before any Qt import: run headless, and keep QSettings (read once per process) out of the real ~/.config.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="gradia-qt-config-")

import pytest  # noqa: E402

from gradia_desktop.core.demo import generate_demo  # noqa: E402
from gradia_desktop.core.project_init import create_project  # noqa: E402

SMALL_COUNTS = {"train": 4, "val": 2, "test": 2}  # per class: 16 samples


@pytest.fixture(autouse=True)
def user_home(tmp_path_factory, monkeypatch):
    """Point HOME and the XDG folders at a temp dir, so the demo project and settings land there."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    return home


@pytest.fixture(autouse=True)
def fresh_settings():
    """Every test starts from empty QSettings: preferences one test saves (brush size, colormap,
    recent projects, ...) must not reach the next. Qt reads the settings path once per process, so
    all tests share one file under the temporary XDG_CONFIG_HOME above; clear it around each test."""
    from PySide6.QtCore import QSettings

    QSettings().clear()
    yield
    QSettings().clear()


@pytest.fixture(autouse=True)
def unanswered_dialogs_fail(monkeypatch):
    """A modal message box that a test did not answer would wait forever offscreen (and hang CI):
    fail at once instead, naming it. A test that expects a question patches it after this."""
    from PySide6.QtWidgets import QMessageBox

    def refuse(name):
        def unanswered(*args, **_kwargs):
            texts = [a for a in args if isinstance(a, str)]
            pytest.fail(f"unanswered QMessageBox.{name}: {' / '.join(texts) or args!r} (patch it in the test)")
        return unanswered

    for name in ("question", "warning", "critical", "information", "exec"):
        monkeypatch.setattr(QMessageBox, name, refuse(name))


@pytest.fixture(scope="session")
def _shared_data_home(tmp_path_factory):
    return tmp_path_factory.mktemp("shared-data")


@pytest.fixture
def demo_data_home(_shared_data_home, monkeypatch):
    """An XDG_DATA_HOME shared by the tests that open the demo, so it is built once per session (slow)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(_shared_data_home))
    return _shared_data_home


@pytest.fixture
def small_project_dir(tmp_path):
    """A fresh 16-sample project folder with its own images (closed; open it with ``Project.open``)."""
    dataset = generate_demo(tmp_path / "dataset", seed=0, counts=SMALL_COUNTS)
    project_dir = tmp_path / "small-project"
    create_project(project_dir, dataset / "images", dataset / "masks").close()
    return project_dir


@pytest.fixture
def app_env(user_home):
    """The environment for ``python -m gradia_desktop.qt.window.app`` in a child process (headless)."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env
