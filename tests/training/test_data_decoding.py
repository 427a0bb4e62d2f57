"""training/data.py: images are decoded at the training size, upright, and checked against the project."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gradia_desktop.core.project_init import create_project
from gradia_desktop.errors import GradiaError
from gradia_desktop.training.data import load_split


def _jpeg(path, array, orientation=None):
    ok, buf = cv2.imencode(".jpg", array)
    data = buf.tobytes()
    if orientation:  # an APP1 EXIF block holding only the Orientation tag
        tiff = b"II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00" + bytes([orientation]) + bytes(7)
        payload = b"Exif\x00\x00" + tiff
        data = data[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def jpeg_project(tmp_path):
    root = tmp_path / "IMAGES"
    band = np.zeros((64, 96, 3), np.uint8)
    band[:, :24] = 255  # a white band on the left as stored
    _jpeg(root / "train/a/plain.jpg", band)
    _jpeg(root / "train/b/turned.jpg", band, orientation=6)  # shown turned clockwise: the band on top
    project = create_project(tmp_path / "p", root)
    yield project
    project.close()


def test_jpegs_are_decoded_at_the_training_size_and_upright(jpeg_project, decode_flags):
    flags = decode_flags
    data = load_split(jpeg_project, "train", 16)
    # 64 px on the shorter side: 1/4 keeps 16 px, so nothing larger is ever decoded
    assert flags == [cv2.IMREAD_REDUCED_COLOR_4 | cv2.IMREAD_IGNORE_ORIENTATION] * 2
    plain, turned = data.images.numpy().transpose(0, 2, 3, 1).mean(axis=3)
    assert plain[:, :3].mean() > 200 and plain[:, 5:].mean() < 40
    assert turned[:3].mean() > 200 and turned[5:].mean() < 40


def test_an_image_that_changed_size_is_named(jpeg_project):
    sample = jpeg_project.samples()[0]
    _jpeg(jpeg_project.image_path(sample), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(GradiaError, match="plain.jpg: image is now 64x64, the project recorded 96x64"):
        load_split(jpeg_project, "train", 16)


def test_an_image_unreadable_since_init_is_left_out_with_a_warning(jpeg_project):
    plain, turned = jpeg_project.samples()
    jpeg_project.image_path(turned).write_bytes(b"")
    warned = []
    data = load_split(jpeg_project, "train", 16, warn=warned.append)
    assert [s.id for s in data.samples] == [plain.id] and len(data) == 1
    assert tuple(data.images.shape) == (1, 3, 16, 16) and data.labels.tolist() == [0]
    line = f"warning: {jpeg_project.image_path(turned)}: empty file, not an image; sample {turned.id} left out of " \
           "the train split"
    assert warned == [line] and data.left_out == [line]
