"""Smoke test on a real X server (Xvfb) with Qt's xcb platform plugin, as on a Linux desktop.

Skipped when Xvfb is missing, except in CI (env CI set), where .ci/run installs it and it must run.

Debian 12 packages this needs besides Python (found by running it with QT_DEBUG_PLUGINS=1 and
mapping every shared library the process loaded to its package):
  xvfb
  Qt itself (also for the offscreen tests): libegl1 libgl1 libfontconfig1 libglib2.0-0
    libdbus-1-3 libxkbcommon0
  the xcb plugin: libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
    libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1
    (which pull in libxcb-render0 libxcb-shm0 libxcb-sync1 libxcb-util1)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ..helpers_qt import png_size

from gradia_desktop.qt.window.app import WINDOW_SIZE

DISPLAYS = range(99, 121)
START_TIMEOUT_S = 10


def _display_in_use(n: int) -> bool:
    return Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists()


@pytest.fixture
def xvfb_display(tmp_path):
    """Start Xvfb on a free display number; yields ':N' and stops it afterwards."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is not installed, but CI must run this test (apt-get install xvfb)")
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    log = tmp_path / "xvfb.log"
    for n in (n for n in DISPLAYS if not _display_in_use(n)):
        with open(log, "ab") as out:
            proc = subprocess.Popen([xvfb, f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                                    stdout=out, stderr=out)
        socket = Path(f"/tmp/.X11-unix/X{n}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while proc.poll() is None and not socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None and socket.exists():
            try:
                yield f":{n}"
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            return
        proc.kill()  # lost a race for this display, or it failed: try the next one
        proc.wait()
    pytest.fail(f"could not start Xvfb on any display :{DISPLAYS[0]}..:{DISPLAYS[-1]}\n{log.read_text()}")


def test_screenshot_on_xvfb(xvfb_display, small_project_dir, tmp_path, app_env):
    env = {**app_env, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    out = tmp_path / "xvfb.png"
    result = subprocess.run(
        [sys.executable, "-m", "gradia_desktop.qt.window.app", str(small_project_dir), "--screenshot", str(out)],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0
    assert png_size(out) == WINDOW_SIZE
