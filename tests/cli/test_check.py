"""`gradia check`: exit status 0 clean, 1 problems found or repaired, 2 errors; --json; what --repair says."""

from __future__ import annotations

import json

import pytest

from gradia_desktop.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def closed_project(small_project):
    root = small_project.root
    small_project.close()
    return root


def test_a_clean_project_exits_0(closed_project, capsys):
    code, out, _ = run(capsys, "check", closed_project, "--quiet")
    assert code == 0 and out.strip() == f"{closed_project}: no problems found"
    code, out, _ = run(capsys, "check", closed_project, "--json", "--quiet")
    assert code == 0 and json.loads(out) == {"project": str(closed_project), "ok": True, "problems": [],
                                             "repaired": []}


def test_problems_exit_1_and_repair_says_what_it_did(closed_project, capsys):
    masks = closed_project / "masks"
    victim = sorted(masks.iterdir())[0]
    victim.unlink()
    (masks / "999999-3.png").write_bytes(b"orphan")

    code, out, _ = run(capsys, "check", closed_project, "--quiet")
    lines = out.strip().splitlines()
    assert code == 1 and lines[0] == f"{closed_project}: 2 problems found (gradia check --repair fixes what is safe to fix)"
    assert any(victim.name in line and "missing" in line for line in lines[1:])
    assert any("masks/999999-3.png" in line for line in lines[1:])

    code, out, _ = run(capsys, "check", closed_project, "--repair", "--json", "--quiet")
    result = json.loads(out)
    assert code == 1 and result["ok"] is True and result["problems"] == [] and len(result["repaired"]) == 2

    code, out, _ = run(capsys, "check", closed_project, "--quiet")
    assert code == 0


def test_errors_exit_2_in_one_line(tmp_path, capsys):
    code, out, err = run(capsys, "check", tmp_path / "missing")
    assert code == 2 and out == ""
    assert [line for line in err.splitlines() if "error:" in line] == [
        f"gradia check: error: {tmp_path / 'missing'}: project folder not found"]


def test_repair_of_a_project_in_use_exits_2(small_project, capsys, monkeypatch):
    from gradia_desktop.core import project_lock

    def in_use(root):
        raise project_lock.ProjectInUse(root, project_lock.Holder(4242, "elsewhere", "noon"))

    monkeypatch.setattr(project_lock, "acquire", in_use)
    code, _, err = run(capsys, "check", small_project.root, "--repair")
    assert code == 2 and "in use by PID 4242 on elsewhere" in err
