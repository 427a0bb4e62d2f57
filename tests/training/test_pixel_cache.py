"""training/pixel_cache.py and streamed splits: decoded once, reused, redone where an image changed."""

from __future__ import annotations

import json
import os
import shutil

import cv2
import numpy as np
import pytest
import torch

from gradia_desktop.core.project_init import create_project
from gradia_desktop.errors import Cancelled
from gradia_desktop.training import pixel_cache
from gradia_desktop.training.data import STREAM_ABOVE_BYTES, load_split, should_stream
from gradia_desktop.training.pixel_cache import cache_folder, cache_images, scratch_folder


@pytest.fixture
def own_project(small_dataset, tmp_path):
    """A project over a private copy of the small dataset, so its images may be edited."""
    shutil.copytree(small_dataset, tmp_path / "data")
    project = create_project(tmp_path / "project", tmp_path / "data" / "images", tmp_path / "data" / "masks")
    yield project
    project.close()


def test_a_streamed_split_holds_what_the_in_memory_split_holds(own_project):
    memory = load_split(own_project, "train", 32, stream=False)
    streamed = load_split(own_project, "train", 32, stream=True)
    assert streamed.streamed and not memory.streamed
    assert [s.id for s in streamed.samples] == [s.id for s in memory.samples]
    assert torch.equal(streamed.images[:], memory.images)
    assert torch.equal(streamed.masks[:], memory.masks) and torch.equal(streamed.has_mask, memory.has_mask)
    assert torch.equal(streamed.labels, memory.labels) and bool(memory.has_mask.any())
    index = torch.tensor([5, 0, 9])
    assert torch.equal(streamed.masks[index], memory.masks[index])
    masked = int(torch.nonzero(memory.has_mask)[0])
    assert torch.equal(streamed.masks[masked], memory.masks[masked]) and streamed.masks[masked].shape == (32, 32)
    assert len(streamed.masks.rows) == int(memory.has_mask.sum())  # no bytes held for images without a mask


def test_rows_are_decoded_once_and_again_only_for_an_edited_image(own_project):
    samples = own_project.samples(split="train")
    first = cache_images(own_project, samples, 32, "train split")
    assert first.decoded == len(samples)
    assert cache_images(own_project, samples, 32, "train split").decoded == 0
    edited = samples[3]
    path = own_project.image_path(edited)
    rgb = cv2.imread(str(path))
    cv2.imwrite(str(path), 255 - rgb)  # same size, other pixels
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 1_000_000))
    again = cache_images(own_project, samples, 32, "train split")
    assert again.decoded == 1
    fresh = pixel_cache.decode_at(own_project, edited, 32)
    assert torch.equal(again.images[3], torch.from_numpy(fresh).permute(2, 0, 1))
    assert torch.equal(again.images[2], first.images[2])


def test_an_unreadable_image_is_left_out_with_its_file_named(own_project):
    samples = own_project.samples(split="train")
    broken = own_project.image_path(samples[1])
    broken.write_bytes(b"not an image")
    lines = []
    cached = cache_images(own_project, samples, 32, "train split", warn=lines.append)
    assert len(cached.kept) == len(samples) - 1 and 1 not in cached.kept and len(cached.images) == len(samples) - 1
    assert len(lines) == 1 and str(broken) in lines[0] and f"sample {samples[1].id}" in lines[0]
    broken.unlink()
    gone = cache_images(own_project, samples, 32, "train split")
    assert gone.left_out and str(broken) in gone.left_out[0] and "cannot read the file" in gone.left_out[0]


def test_an_interrupted_build_keeps_the_rows_it_saved(own_project, monkeypatch):
    monkeypatch.setattr(pixel_cache, "SAVE_EVERY", 4)
    samples = own_project.samples(split="train")
    asked = []

    def cancel_after_ten():
        asked.append(1)
        return len(asked) > 10

    with pytest.raises(Cancelled):
        cache_images(own_project, samples, 32, "train split", cancelled=cancel_after_ten)
    resumed = cache_images(own_project, samples, 32, "train split")
    assert resumed.decoded == len(samples) - 8  # two saves of four rows survived
    memory = load_split(own_project, "train", 32, stream=False)
    assert torch.equal(resumed.images[:], memory.images)


def test_a_damaged_index_only_costs_the_decoding(own_project):
    samples = own_project.samples(split="val")
    cache_images(own_project, samples, 32, "val split")
    (cache_folder(own_project, 32) / "index.json").write_text("{half", encoding="utf-8")
    again = cache_images(own_project, samples, 32, "val split")
    assert again.decoded == len(samples)
    assert json.loads((cache_folder(own_project, 32) / "index.json").read_text())["size"] == 32


def test_auto_streams_only_what_is_too_large_to_hold():
    assert not should_stream("auto", 100, 224)
    assert should_stream("auto", STREAM_ABOVE_BYTES // (224 * 224 * 3) + 1, 224)
    assert should_stream("stream", 1, 16) and not should_stream("memory", 10**9, 224)


def test_scratch_folders_of_dead_runs_are_removed(own_project):
    stale = own_project.root / "cache" / "scratch" / "run-999999999-x"
    stale.mkdir(parents=True)
    with scratch_folder(own_project) as folder:
        assert folder.is_dir() and not stale.exists()
    assert not folder.exists()
