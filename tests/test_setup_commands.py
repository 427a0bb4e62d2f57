"""The README's commands work as written on a fresh machine: the app installs without the test
tools, the install says what it does, and `gradia` is reachable the way the README says."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def dry_run(target: str) -> str:
    """What `make TARGET` would run from scratch (-B: as if nothing were installed yet)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_make_run_installs_the_app_without_the_test_tools():
    run = dry_run("run")
    assert "pip install --progress-bar off -e ." in run and "[test]" not in run
    assert "gradia-desktop --demo" in run
    assert "-e '.[test]'" in dry_run("test")


def test_the_install_is_quiet_but_shows_each_package_and_keeps_a_log():
    run = dry_run("run")
    assert "tee -a .venv/install.log" in run and "grep --line-buffered -E '^Collecting '" in run
    assert "--quiet -e" not in run  # pip's output is filtered, not silenced
    text = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in text  # a licence table makes setuptools print walls of deprecation warnings


def test_the_readme_activates_the_environment_before_its_first_gradia_command():
    readme = (ROOT / "README.md").read_text()
    activate = readme.index(". .venv/bin/activate")
    first_command = re.search(r"^gradia ", readme, re.MULTILINE).start()
    assert activate < first_command
    for block in re.findall(r"```sh\n(.*?)```", readme, re.DOTALL):
        if re.search(r"^gradia (demo|init|train)", block, re.MULTILINE) and "DATA" not in block:
            assert ". .venv/bin/activate" in block  # a block meant to be pasted works when pasted
