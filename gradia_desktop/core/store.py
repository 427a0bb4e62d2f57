"""The project store: one folder with an SQLite database (WAL), masks/ PNGs and models/ checkpoints.

Every write is atomic: files go through a temp file and a rename, rows through a transaction, and a
mask's file and row change in an order that a crash at any point leaves consistent (core/mask_files.py).
Opening checks the database before writing anything and takes the project's lock for writing
(core/project_db.py, core/project_lock.py); the layout is described in docs/storage.md.
The store is thread-safe (one connection behind a lock), so the GUI's workers may share it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from ..errors import GradiaError
from . import images, mask_files, project_db
from .mask_layers import MaskLayers
from .project_open import OpenedDatabase, close_database, create_database, open_database
from .records import SPLITS, Sample
from .schema import DB_NAME
from .version_records import VersionRecords

_SAMPLE_SQL = """SELECT s.id, s.path, s.class_idx, c.name, s.split, s.width, s.height,
                        COALESCE(m.pixels, 0) > 0
                 FROM samples s JOIN classes c ON c.idx = s.class_idx
                 LEFT JOIN masks m ON m.sample_id = s.id"""


class Project(VersionRecords):
    """An open project folder. Use ``Project.open`` or ``core.project_init.create_project``."""

    def __init__(self, root: Path, opened: OpenedDatabase):
        self.root = root
        self.db = root / DB_NAME
        self.readonly = opened.readonly
        self._conn = opened.conn
        self._lock = threading.RLock()
        self._closed = False
        self._masks_dir = root / mask_files.MASKS_DIR
        images_root = Path(opened.meta["images_root"])
        self.images_root = images_root if images_root.is_absolute() else root / images_root
        self.classes: list[str] = [n for _, n in self._query("SELECT idx, name FROM classes ORDER BY idx")]

    # ---- opening and creating -------------------------------------------------------------
    @classmethod
    def open(cls, root: str | os.PathLike, readonly: bool = False) -> "Project":
        """Open a project; read-only when asked or when the folder or database cannot be written.

        Raises ProjectInUse (core.project_lock) when another process has it open for writing, and a
        one-line GradiaError for a missing, foreign or damaged database (which is never written to).
        """
        root = Path(root).expanduser().resolve()
        opened = open_database(root, readonly)
        try:
            return cls(root, opened)
        except BaseException:
            close_database(root, opened.conn, opened.readonly)
            raise

    @staticmethod
    def initialise(root: Path, images_root: Path, classes: list[str]) -> sqlite3.Connection:
        """Create an empty database in ``root`` (used by project_init inside a staging folder)."""
        return create_database(root / DB_NAME, images_root, classes)

    def close(self) -> None:
        """Close; a writable project first moves its WAL into the database file, then releases its lock."""
        with self._lock:
            if not self._closed:
                self._closed = True
                close_database(self.root, self._conn, self.readonly)

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_writable(self) -> None:
        if self.readonly:
            raise GradiaError(f"{self.root}: the project is open read-only")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; SQLite errors (disk full, damaged pages, ...) become one-line GradiaErrors."""
        self._require_writable()
        with self._lock, self._sqlite_errors():
            with project_db.transaction(self._conn) as conn:
                yield conn

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock, self._sqlite_errors():
            return self._conn.execute(sql, tuple(args)).fetchall()

    @contextmanager
    def _sqlite_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.ProgrammingError:  # a closed project or a bad query: a bug, not the user's file
            raise
        except sqlite3.DatabaseError as exc:
            raise project_db.database_error(self.db, exc) from None

    def _json(self, text: Any, where: str) -> Any:
        try:
            return json.loads(text)
        except (TypeError, ValueError) as exc:
            raise GradiaError(f"{self.db}: {where}: damaged JSON ({exc})") from None

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
        """The file holding the sample's mask now (masks/<id>.png when it has none).

        Each write_mask moves the mask to a new file: take the path afresh after a write.
        """
        return self._masks_dir / (self._mask_file(sample_id) or mask_files.legacy_name(sample_id))

    def _mask_file(self, sample_id: int) -> str | None:
        rows = self._query(mask_files.ONE_SQL, (sample_id,))
        return rows[0][1] if rows else None

    def read_mask(self, sample: Sample | int) -> np.ndarray | None:
        """The sample's "look here" mask as an (H, W) bool array, or None when it has none.

        A row whose file is missing (deleted behind the store) also reads as None; see
        ``missing_mask_files``. An unreadable file raises a one-line GradiaError.
        """
        layers = self.read_mask_layers(sample)
        return layers.look if layers is not None and layers.look.any() else None

    def read_mask_layers(self, sample: Sample | int) -> MaskLayers | None:
        """Both layers of the sample's mask ("look here", "don't look here"), or None when it has none."""
        sample_id = sample if isinstance(sample, int) else sample.id
        for _ in range(10):
            name = self._mask_file(sample_id)
            if name is None:
                return None
            path = self._masks_dir / name
            try:
                return images.read_mask_layers(path)
            except GradiaError:
                if path.exists():
                    raise
            if self._mask_file(sample_id) == name:
                return None
            # a writer moved the mask to a new file meanwhile: read that one
        raise GradiaError(f"{self._masks_dir}: the mask of sample {sample_id} keeps changing while being read")

    def missing_mask_files(self) -> list[int]:
        """Ids of samples whose mask row names a file that is not there (``gradia check --repair`` drops them)."""
        return mask_files.scan(self._masks_dir, dict(self._query(mask_files.ROWS_SQL))).missing

    def write_mask(self, sample: Sample | int, mask: np.ndarray, source: str = "painted",
                   avoid: np.ndarray | None = None) -> None:
        """Save a mask: any nonzero in ``mask`` is "look here", in ``avoid`` "don't look here" (where
        both are set, "look here"). Nothing in either removes the sample's mask.

        The mask goes to a new file, the row switches to it in one commit, then the old file goes:
        a crash or a failed commit (read-only or full database) leaves the old mask as it was.
        """
        if isinstance(sample, int):
            sample = self.sample(sample)
        mask = np.asarray(mask)
        for layer in (mask, mask if avoid is None else np.asarray(avoid)):
            if layer.shape != (sample.height, sample.width):
                raise GradiaError(f"{sample.path}: mask is {layer.shape[1::-1] if layer.ndim == 2 else layer.shape} "
                                  f"but the image is {sample.width}x{sample.height}")
        layers = MaskLayers.of(mask, avoid)
        if layers.empty:
            self.delete_mask(sample.id)
            return
        pixels, avoided = int(np.count_nonzero(layers.look)), int(np.count_nonzero(layers.avoid))
        self._require_writable()
        with self._lock:  # file and row change together, as seen from other threads
            old = self._mask_file(sample.id)
            new = self._masks_dir / mask_files.next_name(sample.id, old)
            try:
                images.write_mask_png(new, layers.look, avoid=layers.avoid)
            except OSError as exc:
                raise GradiaError(f"{new}: cannot write ({exc.strerror or exc})") from None
            try:
                with self._write() as conn:
                    conn.execute("INSERT INTO masks VALUES (?, ?, ?, ?) ON CONFLICT (sample_id) DO UPDATE"
                                 " SET pixels = excluded.pixels, source = excluded.source, updated = excluded.updated",
                                 (sample.id, pixels, source, time.time()))
                    conn.execute("INSERT INTO mask_files VALUES (?, ?) ON CONFLICT (sample_id) DO UPDATE"
                                 " SET file = excluded.file", (sample.id, new.name))
                    if avoided:
                        conn.execute("INSERT INTO mask_avoid VALUES (?, ?) ON CONFLICT (sample_id) DO UPDATE"
                                     " SET pixels = excluded.pixels", (sample.id, avoided))
                    else:
                        conn.execute("DELETE FROM mask_avoid WHERE sample_id = ?", (sample.id,))
            except BaseException:
                mask_files.remove(self._masks_dir, [new.name])
                raise
            if old is not None:
                mask_files.remove(self._masks_dir, [old])

    def delete_mask(self, sample_id: int) -> None:
        """Remove the sample's mask: the row first, then its file (a crash in between leaves an orphan
        file, which reconciliation removes, never a row without its file)."""
        self._require_writable()
        with self._lock:
            old = self._mask_file(sample_id)
            with self._write() as conn:
                conn.execute("DELETE FROM mask_files WHERE sample_id = ?", (sample_id,))
                conn.execute("DELETE FROM mask_avoid WHERE sample_id = ?", (sample_id,))
                conn.execute("DELETE FROM masks WHERE sample_id = ?", (sample_id,))
            if old is not None:
                mask_files.remove(self._masks_dir, [old])

    def count_masked(self, split: str) -> int:
        """How many of a split's samples carry a "look here" mask (one query: cheap after every stroke)."""
        return self._query("SELECT COUNT(*) FROM samples s JOIN masks m ON m.sample_id = s.id"
                           " WHERE s.split = ? AND m.pixels > 0", (split,))[0][0]

    def count_marked(self, split: str) -> int:
        """How many of a split's samples carry a mask of either layer ("look here" or "don't look here")."""
        return self._query("SELECT COUNT(*) FROM samples s JOIN masks m ON m.sample_id = s.id WHERE s.split = ?"
                           " AND (m.pixels > 0 OR m.sample_id IN (SELECT sample_id FROM mask_avoid))", (split,))[0][0]

    def mask_pixels(self) -> dict[int, int]:
        """Sample id -> "look here" pixels, for the samples that have some."""
        return dict(self._query("SELECT sample_id, pixels FROM masks WHERE pixels > 0"))

    def avoid_pixels(self) -> dict[int, int]:
        """Sample id -> "don't look here" pixels, for the samples whose mask marks some."""
        return dict(self._query("SELECT sample_id, pixels FROM mask_avoid"))

    # ---- judgements (human only) ------------------------------------------------------------
    def set_judgement(self, version_id: int, sample_id: int, reasonable: bool | None) -> None:
        """Record the expert's judgement of a version's attention on a sample; None clears it."""
        self.set_judgements(version_id, {sample_id: reasonable})

    def set_judgements(self, version_id: int, judgements: Mapping[int, bool | None]) -> None:
        """Record (truthy / falsy) or clear (None) many judgements of a version in one transaction:
        an unknown version or sample id writes none of them."""
        self.version(version_id)
        with self._lock:  # the ids checked are the ids written
            ids = list(judgements)
            chunks = [ids[i:i + 500] for i in range(0, len(ids), 500)]  # SQLite caps a query's parameters
            known = {sid for chunk in chunks for (sid,) in self._query(
                f"SELECT id FROM samples WHERE id IN ({','.join('?' * len(chunk))})", chunk)}
            unknown = [sid for sid in ids if sid not in known]
            if unknown:
                more = f" (and {len(unknown) - 1} more unknown ids)" if len(unknown) > 1 else ""
                raise GradiaError(f"{self.root}: no sample with id {unknown[0]}{more}")
            now = time.time()
            with self._write() as conn:
                conn.executemany("DELETE FROM judgements WHERE version_id = ? AND sample_id = ?",
                                 [(version_id, sid) for sid, r in judgements.items() if r is None])
                conn.executemany("INSERT OR REPLACE INTO judgements VALUES (?, ?, ?, ?)",
                                 [(version_id, sid, int(bool(r)), now) for sid, r in judgements.items()
                                  if r is not None])

    def judgement_counts(self) -> dict[int, int]:
        """Per version id, how many samples the expert has judged."""
        return dict(self._query("SELECT version_id, COUNT(*) FROM judgements GROUP BY version_id"))

    def judgements(self, version_id: int) -> dict[int, bool]:
        return {s: bool(r) for s, r in self._query(
            "SELECT sample_id, reasonable FROM judgements WHERE version_id = ?", (version_id,))}

    # ---- settings ---------------------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        rows = self._query("SELECT value FROM settings WHERE key = ?", (key,))
        return self._json(rows[0][0], f"setting {key!r}") if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def models_dir(self, version_id: int) -> Path:
        return self.root / "models" / f"v{version_id}"
