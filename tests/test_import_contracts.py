"""The import-linter contracts in pyproject.toml hold, and each one really catches what it forbids.

Each case copies the package, plants one forbidden import (inside a function, where a runtime
import test would never see it) and checks that exactly the contract meant to catch it breaks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (pip install -e '.[test]')")

PLANTS = [  # (module file, planted function body, contract id that must break)
    ("training/loss.py", "import PySide6.QtCore", "training-no-qt"),
    ("training/data.py", "from pyqtgraph import PlotWidget", "training-no-qt"),
    ("core/metrics.py", "import torch", "core-no-qt-no-torch"),
    ("core/images.py", "from PySide6.QtGui import QImage", "core-no-qt-no-torch"),
    ("core/store.py", "from gradia_desktop.cli import main", "nothing-imports-cli"),
    ("qt/canvas/layers.py", "from gradia_desktop.bench.export import run_export_bench", "product-imports-no-bench"),
    ("cli/commands.py", "from gradia_desktop.bench.training_step import run_bench", "product-imports-no-bench"),
    ("training/trainer.py", "from gradia_desktop.qt.window import app", "layers"),
    ("core/records.py", "from gradia_desktop.training import device", "layers"),
    ("qt/canvas/layers.py", "from gradia_desktop.qt.window import main_window", "gui-rooms"),
    ("qt/browser/thumbnails.py", "from gradia_desktop.qt.models import training_dock", "gui-rooms"),
]


def contract_ids() -> list[str]:
    return re.findall(r'^id = "([\w-]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)


def lint(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache", "pyproject.toml"], cwd=folder, capture_output=True, text=True,
                          timeout=300)


def broken_contracts(output: str) -> set[str]:
    names = dict(re.findall(r'^id = "([\w-]+)"\nname = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE))
    flat = " ".join(output.split())  # lint-imports wraps long names over lines
    return {cid for cid, name in names.items() if f"{' '.join(name.split())} BROKEN" in flat}


@pytest.fixture
def package_copy(tmp_path):
    """A copy of the package and of the import-linter part of pyproject.toml, found before the installed one."""
    shutil.copytree(ROOT / "gradia_desktop", tmp_path / "gradia_desktop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(text[text.index("[tool.importlinter]"):])
    return tmp_path


def test_every_contract_holds_on_the_real_tree():
    result = subprocess.run([str(LINT), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert set(contract_ids()) >= {case[2] for case in PLANTS}


@pytest.mark.parametrize("module, body, contract", PLANTS, ids=[f"{c}:{m}" for m, _, c in PLANTS])
def test_a_planted_import_breaks_its_contract(package_copy, module, body, contract):
    target = package_copy / "gradia_desktop" / module
    target.write_text(target.read_text() + f"\n\ndef _planted():\n    {body}  # noqa\n")
    result = lint(package_copy)
    assert result.returncode != 0, f"{contract} did not catch `{body}` in {module}"
    assert contract in broken_contracts(result.stdout), result.stdout[-3000:]
