"""The user guide's walkthrough played by the app (guide_tour.py): where it clicks, and (slow) the whole
tour writing its six pictures: `pytest -m heavy tests/qt/window/test_guide_tour.py`."""

from __future__ import annotations

import subprocess
import sys

import cv2
import pytest

from gradia_desktop.core.demo import generate_demo
from gradia_desktop.qt.window.guide_tour import SHOTS, object_point

from ..helpers_qt import png_size


def test_the_tour_clicks_inside_the_object_of_every_demo_image(tmp_path):
    data = generate_demo(tmp_path / "demo", seed=3, counts={"train": 0, "val": 12, "test": 12})
    masks = sorted((data / "masks").rglob("*.png"))
    assert len(masks) == 48
    for mask_path in masks:
        image_path = next((data / "images").glob(f"{mask_path.relative_to(data / 'masks').with_suffix('')}.*"))
        rgb = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB)
        x, y = object_point(rgb)
        assert cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)[y, x] > 0, image_path.name


@pytest.mark.heavy
def test_the_whole_tour_writes_every_picture(tmp_path, app_env):
    done = subprocess.run([sys.executable, "-m", "gradia_desktop.qt.window.app", "--guide-screenshots", str(tmp_path)],
                          env=app_env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    for shot in SHOTS[:-1]:
        assert png_size(tmp_path / shot) == (1440, 900), shot
    assert (tmp_path / SHOTS[-1]).is_file()  # the export dialog alone
