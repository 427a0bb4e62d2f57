"""A disk that refuses (full, read-only, forbidden) while training, evaluating or tidying: one line, nothing half-made."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import pytest

from gradia_desktop.cli import main
from gradia_desktop.core import atomic
from gradia_desktop.core.store import Project
from gradia_desktop.errors import GradiaError
from gradia_desktop.training import checkpoint
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.trainer import train

ONE_EPOCH = ["--epochs", "1", "--batch-size", "16", "--image-size", "32", "--device", "cpu"]
FAST = dict(epochs=2, batch_size=16, image_size=32, device="cpu")


def cli(capsys, *argv) -> tuple[int, list[str], str]:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if "error:" in line], err


def fill_the_disk_half_way(monkeypatch, fault: int = errno.ENOSPC) -> None:
    """The disk refuses when a checkpoint's weights are flushed (as a full disk does with delayed allocation)."""
    real_fsync = os.fsync

    def fsync(fd):
        if ".safetensors" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(fault, os.strerror(fault))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_while_saving_a_checkpoint_is_one_line_and_a_failed_version(small_project, monkeypatch, capsys):
    root = small_project.root
    fill_the_disk_half_way(monkeypatch)
    code, errors, err = cli(capsys, "train", root, *ONE_EPOCH)
    expected = f"{root}/models/v1/epoch_001.safetensors: cannot write the checkpoint (No space left on device)"
    assert code == 2 and errors == [f"gradia train: error: {expected}"], err
    assert "Traceback" not in err
    version = small_project.versions(status="failed")[-1]
    assert version.note == expected
    assert not small_project.models_dir(version.id).exists()  # no partial checkpoint, no temp file
    assert small_project.versions() == []


@pytest.mark.parametrize("fault, text", [(errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")])
def test_read_only_or_forbidden_checkpoint_folders_are_one_line_too(small_project, monkeypatch, fault, text):
    fill_the_disk_half_way(monkeypatch, fault)
    with pytest.raises(GradiaError, match=rf"epoch_001\.safetensors: cannot write the checkpoint \({text}\)"):
        train(small_project, TrainConfig(mode="baseline", **FAST))


def test_when_the_database_is_full_too_the_checkpoint_error_is_the_one_reported(small_project, monkeypatch):
    fill_the_disk_half_way(monkeypatch)

    def database_full(*_args, **_kwargs):
        raise GradiaError(f"{small_project.root}/project.db: cannot write, the database or disk is full")

    monkeypatch.setattr(Project, "finish_version", database_full)
    with pytest.raises(GradiaError, match="epoch_001.safetensors: cannot write the checkpoint"):
        train(small_project, TrainConfig(mode="baseline", **FAST))
    assert [p.name for p in (small_project.root / "models").iterdir()] == []  # the row stays 'running' for reopen


def test_a_read_only_models_folder_while_tidying_old_epochs_is_one_line(small_project, monkeypatch):
    real_unlink = Path.unlink

    def unlink(self, missing_ok=False):
        if self.name.startswith("epoch_"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(GradiaError, match=r"/models/v1/epoch_00\d\.\w+: Read-only file system \(training stopped, "
                                          r"no version was made\)") as info:
        train(small_project, TrainConfig(mode="baseline", **FAST))
    assert "\n" not in str(info.value)
    assert small_project.version(1).status == "failed" and "Read-only file system" in small_project.version(1).note


def test_a_killed_save_never_leaves_weights_without_their_description(tmp_path, monkeypatch):
    """The description is written first: weights on disk (what marks the epoch saved) always have it."""
    from gradia_desktop.training.models import build_model

    order = []
    real = atomic.atomic_write

    def record(path, write):
        order.append(Path(path).suffix)
        real(path, write)

    monkeypatch.setattr(atomic, "atomic_write", record)
    spec = checkpoint.ModelSpec("tiny", ["a", "b"], "layer4", 32)
    checkpoint.save_checkpoint(tmp_path / "epoch_001.safetensors", build_model("tiny", 2), spec)
    assert order == [".json", ".safetensors"]
    assert checkpoint.load_checkpoint(tmp_path / "epoch_001.safetensors")[2] == spec


def test_eval_with_a_full_database_is_one_line(small_project, monkeypatch, capsys):
    version = train(small_project, TrainConfig(mode="baseline", **{**FAST, "epochs": 1})).version
    root = small_project.root

    def full(self, version_id, predictions):
        with self._write():  # the store's own transaction, so its own translation of SQLite's error
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Project, "save_predictions", full)
    code, errors, err = cli(capsys, "eval", root, "--version", version, "--split", "test", "--recompute",
                            "--device", "cpu")
    assert code == 2 and len(errors) == 1 and "database or disk is full" in errors[0], err
    assert "Traceback" not in err
