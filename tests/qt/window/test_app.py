"""The ``gradia-desktop`` entry point, run as a child process like a user would."""

from __future__ import annotations

import subprocess
import sys

from ..helpers_qt import png_size

from gradia_desktop.qt.window.app import WINDOW_SIZE


def run_app(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradia_desktop.qt.window.app", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_demo_screenshot(tmp_path, app_env, demo_data_home):
    out = tmp_path / "out.png"
    result = run_app("--demo", "--screenshot", str(out), env={**app_env, "XDG_DATA_HOME": str(demo_data_home)})
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0
    assert png_size(out) == WINDOW_SIZE
    assert (demo_data_home / "gradia-desktop" / "demo" / "project").is_dir()


def test_project_screenshot(tmp_path, app_env, small_project_dir):
    out = tmp_path / "shot.png"
    result = run_app(str(small_project_dir), "--screenshot", str(out), env=app_env)
    assert result.returncode == 0, result.stderr
    assert png_size(out) == WINDOW_SIZE
    assert result.stderr == ""


def test_bad_project_path_in_a_scripted_run_exits_2_with_one_line(tmp_path, app_env):
    # Without --screenshot the window would open on the welcome page saying why (test_project_opening.py).
    missing = tmp_path / "no-such-project"
    result = run_app(str(missing), "--screenshot", str(tmp_path / "shot.png"), env=app_env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(missing) in lines[0]


def test_unwritable_screenshot_path_fails(tmp_path, app_env, small_project_dir):
    out = tmp_path / "missing-folder" / "out.png"
    result = run_app(str(small_project_dir), "--screenshot", str(out), env=app_env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0], result.stderr
    assert not out.exists()


def test_version_and_a_project_database_path_as_a_file_manager_passes_it(tmp_path, app_env, small_project_dir):
    from gradia_desktop import __version__

    result = run_app("--version", env=app_env)
    assert result.returncode == 0 and result.stdout.strip() == f"gradia-desktop {__version__}"
    out = tmp_path / "shot.png"
    result = run_app(str(small_project_dir / "project.sqlite"), "--screenshot", str(out), env=app_env)
    assert result.returncode == 0, result.stderr
    assert png_size(out) == WINDOW_SIZE


def test_install_desktop_puts_the_launcher_in_the_users_data_folder(tmp_path, app_env):
    share = tmp_path / "share"
    result = run_app("--install-desktop", env={**app_env, "XDG_DATA_HOME": str(share)})
    assert result.returncode == 0, result.stderr
    assert str(share) in result.stdout
    entry = (share / "applications" / "org.gradia.GradiaDesktop.desktop").read_text()
    assert "Exec=" in entry and "MimeType=application/x-gradia-project;" in entry
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "org.gradia.GradiaDesktop.svg").is_file()


def test_the_window_shows_the_application_icon(qtbot, small_project_dir):
    from gradia_desktop.qt.window.app import ICON, _application

    assert ICON.is_file()  # shipped in the package, not only in a source checkout
    assert not _application().windowIcon().isNull()
