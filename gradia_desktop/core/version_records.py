"""The model versions of a project and what each predicted: the store's ``versions``, ``epochs`` and
``predictions`` tables (a part of ``Project``, kept apart to keep each file readable)."""

from __future__ import annotations

import json
import time
from typing import Any, Iterable

import numpy as np

from ..errors import GradiaError
from .records import Prediction, Version
from .training_metrics import EpochMetrics


class VersionRecords:
    """Methods of ``Project`` (core/store.py) for versions, their epochs and their predictions; they
    use its ``_write``, ``_query``, ``_json``, ``db`` and ``root``."""

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

    def add_split_metrics(self, version_id: int, split: str, values: dict) -> None:
        """Merge ``values`` into a finished version's recorded metrics of ``split`` (figures measured later)."""
        with self._write() as conn:
            (text,) = conn.execute("SELECT metrics FROM versions WHERE id = ?", (version_id,)).fetchone()
            recorded = json.loads(text or "{}")
            recorded[split] = {**(recorded.get(split) or {}), **values}
            conn.execute("UPDATE versions SET metrics = ? WHERE id = ?", (json.dumps(recorded), version_id))

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
            except (ValueError, TypeError, AttributeError) as exc:
                raise GradiaError(f"{self.db}: version {version_id}, epoch {epoch}: "
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

    def _version(self, row: tuple) -> Version:
        (vid, parent, created, status, mode, arch, layer, size, config, ckpt, best, metrics, note) = row
        config = self._json(config, f"version {vid}, config")
        metrics = self._json(metrics, f"version {vid}, metrics") if metrics else {}
        for name, value in (("config", config), ("metrics", metrics)):
            if not isinstance(value, dict):
                raise GradiaError(f"{self.db}: version {vid}, {name}: damaged JSON (not an object)")
        return Version(vid, parent, created, status, mode, arch, layer, size, config, ckpt, best, metrics, note)

    # ---- predictions ------------------------------------------------------------------------
    def save_predictions(self, version_id: int, predictions: Iterable[Prediction]) -> None:
        rows = [(version_id, p.sample_id, int(p.pred), float(p.confidence),
                 np.asarray(p.cam, dtype=np.float16).tobytes(), p.cam.shape[0], p.cam.shape[1],
                 p.iou, p.energy, None if p.pointing is None else int(p.pointing)) for p in predictions]
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def set_attention(self, version_id: int, sample_id: int, iou: float | None, energy: float | None,
                      pointing: bool | None) -> None:
        """A stored prediction's attention figures anew (its mask changed); nothing if it has no prediction."""
        with self._write() as conn:
            conn.execute("UPDATE predictions SET iou = ?, energy = ?, pointing = ? WHERE version_id = ? AND "
                         "sample_id = ?", (iou, energy, None if pointing is None else int(pointing), version_id,
                                           sample_id))

    def prediction(self, version_id: int, sample_id: int) -> Prediction | None:
        return self._predictions(" AND p.sample_id = ?", [version_id, sample_id]).get(sample_id)

    def predicted_classes(self, version_id: int) -> dict[int, int]:
        """Per sample id, the class a version predicted (its stored prediction without the heatmap)."""
        return dict(self._query("SELECT sample_id, pred FROM predictions WHERE version_id = ?", (version_id,)))

    def predictions(self, version_id: int, split: str | None = None) -> dict[int, Prediction]:
        return self._predictions(" AND s.split = ?" if split else "", [version_id] + ([split] if split else []))

    def _predictions(self, condition: str, args: list[Any]) -> dict[int, Prediction]:
        sql = ("SELECT p.sample_id, p.pred, p.confidence, p.cam, p.cam_h, p.cam_w, p.iou, p.energy, p.pointing"
               " FROM predictions p JOIN samples s ON s.id = p.sample_id WHERE p.version_id = ?" + condition)
        out = {}
        for sid, pred, conf, cam, h, w, iou, energy, pointing in self._query(sql, args):
            if not (isinstance(cam, bytes) and isinstance(h, int) and isinstance(w, int)
                    and h > 0 and w > 0 and len(cam) == h * w * 2):
                raise GradiaError(f"{self.db}: version {args[0]}, sample {sid}: damaged heatmap "
                                  f"({len(cam) if isinstance(cam, bytes) else type(cam).__name__} bytes for {h}x{w})"
                                  " — gradia check --repair drops it, gradia eval --recompute makes it again")
            grid = np.frombuffer(cam, dtype=np.float16).reshape(h, w).astype(np.float32)
            out[sid] = Prediction(sid, pred, conf, grid, iou, energy, None if pointing is None else bool(pointing))
        return out
