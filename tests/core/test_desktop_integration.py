"""core/desktop_integration.py: the launcher, icons, AppStream metainfo and project file type, installed
into a data folder; the shipped files pass desktop-file-validate and appstreamcli validate (Debian's
desktop-file-utils and appstream; those checks are skipped where the tools are missing)."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from gradia_desktop.core import desktop_integration as desktop
from gradia_desktop.errors import GradiaError


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_every_shipped_file_is_there_and_each_icon_has_its_size():
    for source in desktop.shipped_files().values():
        assert source.is_file(), source
    for size in desktop.ICON_SIZES:
        assert _png_size(desktop.icon_png(size)) == (size, size)


def test_the_shipped_desktop_file_validates():
    done = subprocess.run([_tool("desktop-file-validate"), str(desktop.desktop_file())], capture_output=True, text=True)
    assert done.returncode == 0 and "error" not in done.stdout.lower(), done.stdout


def test_the_shipped_metainfo_validates():
    done = subprocess.run([_tool("appstreamcli"), "validate", "--no-net", str(desktop.metainfo_file())],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_install_writes_every_file_with_this_launcher_and_uninstall_removes_them(tmp_path):
    data = tmp_path / "share"
    launcher = str(tmp_path / "my apps" / "gradia-desktop")  # a space: the Exec line quotes it
    report = desktop.install(data, launcher, refresh=False)
    assert sorted(report.written) == sorted(data / r for r in desktop.shipped_files())
    entry = (data / "applications" / f"{desktop.APP_ID}.desktop").read_text()
    assert f'Exec="{launcher}" %f' in entry and f"TryExec={launcher}" in entry
    assert "MimeType=application/x-gradia-project;" in entry
    png = data / "icons" / "hicolor" / "48x48" / "apps" / f"{desktop.APP_ID}.png"
    assert png.read_bytes() == desktop.icon_png(48).read_bytes()
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", str(data / "applications" / f"{desktop.APP_ID}.desktop")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout
    removed = desktop.uninstall(data, refresh=False)
    assert len(removed.written) == len(desktop.shipped_files())
    assert not any(p.is_file() for p in data.rglob("*"))


def test_the_mime_database_learns_that_project_sqlite_is_a_project(tmp_path):
    _tool("update-mime-database")
    data = tmp_path / "share"
    report = desktop.install(data, "/opt/gradia/gradia-desktop")
    assert "update-mime-database" in report.refreshed, report.failed_tools
    globs = (data / "mime" / "globs2").read_text()
    assert "application/x-gradia-project:project.sqlite" in globs


def test_a_data_folder_that_cannot_be_written_is_named(tmp_path):
    blocked = tmp_path / "share"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(GradiaError, match="share/applications.*cannot write") as error:
        desktop.install(blocked, "/usr/bin/gradia-desktop", refresh=False)
    assert "\n" not in str(error.value)


def test_a_broken_installation_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(desktop, "ICON_DIR", tmp_path)
    with pytest.raises(GradiaError, match=r"org\.gradia\.GradiaDesktop\.svg: missing from this installation"):
        desktop.install(tmp_path / "share", "/usr/bin/gradia-desktop", refresh=False)


def test_the_launcher_is_the_one_beside_this_python(tmp_path, monkeypatch):
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    (python.parent / "gradia-desktop").write_text("#!/bin/sh\n")
    monkeypatch.setattr(desktop.sys, "executable", str(python))
    assert desktop.this_launcher() == str(python.parent / "gradia-desktop")
    monkeypatch.setattr(desktop.sys, "frozen", True, raising=False)  # a bundle: its own executable
    assert desktop.this_launcher() == str(python.resolve())
