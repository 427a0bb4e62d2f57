"""core/image_file.py through core/images.py: only regular files of bounded size are read, never a hang."""

from __future__ import annotations

import errno
import os
import sys

import numpy as np
import pytest

from gradia_desktop.core import image_file, images
from gradia_desktop.errors import GradiaError

from .conftest import encode_png
from .image_samples import call_with_timeout, release_fifo

READERS = [images.read_rgb, images.read_mask, images.image_size, images.verify_image]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="named pipes and /dev need a POSIX system")


def refusal(fn, path) -> str:
    with pytest.raises(GradiaError) as exc:
        call_with_timeout(fn, path)
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg
    return msg


@posix_only
@pytest.mark.parametrize("fn", READERS)
def test_a_named_pipe_is_refused_at_once(tmp_path, fn):
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    try:
        assert "named pipe, not an image file" in refusal(fn, path)
    finally:
        release_fifo(path)


@posix_only
@pytest.mark.parametrize("fn", READERS)
def test_a_device_is_refused(tmp_path, fn):
    path = tmp_path / "zero.png"
    path.symlink_to("/dev/zero")  # endless: reading it whole would never end
    assert "character device, not an image file" in refusal(fn, path)


@pytest.mark.parametrize("fn", READERS)
def test_a_folder_named_png_is_refused(tmp_path, fn):
    path = tmp_path / "folder.png"
    path.mkdir()
    assert "a folder, not an image file" in refusal(fn, path)


@pytest.mark.parametrize("fn", READERS)
def test_a_symlink_loop_is_refused(tmp_path, fn):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.symlink_to(b)
    b.symlink_to(a)
    assert "symbolic link loop" in refusal(fn, a)


def test_a_dangling_symlink_is_not_found(tmp_path):
    path = tmp_path / "gone.png"
    path.symlink_to(tmp_path / "nowhere.png")
    assert "file not found" in refusal(images.read_rgb, path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads chmod 000 files")
def test_an_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "locked.png"
    path.write_bytes(encode_png(np.zeros((2, 2), np.uint8)))
    path.chmod(0)
    try:
        assert "permission denied" in refusal(images.read_rgb, path)
    finally:
        path.chmod(0o644)


def test_permission_denied_is_one_line(tmp_path, monkeypatch):
    # the same as chmod 000, also where the tests run as root
    path = tmp_path / "locked.png"
    path.write_bytes(encode_png(np.zeros((2, 2), np.uint8)))

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(image_file.os, "open", denied)
    assert "permission denied" in refusal(images.read_mask, path)


@pytest.mark.parametrize("fn", READERS)
def test_an_empty_file_is_refused(tmp_path, fn):
    path = tmp_path / "empty.png"
    path.touch()
    assert "empty file" in refusal(fn, path)


def test_files_above_the_size_limit_are_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(encode_png(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)))
    size = path.stat().st_size
    monkeypatch.setenv(image_file.MAX_BYTES_ENV, str(size - 1))
    msg = refusal(images.read_rgb, path)
    assert f"{size:,} bytes is above the limit of {size - 1:,} bytes" in msg and image_file.MAX_BYTES_ENV in msg
    monkeypatch.setenv(image_file.MAX_BYTES_ENV, str(size))
    assert images.read_rgb(path).shape == (32, 32, 3)


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1.5"])
def test_a_bad_size_limit_setting_is_named(tmp_path, monkeypatch, value):
    path = tmp_path / "x.png"
    path.write_bytes(encode_png(np.zeros((2, 2), np.uint8)))
    monkeypatch.setenv(image_file.MAX_BYTES_ENV, value)
    with pytest.raises(GradiaError, match=f"{image_file.MAX_BYTES_ENV}='{value}': not a positive whole number"):
        images.read_rgb(path)


def test_open_regular_hands_back_the_file_and_its_size(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"12345")
    with image_file.open_regular(path) as (file, size):
        assert size == 5 and file.read() == b"12345"
    assert file.closed
