"""core/store.py: the Project store (SQLite in WAL mode + masks/ PNGs)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading

import cv2
import numpy as np
import pytest

from gradia_desktop.core import atomic
from gradia_desktop.core import images as images_module
from gradia_desktop.core.project_init import create_project
from gradia_desktop.core.records import Prediction, Sample
from gradia_desktop.core.schema import DB_NAME
from gradia_desktop.core.store import Project
from gradia_desktop.core.training_metrics import EpochMetrics
from gradia_desktop.errors import GradiaError

from .conftest import H, IDS, ODD_H, ODD_W, W, square_mask, write_image


def one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and msg.strip() == msg and msg
    return msg


def _done_version(p: Project, **config) -> int:
    vid = p.create_version(None, "baseline", "resnet18", "layer4", 64, config or {"lr": 0.1})
    p.finish_version(vid, "done", checkpoint=f"models/v{vid}/best.safetensors", best_epoch=2,
                     metrics={"val": {"accuracy": 0.5}})
    return vid


def _epoch(epoch: int, loss: float) -> EpochMetrics:
    return EpochMetrics(epoch=epoch, loss=loss, ce=loss, attention=0.0, train_accuracy=0.5, val_accuracy=0.5,
                        val_iou=None, val_energy=None, val_pointing=None, seconds=1.0)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- opening ----------------------------------------------------------------------------------

def test_open_non_project_folder(tmp_path):
    (tmp_path / "some.txt").write_text("x")
    with pytest.raises(GradiaError) as exc:
        Project.open(tmp_path)
    msg = one_line(exc)
    assert str(tmp_path) in msg and "not a GRADIA project" in msg and DB_NAME in msg


def test_open_missing_folder(tmp_path):
    with pytest.raises(GradiaError) as exc:
        Project.open(tmp_path / "nope")
    assert str(tmp_path / "nope") in one_line(exc)
    assert not (tmp_path / "nope").exists()


def test_open_corrupt_database(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"this is not an sqlite database" * 50)
    with pytest.raises(GradiaError) as exc:
        Project.open(tmp_path)
    assert str(tmp_path / DB_NAME) in one_line(exc)


def test_open_foreign_sqlite_database(tmp_path):
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    before = _sha(tmp_path / DB_NAME)
    with pytest.raises(GradiaError) as exc:
        Project.open(tmp_path)
    assert f"{tmp_path / DB_NAME}: not a GRADIA project database" in one_line(exc)
    assert _sha(tmp_path / DB_NAME) == before  # not turned into WAL mode, nor written at all
    assert sorted(os.listdir(tmp_path)) == [DB_NAME]


def test_open_unsupported_schema_version(project):
    root = project.root
    project.close()
    conn = sqlite3.connect(root / DB_NAME)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(GradiaError) as exc:
        Project.open(root)
    msg = one_line(exc)
    assert "schema version 99" in msg and str(root / DB_NAME) in msg


def test_journal_mode_is_wal(project):
    assert project._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other = sqlite3.connect(project.root / DB_NAME)  # WAL is persistent: a fresh connection sees it
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_open_returns_classes_and_images_root(project, shared_tree):
    assert project.classes == ["cat", "dog"]
    assert project.images_root == shared_tree.images.resolve()
    assert project.readonly is False
    assert project.models_dir(3) == project.root / "models" / "v3"
    assert project.mask_path(4) == project.root / "masks" / "4.png"


def test_context_manager_closes(project):
    with Project.open(project.root) as p:
        assert len(p.samples()) == 10
    with pytest.raises(sqlite3.ProgrammingError):
        p.samples()


def test_reopen_keeps_everything(project):
    vid = _done_version(project)
    project.write_mask(2, square_mask())
    project.set_judgement(vid, 3, False)
    project.set_setting("brush", 12)
    root = project.root
    project.close()
    with Project.open(root) as p:
        assert p.sample(2).has_mask
        np.testing.assert_array_equal(p.read_mask(2), square_mask())
        assert p.judgements(vid) == {3: False}
        assert p.setting("brush") == 12
        assert [v.id for v in p.versions()] == [vid]


@pytest.mark.parametrize("name", ["Project #2", "what?", "a%20b"])
def test_open_project_whose_path_has_uri_characters(project, tmp_path, name):
    root = project.root
    project.close()
    moved = tmp_path / name
    shutil.move(root, moved)
    before = sorted(os.listdir(tmp_path))
    with Project.open(moved) as p:
        assert len(p.samples()) == 10
    assert sorted(os.listdir(tmp_path)) == before  # no stray database beside it


def test_open_non_ascii_and_space_path(project, tmp_path):
    root = project.root
    project.close()
    moved = tmp_path / "Projekt Grün 100%"
    shutil.move(root, moved)
    with Project.open(moved) as p:
        assert len(p.samples()) == 10
        p.set_setting("ok", True)


def test_unwritable_folder_opens_read_only(project, monkeypatch):
    from gradia_desktop.core import store

    root = project.root
    project.close()
    monkeypatch.setattr(store.os, "access", lambda path, mode: False)
    with Project.open(root) as p:
        assert p.readonly is True
        assert len(p.samples()) == 10
        with pytest.raises(GradiaError, match="read-only"):
            p.set_setting("k", 1)


# ---- samples ----------------------------------------------------------------------------------

def test_samples_in_id_order_with_fields(project):
    samples = project.samples()
    assert [s.id for s in samples] == list(range(1, 11))
    for s in samples:
        split, cls, name = IDS[s.id]
        assert s.path == f"{split}/{cls}/{name}"
        assert (s.split, s.class_name, s.class_idx) == (split, cls, ["cat", "dog"].index(cls))
    s6 = project.sample(6)
    assert (s6.width, s6.height) == (ODD_W, ODD_H)
    assert (project.sample(1).width, project.sample(1).height) == (W, H)
    assert [s.id for s in samples if s.has_mask] == [1, 7, 10]


@pytest.mark.parametrize("kwargs,expected", [
    ({"split": "train"}, [1, 2, 3, 4, 5, 6]),
    ({"split": "val"}, [7, 8]),
    ({"split": "test"}, [9, 10]),
    ({"class_name": "dog"}, [4, 5, 6, 8, 10]),
    ({"split": "train", "class_name": "cat"}, [1, 2, 3]),
    ({"has_mask": True}, [1, 7, 10]),
    ({"has_mask": False}, [2, 3, 4, 5, 6, 8, 9]),
    ({"has_mask": True, "split": "test"}, [10]),
    ({"text": "d2"}, [6]),
    ({"text": "D2.PNG"}, [6]),  # case-insensitive
    ({"text": "val/"}, [7, 8]),
    ({"text": "c"}, [1, 2, 3, 7, 9]),  # 'cat/...' paths
    ({"text": "c", "class_name": "dog"}, []),
    ({"text": "zzz"}, []),
    ({"text": ""}, list(range(1, 11))),
    ({"text": None, "split": None, "class_name": None, "has_mask": None}, list(range(1, 11))),
])
def test_samples_filters(project, kwargs, expected):
    assert [s.id for s in project.samples(**kwargs)] == expected


def test_samples_text_filter_is_literal_not_a_pattern(project):
    assert project.samples(text="%") == []
    assert project.samples(text="_") == []
    assert project.samples(text="c?") == []


def test_samples_unknown_split_or_class(project):
    with pytest.raises(GradiaError) as exc:
        project.samples(split="training")
    assert "'training'" in one_line(exc)
    with pytest.raises(GradiaError) as exc:
        project.samples(class_name="cow")
    assert "'cow'" in one_line(exc) and "cat" in str(exc.value)


def test_samples_text_filter_non_ascii(tmp_path):
    images = tmp_path / "IMAGES"
    write_image(images / "train" / "Äpfel" / "élan.png")
    write_image(images / "train" / "birne" / "x.png")
    with create_project(tmp_path / "proj", images) as p:
        assert [s.path for s in p.samples(text="Äpfel")] == ["train/Äpfel/élan.png"]
        assert [s.path for s in p.samples(text="ÉLAN")] == ["train/Äpfel/élan.png"]


def test_sample_by_id_and_unknown(project):
    s = project.sample(8)
    assert isinstance(s, Sample) and s.path == "val/dog/d3.png" and not s.has_mask
    with pytest.raises(GradiaError) as exc:
        project.sample(999)
    assert "999" in one_line(exc)


def test_load_image_by_id_and_sample(project, shared_tree):
    expected = cv2.imread(str(shared_tree.images / "train" / "dog" / "d2.png"))[..., ::-1]
    np.testing.assert_array_equal(project.load_image(6), expected)
    np.testing.assert_array_equal(project.load_image(project.sample(6)), expected)
    assert project.image_path(project.sample(6)) == shared_tree.images.resolve() / "train" / "dog" / "d2.png"


def test_load_image_missing_file(tree, tmp_path):
    with create_project(tmp_path / "p2", tree.images) as p:
        (tree.images / "val" / "cat" / "c3.png").unlink()  # the images stay outside the project
        with pytest.raises(GradiaError) as exc:
            p.load_image(7)
    msg = one_line(exc)
    assert "c3.png" in msg and "not found" in msg


# ---- masks ------------------------------------------------------------------------------------

def test_read_imported_mask(project, shared_tree):
    np.testing.assert_array_equal(project.read_mask(1), shared_tree.masks_written[("train", "cat", "c0")])
    np.testing.assert_array_equal(project.read_mask(project.sample(10)),
                                  shared_tree.masks_written[("test", "dog", "d4")])
    assert project.read_mask(2) is None


def test_write_mask_new(project):
    mask = np.zeros((H, W), np.uint8)
    mask[3:9, 4:15] = 7
    project.write_mask(2, mask)
    assert project.sample(2).has_mask
    np.testing.assert_array_equal(project.read_mask(2), mask > 0)
    raw = cv2.imread(str(project.mask_path(2)), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8 and raw.ndim == 2
    assert set(np.unique(raw).tolist()) == {0, 255}
    assert project.mask_pixels()[2] == 6 * 11
    row = project._query("SELECT source FROM masks WHERE sample_id = 2")
    assert row == [("painted",)]
    assert sorted(os.listdir(project.root / "masks")) == ["1.png", "10.png", "2-1.png", "7.png"]
    assert project.mask_path(2) == project.root / "masks" / "2-1.png"


def test_write_mask_replaces_and_records_source(project):
    project.write_mask(project.sample(1), square_mask(box=(0, 0, 2, 2)), source="import")
    np.testing.assert_array_equal(project.read_mask(1), square_mask(box=(0, 0, 2, 2)))
    assert project.mask_pixels()[1] == 4
    assert project._query("SELECT source FROM masks WHERE sample_id = 1") == [("import",)]


def test_write_mask_odd_sized_sample(project):
    mask = np.ones((ODD_H, ODD_W), bool)
    project.write_mask(6, mask)
    assert project.read_mask(6).shape == (ODD_H, ODD_W)
    assert project.mask_pixels()[6] == ODD_W * ODD_H


@pytest.mark.parametrize("shape", [(H + 1, W), (W, H), (H, W, 3), (H * W,)])
def test_write_mask_wrong_size_is_error_and_writes_nothing(project, shape):
    before = _sha(project.mask_path(1))
    with pytest.raises(GradiaError) as exc:
        project.write_mask(1, np.ones(shape, bool))
    msg = one_line(exc)
    assert "train/cat/c0.png" in msg and f"{W}x{H}" in msg
    assert _sha(project.mask_path(1)) == before
    with pytest.raises(GradiaError):
        project.write_mask(2, np.ones(shape, bool))
    assert not project.mask_path(2).exists() and not project.sample(2).has_mask


def test_write_mask_unknown_sample(project):
    with pytest.raises(GradiaError, match="999"):
        project.write_mask(999, np.ones((H, W), bool))


def test_all_zero_mask_deletes(project):
    assert project.mask_path(1).exists()
    project.write_mask(1, np.zeros((H, W), np.uint8))
    assert not project.mask_path(1).exists()
    assert not project.sample(1).has_mask
    assert project.read_mask(1) is None
    assert 1 not in project.mask_pixels()


def test_all_zero_mask_on_unmasked_sample_is_a_no_op(project):
    project.write_mask(2, np.zeros((H, W), bool))
    assert not project.mask_path(2).exists() and not project.sample(2).has_mask
    assert sorted(project.mask_pixels()) == [1, 7, 10]


def test_delete_mask(project):
    project.delete_mask(7)
    assert not project.mask_path(7).exists()
    assert [s.id for s in project.samples(has_mask=True)] == [1, 10]
    project.delete_mask(7)  # deleting again is harmless
    project.delete_mask(2)  # as is deleting a mask that never existed
    assert [s.id for s in project.samples(has_mask=True)] == [1, 10]


def test_mask_file_missing_behind_the_store_reads_as_no_mask_and_is_reported(project):
    assert project.missing_mask_files() == []
    project.mask_path(7).unlink()
    assert project.read_mask(7) is None
    assert project.missing_mask_files() == [7]
    project.write_mask(7, square_mask())  # painting it again repairs it
    assert project.missing_mask_files() == [] and project.read_mask(7).sum() == square_mask().sum()


def test_a_corrupt_mask_file_is_still_an_error(project):
    project.mask_path(7).write_bytes(b"not a png")
    with pytest.raises(GradiaError) as exc:
        project.read_mask(7)
    assert "7.png" in one_line(exc)


def test_write_mask_leaves_no_temp_files(project):
    for i in range(5):
        project.write_mask(2, square_mask(box=(0, 0, 1 + i, 3)))
    project.write_mask(1, square_mask())
    assert sorted(os.listdir(project.root / "masks")) == ["1-1.png", "10.png", "2-5.png", "7.png"]


def test_write_mask_failure_keeps_old_mask_and_row(project, monkeypatch):
    old = project.read_mask(1)
    old_pixels = project.mask_pixels()[1]

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(GradiaError) as exc:
        project.write_mask(1, np.ones((H, W), bool))
    assert "No space left on device" in one_line(exc)
    monkeypatch.undo()
    np.testing.assert_array_equal(project.read_mask(1), old)
    assert project.mask_pixels()[1] == old_pixels
    assert sorted(os.listdir(project.root / "masks")) == ["1.png", "10.png", "7.png"]


def test_concurrent_mask_writes_from_four_threads(project):
    ids = [2, 3, 4, 5]
    errors = []
    barrier = threading.Barrier(4)

    def work(sid):
        try:
            barrier.wait()
            for k in range(8):
                project.write_mask(sid, square_mask(box=(0, 0, 1 + k, sid)))
                project.set_setting(f"t{sid}", k)
                project.samples(has_mask=True)
                assert project.read_mask(sid) is not None
        except BaseException as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(sid,)) for sid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    for sid in ids:
        np.testing.assert_array_equal(project.read_mask(sid), square_mask(box=(0, 0, 8, sid)))
        assert project.mask_pixels()[sid] == 8 * sid
        assert project.setting(f"t{sid}") == 7
    assert [s.id for s in project.samples(has_mask=True)] == [1, 2, 3, 4, 5, 7, 10]
    assert not [n for n in os.listdir(project.root / "masks") if n.startswith(".")]


def test_concurrent_writes_to_the_same_sample(project):
    errors = []

    def work(k):
        try:
            for _ in range(5):
                project.write_mask(2, square_mask(box=(0, 0, 2, 2 + k)))
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    mask = project.read_mask(2)
    assert mask.sum() in {4, 6, 8, 10}  # one of the writers' masks, whole
    assert project.mask_pixels()[2] in {4, 6, 8, 10}


def _interleave(monkeypatch, project, action):
    """Run ``action`` in another thread right after write_mask has written its PNG (before its row).

    Deterministic both ways: if the store holds its lock there (the fix), the other thread just
    queues behind it; if not (the bug), the action runs to completion in that window.
    """
    real = images_module.write_mask_png
    started = []

    def hooked(path, mask, **kwargs):
        real(path, mask, **kwargs)
        if started:
            return
        window = threading.Event()

        def run():
            if project._lock.acquire(blocking=False):  # nothing guards the gap: act inside it
                project._lock.release()
                try:
                    action()
                finally:
                    window.set()
            else:  # the writer holds the lock: wait our turn
                window.set()
                action()

        t = threading.Thread(target=run)
        started.append(t)
        t.start()
        if not window.wait(10):  # a hung interleaving is an error, not a failed assertion
            raise RuntimeError("the interleaved thread hung")

    monkeypatch.setattr(images_module, "write_mask_png", hooked)
    return started


def test_concurrent_write_and_delete_of_one_mask_stay_consistent(project, monkeypatch):
    started = _interleave(monkeypatch, project, lambda: project.delete_mask(2))
    project.write_mask(2, square_mask())
    started[0].join(10)
    assert (2 in project.mask_pixels()) == project.mask_path(2).exists()


def test_concurrent_writes_of_one_mask_keep_pixels_consistent(project, monkeypatch):
    started = _interleave(monkeypatch, project, lambda: project.write_mask(2, square_mask(box=(0, 0, 4, 4))))
    project.write_mask(2, square_mask(box=(0, 0, 2, 2)))
    started[0].join(10)
    assert project.mask_pixels()[2] == int(project.read_mask(2).sum())


# ---- judgements -------------------------------------------------------------------------------

def test_judgements_per_version_and_clearing(project):
    v1, v2 = _done_version(project), _done_version(project)
    assert project.judgements(v1) == {}
    project.set_judgement(v1, 1, True)
    project.set_judgement(v1, 2, False)
    project.set_judgement(v2, 1, False)
    assert project.judgements(v1) == {1: True, 2: False}
    assert project.judgements(v2) == {1: False}
    project.set_judgement(v1, 2, True)  # overwrite
    project.set_judgement(v1, 1, None)  # clear
    assert project.judgements(v1) == {2: True}
    assert project.judgements(v2) == {1: False}
    project.set_judgement(v1, 5, None)  # clearing a missing judgement is harmless
    assert project.judgements(v1) == {2: True}
    assert all(type(v) is bool for v in project.judgements(v1).values())


def test_counts_the_training_form_shows(project):
    v1, v2 = _done_version(project), _done_version(project)
    for split in ("train", "val", "test"):
        expected = sum(1 for x in project.samples(split=split) if x.has_mask)
        assert project.count_masked(split) == expected
    train = project.samples(split="train")[0]
    before = project.count_masked("train")
    project.write_mask(train.id, np.ones((train.height, train.width), np.uint8))
    assert project.count_masked("train") == before + (0 if train.has_mask else 1)
    project.delete_mask(train.id)
    assert project.count_masked("train") == before - (1 if train.has_mask else 0)
    assert project.judgement_counts() == {}
    project.set_judgement(v1, 1, True)
    project.set_judgement(v1, 2, False)
    project.set_judgement(v2, 1, False)
    assert project.judgement_counts() == {v1: 2, v2: 1}


def test_judgement_truthiness_is_stored_as_bool(project):
    v = _done_version(project)
    project.set_judgement(v, 3, 1)
    project.set_judgement(v, 4, 0)
    assert project.judgements(v) == {3: True, 4: False}


def test_set_judgements_writes_all_in_one_transaction_or_none(project, monkeypatch):
    v = _done_version(project)
    project.set_judgement(v, 4, True)
    project.set_judgements(v, {1: True, 2: False, 3: 1, 4: None, 5: None})  # 5 had none: harmless
    assert project.judgements(v) == {1: True, 2: False, 3: True}
    with pytest.raises(GradiaError) as exc:
        project.set_judgements(v, {6: True, 998: False, 999: True})
    assert "998" in one_line(exc) and "1 more" in one_line(exc)
    with pytest.raises(GradiaError, match="v42"):
        project.set_judgements(42, {6: True})
    assert project.judgements(v) == {1: True, 2: False, 3: True}
    transactions = []
    real = project._write
    monkeypatch.setattr(project, "_write", lambda: transactions.append(1) or real())
    project.set_judgements(v, {7: False, 8: True, 1: None})
    assert transactions == [1] and project.judgements(v) == {2: False, 3: True, 7: False, 8: True}


def test_predicted_classes_without_heatmaps(project):
    v = _done_version(project)
    assert project.predicted_classes(v) == {}
    project.save_predictions(v, [Prediction(1, 1, 0.9, np.zeros((2, 2), np.float32)),
                                 Prediction(7, 0, 0.6, np.zeros((2, 2), np.float32))])
    assert project.predicted_classes(v) == {1: 1, 7: 0}
    assert project.predicted_classes(_done_version(project)) == {}


def test_judgement_on_unknown_version(project):
    with pytest.raises(GradiaError) as exc:
        project.set_judgement(42, 1, True)
    assert "v42" in one_line(exc)


def test_judgement_on_unknown_sample_is_gradia_error(project):
    v = _done_version(project)
    with pytest.raises(GradiaError, match="999"):
        project.set_judgement(v, 999, True)


def test_settings(project):
    assert project.setting("missing") is None
    assert project.setting("missing", default=5) == 5
    project.set_setting("opacity", 0.4)
    project.set_setting("layers", ["a", "b"])
    project.set_setting("nested", {"x": {"y": None}})
    project.set_setting("flag", False)
    assert project.setting("opacity") == 0.4
    assert project.setting("layers") == ["a", "b"]
    assert project.setting("nested") == {"x": {"y": None}}
    assert project.setting("flag", default=True) is False  # a stored falsy value beats the default
    project.set_setting("opacity", 0.9)
    assert project.setting("opacity") == 0.9


# ---- read-only --------------------------------------------------------------------------------

def test_readonly_reads_but_refuses_every_write(project):
    vid = _done_version(project)
    project.set_judgement(vid, 1, True)
    root = project.root
    project.close()
    db_before = _sha(root / DB_NAME)
    masks_before = {n: _sha(root / "masks" / n) for n in os.listdir(root / "masks")}

    with Project.open(root, readonly=True) as ro:
        assert ro.readonly is True
        assert len(ro.samples()) == 10 and ro.judgements(vid) == {1: True}
        assert ro.read_mask(1) is not None
        assert ro.resolve_version(None).id == vid
        writes = [
            lambda: ro.write_mask(2, np.ones((H, W), bool)),
            lambda: ro.write_mask(1, np.zeros((H, W), bool)),  # the 'delete' path of write_mask
            lambda: ro.delete_mask(1),
            lambda: ro.set_judgement(vid, 2, False),
            lambda: ro.set_judgement(vid, 1, None),
            lambda: ro.create_version(None, "baseline", "resnet18", "layer4", 64, {}),
            lambda: ro.finish_version(vid, "failed"),
            lambda: ro.add_epoch(vid, _epoch(1, 0.5)),
            lambda: ro.save_predictions(vid, [Prediction(1, 0, 0.5, np.zeros((2, 2)))]),
            lambda: ro.set_setting("k", 1),
        ]
        for write in writes:
            with pytest.raises(GradiaError) as exc:
                write()
            assert "read-only" in one_line(exc) and str(root) in str(exc.value)
        assert ro.judgements(vid) == {1: True}

    assert _sha(root / DB_NAME) == db_before
    assert {n: _sha(root / "masks" / n) for n in os.listdir(root / "masks")} == masks_before
    assert not (root / "masks" / "2.png").exists()


def test_readonly_sees_a_writers_commits(project):
    with Project.open(project.root, readonly=True) as ro:
        project.set_setting("k", "v")
        project.write_mask(3, square_mask())
        assert ro.setting("k") == "v"
        assert ro.sample(3).has_mask


def test_single_prediction(project):
    v1, v2 = _done_version(project), _done_version(project)
    cam = np.eye(3, dtype=np.float32)
    project.save_predictions(v1, [Prediction(4, 1, 0.7, cam, iou=0.5, energy=0.25, pointing=False),
                                  Prediction(5, 0, 0.6, cam)])
    p = project.prediction(v1, 4)
    assert (p.sample_id, p.pred, p.confidence, p.iou, p.energy, p.pointing) == (4, 1, 0.7, 0.5, 0.25, False)
    np.testing.assert_array_equal(p.cam, cam)
    assert project.prediction(v1, 5).iou is None
    assert project.prediction(v1, 6) is None  # no prediction for that sample
    assert project.prediction(v2, 4) is None  # nor in another version


# ---- damaged rows and failing writes ----------------------------------------------------------

@pytest.mark.parametrize("column,stored,where", [
    ("config", "{not json", "version 1, config: damaged JSON"),
    ("config", "[1, 2]", "version 1, config: damaged JSON (not an object)"),
    ("metrics", "nan nan", "version 1, metrics: damaged JSON"),
])
def test_a_damaged_version_row_is_a_one_line_error_naming_the_database(project, column, stored, where):
    vid = _done_version(project)
    with sqlite3.connect(project.root / DB_NAME) as conn:
        conn.execute(f"UPDATE versions SET {column} = ? WHERE id = ?", (stored, vid))
    for read in (lambda: project.version(vid), project.versions, project.latest_version):
        with pytest.raises(GradiaError) as exc:
            read()
        assert one_line(exc).startswith(f"{project.root / DB_NAME}: {where}")


def test_a_damaged_setting_is_a_one_line_error_naming_the_database(project):
    project.set_setting("brush", 3)
    with sqlite3.connect(project.root / DB_NAME) as conn:
        conn.execute("UPDATE settings SET value = '{' WHERE key = 'brush'")
    with pytest.raises(GradiaError) as exc:
        project.setting("brush")
    assert one_line(exc).startswith(f"{project.root / DB_NAME}: setting 'brush': damaged JSON")


@pytest.mark.parametrize("cam,h,w", [(b"\x00" * 6, 2, 2), (b"", 0, 0), ("text", 1, 2), (b"\x00" * 8, "two", 2)])
def test_a_damaged_heatmap_is_a_one_line_error_naming_the_database(project, cam, h, w):
    vid = _done_version(project)
    project.save_predictions(vid, [Prediction(3, 0, 0.5, np.zeros((2, 2)))])
    with sqlite3.connect(project.root / DB_NAME) as conn:
        conn.execute("UPDATE predictions SET cam = ?, cam_h = ?, cam_w = ?", (cam, h, w))
    for read in (lambda: project.predictions(vid), lambda: project.prediction(vid, 3)):
        with pytest.raises(GradiaError) as exc:
            read()
        assert one_line(exc).startswith(f"{project.root / DB_NAME}: version {vid}, sample 3: damaged heatmap")


def test_a_full_database_is_a_one_line_error_and_keeps_what_was_there(project):
    vid = project.create_version(None, "baseline", "resnet18", "layer4", 64, {})
    pages = project._conn.execute("PRAGMA page_count").fetchone()[0]
    project._conn.execute(f"PRAGMA max_page_count = {pages}")  # as a disk with no room left
    for write in (lambda: project.finish_version(vid, "done", metrics={"big": "x" * 200_000}),
                  lambda: project.add_epoch(vid, EpochMetrics(epoch=1, loss=0.1, ce=0.1, attention=0, train_accuracy=1,
                                                              val_accuracy=1, val_iou=None, val_energy=None,
                                                              val_pointing=None, seconds=1.0, val_matrix={"x" * 200_000: 1}))):
        with pytest.raises(GradiaError) as exc:
            write()
        assert one_line(exc).startswith(f"{project.root / DB_NAME}: cannot write, the database or disk is full")
    assert project.version(vid).status == "running" and project.epochs(vid) == []


def test_closing_twice_is_harmless_and_releases_the_lock_once(project):
    project.close()
    project.close()
    with Project.open(project.root) as again:
        assert not again.readonly
