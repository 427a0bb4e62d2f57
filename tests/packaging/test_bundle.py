"""`make package`'s bundle: built with PyInstaller, it opens the demo, trains its baseline and writes a
screenshot with a bare environment (no PATH to any Python, a fresh HOME), and its `gradia` link runs
the command line. Minutes and gigabytes: `pytest -m heavy tests/packaging/test_bundle.py` (needs
PyInstaller: `make package` installs it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradia_desktop import __version__

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.heavy
def test_the_bundle_runs_the_demo_without_python(tmp_path):
    pytest.importorskip("PyInstaller")
    built = subprocess.run([REPO / "packaging" / "build-bundle.sh", sys.executable], capture_output=True, text=True,
                           timeout=3600, cwd=REPO)
    assert built.returncode == 0, built.stderr[-3000:]
    bundle = REPO / "dist" / "gradia-desktop"
    bare = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"}
    out = tmp_path / "shot.png"
    run = subprocess.run([bundle / "gradia-desktop", "--demo", "--screenshot", out], env=bare, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    models = tmp_path / ".local" / "share" / "gradia-desktop" / "demo" / "project" / "models"
    assert any(models.glob("v1/*.safetensors"))  # the baseline trained inside the bundle
    cli = subprocess.run([bundle / "gradia", "--version"], env=bare, capture_output=True, text=True, timeout=120)
    assert cli.stdout.strip() == f"gradia {__version__}"
