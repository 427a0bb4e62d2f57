"""core/ and training/ never import Qt: checked by importing every module with Qt made unimportable."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import gradia_desktop

PACKAGE = Path(gradia_desktop.__file__).parent

BLOCK_QT = """
import importlib.abc, sys
class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'PySide6', 'PyQt5', 'PyQt6', 'shiboken6', 'qtpy'}:
            raise ImportError('Qt is not allowed here: ' + name)
sys.meta_path.insert(0, BlockQt())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
print('imported', len(sys.argv) - 1)
"""


def _modules(sub: str) -> list[str]:
    return [f"gradia_desktop.{sub}.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE / sub)])]


def test_core_training_and_cli_import_without_qt():
    names = _modules("core") + _modules("training") + ["gradia_desktop.cli", "gradia_desktop.cli.commands"]
    assert len(names) > 15
    proc = subprocess.run([sys.executable, "-c", BLOCK_QT, *names], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"imported {len(names)}" in proc.stdout


def test_the_check_can_fail():
    proc = subprocess.run([sys.executable, "-c", BLOCK_QT, "PySide6.QtCore"], capture_output=True, text=True)
    assert proc.returncode != 0 and "Qt is not allowed" in proc.stderr


def test_core_does_not_import_torch():
    names = _modules("core")
    code = "import sys, importlib\n[importlib.import_module(n) for n in sys.argv[1:]]\nprint('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr


def test_the_cli_loads_no_benchmark_code_until_gradia_bench_runs():
    code = ("import sys, gradia_desktop.cli as cli\n"
            "cli.build_parser().parse_args(['bench', '--gui'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('gradia_desktop.bench') or m.startswith('PySide6')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr
