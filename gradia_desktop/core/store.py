"""The project store: one folder with an SQLite database (WAL), masks/ PNGs and models/ checkpoints.

Every write is atomic: files go through a temp file and a rename, rows through a transaction.
The store is thread-safe (one connection behind a lock), so the GUI's workers may share it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ..errors import GradiaError
from . import images
from .records import SPLITS, Prediction, Sample, Version
from .schema import DB_NAME, SCHEMA, SCHEMA_VERSION
from .training_metrics import EpochMetrics

_SAMPLE_SQL = """SELECT s.id, s.path, s.class_idx, c.name, s.split, s.width, s.height,
                        m.sample_id IS NOT NULL
                 FROM samples s JOIN classes c ON c.idx = s.class_idx
                 LEFT JOIN masks m ON m.sample_id = s.id"""


def _connect(db: Path, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{urllib.parse.quote(db.as_posix())}?mode={'ro' if readonly else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    return conn


class Project:
    """An open project folder. Use ``Project.open`` or ``core.project_init.create_project``."""

    def __init__(self, root: Path, conn: sqlite3.Connection, readonly: bool):
        self.root = root
        self.readonly = readonly
        self._conn = conn
        self._lock = threading.RLock()
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        if int(meta.get("schema_version", 0)) != SCHEMA_VERSION:
            raise GradiaError(f"{root / DB_NAME}: schema version {meta.get('schema_version')} "
                              f"is not supported (expected {SCHEMA_VERSION})")
        images_root = Path(meta["images_root"])
        self.images_root = images_root if images_root.is_absolute() else root / images_root
        self.classes: list[str] = [n for _, n in conn.execute("SELECT idx, name FROM classes ORDER BY idx")]

    # ---- opening and creating -------------------------------------------------------------
    @classmethod
    def open(cls, root: str | os.PathLike, readonly: bool = False) -> "Project":
        root = Path(root).expanduser().resolve()
        db = root / DB_NAME
        if not root.is_dir():
            raise GradiaError(f"{root}: project folder not found")
        if not db.is_file():
            raise GradiaError(f"{root}: not a GRADIA project (no {DB_NAME})")
        if not readonly and not os.access(root, os.W_OK):
            readonly = True
        conn = None
        try:
            conn = _connect(db, readonly)
            return cls(root, conn, readonly)
        except (sqlite3.DatabaseError, GradiaError, KeyError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, GradiaError):
                raise
            raise GradiaError(f"{db}: cannot open the project database ({exc})") from None

    @staticmethod
    def initialise(root: Path, images_root: Path, classes: list[str]) -> sqlite3.Connection:
        """Create an empty database in ``root`` (used by project_init inside a staging folder)."""
        conn = sqlite3.connect(root / DB_NAME, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("created", str(time.time())),
            ("images_root", str(images_root))])
        conn.executemany("INSERT INTO classes VALUES (?, ?)", list(enumerate(classes)))
        return conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise GradiaError(f"{self.root}: the project is open read-only")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, tuple(args)).fetchall()

    # ---- samples ----------------------------------------------------------------------------
    def samples(self, split: str | None = None, class_name: str | None = None,
                has_mask: bool | None = None, text: str | None = None) -> list[Sample]:
        """Samples in id order, filtered by split, class, mask presence and a path substring.

        Filters that need a model version (quadrant, judged) live in core.assessment.
        """
        where, args = [], []
        if split is not None:
            if split not in SPLITS:
                raise GradiaError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
            where.append("s.split = ?"); args.append(split)
        if class_name is not None:
            if class_name not in self.classes:
                raise GradiaError(f"unknown class {class_name!r} (classes: {', '.join(self.classes)})")
            where.append("s.class_idx = ?"); args.append(self.classes.index(class_name))
        if has_mask is not None:
            where.append("m.sample_id IS " + ("NOT NULL" if has_mask else "NULL"))
        sql = _SAMPLE_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.id"
        found = [Sample(*row[:7], bool(row[7])) for row in self._query(sql, args)]
        if text:  # in Python: SQLite's lower() only folds ASCII
            needle = text.casefold()
            found = [s for s in found if needle in s.path.casefold()]
        return found

    def sample(self, sample_id: int) -> Sample:
        rows = self._query(_SAMPLE_SQL + " WHERE s.id = ?", (sample_id,))
        if not rows:
            raise GradiaError(f"{self.root}: no sample with id {sample_id}")
        return Sample(*rows[0][:7], bool(rows[0][7]))

    def image_path(self, sample: Sample) -> Path:
        return self.images_root / sample.path

    def load_image(self, sample: Sample | int) -> np.ndarray:
        if isinstance(sample, int):
            sample = self.sample(sample)
        return images.read_rgb(self.image_path(sample))

    # ---- masks ------------------------------------------------------------------------------
    def mask_path(self, sample_id: int) -> Path:
        return self.root / "masks" / f"{sample_id}.png"

    def read_mask(self, sample: Sample | int) -> np.ndarray | None:
        """The sample's mask as an (H, W) bool array, or None when it has none."""
        sample_id = sample if isinstance(sample, int) else sample.id
        if not self._query("SELECT 1 FROM masks WHERE sample_id = ?", (sample_id,)):
            return None
        return images.read_mask(self.mask_path(sample_id))

    def write_mask(self, sample: Sample | int, mask: np.ndarray, source: str = "painted") -> None:
        """Save a mask (any nonzero = attention). An all-empty mask removes the sample's mask."""
        if isinstance(sample, int):
            sample = self.sample(sample)
        mask = np.asarray(mask)
        if mask.shape != (sample.height, sample.width):
            raise GradiaError(f"{sample.path}: mask is {mask.shape[1::-1] if mask.ndim == 2 else mask.shape} "
                              f"but the image is {sample.width}x{sample.height}")
        pixels = int(np.count_nonzero(mask))
        if pixels == 0:
            self.delete_mask(sample.id)
            return
        if self.readonly:
            raise GradiaError(f"{self.root}: the project is open read-only")
        with self._lock:  # file and row change together, as seen from other threads
            images.write_mask_png(self.mask_path(sample.id), mask)
            with self._write() as conn:
                conn.execute("INSERT OR REPLACE INTO masks VALUES (?, ?, ?, ?)",
                             (sample.id, pixels, source, time.time()))

    def delete_mask(self, sample_id: int) -> None:
        with self._lock, self._write() as conn:
            conn.execute("DELETE FROM masks WHERE sample_id = ?", (sample_id,))
            self.mask_path(sample_id).unlink(missing_ok=True)

    def mask_pixels(self) -> dict[int, int]:
        return dict(self._query("SELECT sample_id, pixels FROM masks"))

    # ---- judgements (human only) ------------------------------------------------------------
    def set_judgement(self, version_id: int, sample_id: int, reasonable: bool | None) -> None:
        """Record the expert's judgement of a version's attention on a sample; None clears it."""
        self.version(version_id)
        self.sample(sample_id)
        with self._write() as conn:
            if reasonable is None:
                conn.execute("DELETE FROM judgements WHERE version_id = ? AND sample_id = ?",
                             (version_id, sample_id))
            else:
                conn.execute("INSERT OR REPLACE INTO judgements VALUES (?, ?, ?, ?)",
                             (version_id, sample_id, int(bool(reasonable)), time.time()))

    def judgements(self, version_id: int) -> dict[int, bool]:
        return {s: bool(r) for s, r in self._query(
            "SELECT sample_id, reasonable FROM judgements WHERE version_id = ?", (version_id,))}

    # ---- model versions ---------------------------------------------------------------------
    def create_version(self, parent_id: int | None, mode: str, arch: str, cam_layer: str,
                       image_size: int, config: dict[str, Any]) -> int:
        if parent_id is not None:
            self.version(parent_id)
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO versions (parent_id, created, status, mode, arch, cam_layer, image_size, config)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (parent_id, time.time(), mode, arch, cam_layer, image_size, json.dumps(config)))
            return int(cur.lastrowid)

    def finish_version(self, version_id: int, status: str, checkpoint: str | None = None,
                       best_epoch: int | None = None, metrics: dict | None = None,
                       note: str | None = None) -> None:
        with self._write() as conn:
            conn.execute("UPDATE versions SET status = ?, checkpoint = ?, best_epoch = ?, metrics = ?, note = ?"
                         " WHERE id = ?", (status, checkpoint, best_epoch, json.dumps(metrics or {}),
                                           note, version_id))

    def add_epoch(self, version_id: int, metrics: EpochMetrics) -> None:
        """Record one epoch of a run (the same epoch again replaces it)."""
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)",
                         (version_id, metrics.epoch, json.dumps(metrics.to_dict())))

    def epochs(self, version_id: int) -> list[EpochMetrics]:
        out = []
        for epoch, text in self._query("SELECT epoch, metrics FROM epochs WHERE version_id = ? ORDER BY epoch",
                                       (version_id,)):
            try:
                out.append(EpochMetrics.from_dict(json.loads(text)))
            except (ValueError, TypeError) as exc:
                raise GradiaError(f"{self.root / DB_NAME}: version {version_id}, epoch {epoch}: "
                                  f"damaged metrics ({exc})") from None
        return out

    def versions(self, status: str | None = "done") -> list[Version]:
        sql = "SELECT * FROM versions" + (" WHERE status = ?" if status else "") + " ORDER BY id"
        return [self._version(row) for row in self._query(sql, (status,) if status else ())]

    def version(self, version_id: int) -> Version:
        rows = self._query("SELECT * FROM versions WHERE id = ?", (version_id,))
        if not rows:
            raise GradiaError(f"{self.root}: no model version v{version_id}")
        return self._version(rows[0])

    def latest_version(self) -> Version | None:
        done = self.versions()
        return done[-1] if done else None

    def resolve_version(self, spec: str | int | None) -> Version:
        """A finished version from 'v3', '3' or 3; None means the latest finished one."""
        if spec is None:
            latest = self.latest_version()
            if latest is None:
                raise GradiaError(f"{self.root}: the project has no trained model version yet (run gradia train)")
            return latest
        text = str(spec).strip().lower().removeprefix("v")
        if not (text.isascii() and text.isdigit()):
            raise GradiaError(f"{spec!r} is not a model version (expected e.g. v2 or 2)")
        version = self.version(int(text))
        if version.status != "done":
            raise GradiaError(f"model version v{version.id} did not finish (status: {version.status})")
        return version

    @staticmethod
    def _version(row: tuple) -> Version:
        (vid, parent, created, status, mode, arch, layer, size, config, ckpt, best, metrics, note) = row
        return Version(vid, parent, created, status, mode, arch, layer, size, json.loads(config), ckpt,
                       best, json.loads(metrics) if metrics else {}, note)

    # ---- predictions ------------------------------------------------------------------------
    def save_predictions(self, version_id: int, predictions: Iterable[Prediction]) -> None:
        rows = [(version_id, p.sample_id, int(p.pred), float(p.confidence),
                 np.asarray(p.cam, dtype=np.float16).tobytes(), p.cam.shape[0], p.cam.shape[1],
                 p.iou, p.energy, None if p.pointing is None else int(p.pointing)) for p in predictions]
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def prediction(self, version_id: int, sample_id: int) -> Prediction | None:
        return self._predictions(" AND p.sample_id = ?", [version_id, sample_id]).get(sample_id)

    def predictions(self, version_id: int, split: str | None = None) -> dict[int, Prediction]:
        return self._predictions(" AND s.split = ?" if split else "", [version_id] + ([split] if split else []))

    def _predictions(self, condition: str, args: list[Any]) -> dict[int, Prediction]:
        sql = ("SELECT p.sample_id, p.pred, p.confidence, p.cam, p.cam_h, p.cam_w, p.iou, p.energy, p.pointing"
               " FROM predictions p JOIN samples s ON s.id = p.sample_id WHERE p.version_id = ?" + condition)
        out = {}
        for sid, pred, conf, cam, h, w, iou, energy, pointing in self._query(sql, args):
            grid = np.frombuffer(cam, dtype=np.float16).reshape(h, w).astype(np.float32)
            out[sid] = Prediction(sid, pred, conf, grid, iou, energy, None if pointing is None else bool(pointing))
        return out

    # ---- settings ---------------------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        rows = self._query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def models_dir(self, version_id: int) -> Path:
        return self.root / "models" / f"v{version_id}"
