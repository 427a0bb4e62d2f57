"""`gradia desktop install | uninstall`: the launcher, icons, metainfo and project file type in a data folder."""

from __future__ import annotations

import json

import pytest

from .cli_run import run


def test_install_then_uninstall_with_json(tmp_path, capsys):
    share = tmp_path / "share"
    code, out, _err = run(capsys, "desktop", "install", "--data-dir", share, "--json")
    report = json.loads(out)
    assert code == 0 and report["action"] == "install" and report["data_dir"] == str(share)
    assert (share / "applications" / "org.gradia.GradiaDesktop.desktop").is_file()
    assert len(report["files"]) == 12 and all((share / f).is_file() for f in report["files"])
    code, out, _err = run(capsys, "desktop", "uninstall", "--data-dir", share)
    assert code == 0 and out.startswith("removed 12 file(s)")
    assert not (share / "applications" / "org.gradia.GradiaDesktop.desktop").exists()


def test_a_data_folder_that_cannot_be_written_ends_with_one_line(tmp_path, capsys):
    blocked = tmp_path / "share"
    blocked.write_text("a file, not a folder")
    code, out, err = run(capsys, "desktop", "install", "--data-dir", blocked)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "share/applications" in err and "cannot write" in err


def test_system_and_data_dir_do_not_go_together(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        run(capsys, "desktop", "install", "--system", "--data-dir", tmp_path)
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
