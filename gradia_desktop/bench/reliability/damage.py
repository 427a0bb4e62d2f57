"""Ways to damage a project on disk (issue item 7) and hostile import files (item 9).

Each damage works on a closed project folder, with sqlite3 and file writes only, as a crash, a bad
disk or another program would leave it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np

DB_NAME = "project.sqlite"
PAGE = 4096


def _sql(project: Path, *statements: str) -> None:
    conn = sqlite3.connect(project / DB_NAME, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        for statement in statements:
            conn.execute(statement)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{project / DB_NAME}{suffix}").unlink(missing_ok=True)


def _overwrite_page(project: Path, rng: np.random.Generator, first: bool) -> None:
    _sql(project)  # everything into the main file first
    db = project / DB_NAME
    pages = db.stat().st_size // PAGE
    page = 0 if first else int(rng.integers(1, max(2, pages)))
    with open(db, "r+b") as fh:
        fh.seek(page * PAGE + (100 if first else 0))  # keep the 100-byte file header: damage the schema page
        fh.write(rng.integers(0, 256, size=PAGE - (100 if first else 0), dtype=np.uint8).tobytes())


def _replace_db(project: Path, content: bytes | None) -> None:
    db = project / DB_NAME
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if content is None:  # a foreign SQLite database
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('somebody else''s database')")
        conn.commit()
        conn.close()
    else:
        db.write_bytes(content)


def _mask_files(project: Path) -> list[Path]:
    return sorted(p for p in (project / "masks").iterdir() if p.suffix == ".png" and not p.name.startswith("."))


def _delete_mask_files(project: Path, rng) -> None:
    for path in _mask_files(project):
        path.unlink()


def _text_mask_files(project: Path, rng) -> None:
    for path in _mask_files(project):
        path.write_text("not a mask\n")


DAMAGES = {
    "random page overwritten": lambda p, rng: _overwrite_page(p, rng, first=False),
    "schema page overwritten": lambda p, rng: _overwrite_page(p, rng, first=True),
    "table dropped (masks)": lambda p, rng: _sql(p, "DROP TABLE mask_files", "DROP TABLE masks"),
    "table dropped (predictions)": lambda p, rng: _sql(p, "DROP TABLE predictions"),
    "column renamed (samples.path)": lambda p, rng: _sql(p, "ALTER TABLE samples RENAME COLUMN path TO location"),
    "invalid JSON (version config and metrics)": lambda p, rng: _sql(
        p, "UPDATE versions SET config = '{\"lr\": ', metrics = '[1, 2'"),
    "invalid JSON (epochs, settings)": lambda p, rng: _sql(
        p, "UPDATE epochs SET metrics = 'nan nan'", "INSERT OR REPLACE INTO settings VALUES ('ui', '{oops')"),
    "bad heatmap blobs (wrong length)": lambda p, rng: _sql(p, "UPDATE predictions SET cam = X'0001'"),
    "bad heatmap blobs (size lies)": lambda p, rng: _sql(p, "UPDATE predictions SET cam_h = 100000, cam_w = 100000"),
    "foreign SQLite file": lambda p, rng: _replace_db(p, None),
    "empty database file": lambda p, rng: _replace_db(p, b""),
    "random bytes as the database": lambda p, rng: _replace_db(p, rng.integers(0, 256, 3 * PAGE, np.uint8).tobytes()),
    "mask files deleted": _delete_mask_files,
    "mask files replaced by text": _text_mask_files,
}


def apply_damage(project: str, name: str, seed: int | str = 0) -> None:
    DAMAGES[name](Path(project), np.random.default_rng(int(seed)))


def enrich(project: str) -> None:
    """A judgement and a setting on the latest version, so damaged tables have rows to be wrong in."""
    from ...core.store import Project

    with Project.open(project) as opened:
        version = opened.versions()[-1]
        sample = opened.samples()[0]
        opened.set_judgement(version.id, sample.id, True)
        opened.set_setting("reliability", {"probe": True})


# ---- hostile import files (item 9) ---------------------------------------------------------------
def _coco(images: list, annotations: list) -> dict:
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "alpha"}]}


def write_hostile_import(path: str, name: str) -> None:
    """One COCO file of ``HOSTILE_IMPORTS`` at ``path``."""
    out = Path(path)
    image = {"id": 1, "file_name": "train/alpha/a0.png", "width": 32, "height": 32}
    if name == "deep JSON":
        out.write_text("[" * 200_000 + "]" * 200_000)
    elif name == "5000-digit id":
        text = json.dumps(_coco([image], [{"id": 1, "image_id": 1, "category_id": 1,
                                            "segmentation": {"size": [32, 32], "counts": "0"}}]))
        out.write_text(text.replace('"id": 1, "file_name"', '"id": ' + "9" * 5000 + ', "file_name"'))
    elif name == "20 MB RLE string":
        out.write_text(json.dumps(_coco([image], [{"id": 1, "image_id": 1, "category_id": 1,
                                                   "segmentation": {"size": [32, 32], "counts": "1a" * 10_000_000}}])))
    else:
        raise KeyError(name)


HOSTILE_IMPORTS = ("deep JSON", "5000-digit id", "20 MB RLE string")


def make_read_only(project: str) -> None:
    """chmod -R a-w (meaningless for root, who is skipped)."""
    for dirpath, dirnames, filenames in os.walk(project):
        for name in filenames + dirnames:
            path = os.path.join(dirpath, name)
            os.chmod(path, os.stat(path).st_mode & ~0o222)
    os.chmod(project, os.stat(project).st_mode & ~0o222)


# ---- silent alterations (item 12) ----------------------------------------------------------------
def write_mismatched_weights(project: str, out: str) -> None:
    """The project's first checkpoint with one middle tensor a row short: loading it must be refused,
    not done with that layer silently left as initialised."""
    from safetensors.numpy import load_file, save_file

    checkpoint = sorted(Path(project, "models").rglob("*.safetensors"))[0]
    state = load_file(str(checkpoint))
    shaped = [key for key in sorted(state) if state[key].ndim >= 2]
    middle = shaped[len(shaped) // 2]
    state[middle] = np.ascontiguousarray(state[middle][:-1])
    save_file(state, out)


def paint_one_mask(project: str) -> None:
    from ...core.store import Project

    with Project.open(project) as opened:
        sample = opened.samples()[-1]
        mask = np.zeros((sample.height, sample.width), bool)
        mask[: sample.height // 2] = True
        opened.write_mask(sample, mask)


def mode_problems(project: str, export: str) -> str | None:
    """Files and folders the app made whose permissions ignore the umask (e.g. 0600 from a temp file)."""
    umask = os.umask(0)
    os.umask(umask)
    wrong = []
    for root in (Path(project), Path(export)):
        for path in [root, *root.rglob("*")]:
            if path.is_symlink() or path.name.startswith(".") or path.name == "project.lock":
                continue
            want = (0o777 if path.is_dir() else 0o666) & ~umask
            have = path.stat().st_mode & 0o777
            if have & want != want:
                wrong.append(f"{path.relative_to(root.parent)} is {have:04o}, expected {want:04o}")
    return None if not wrong else f"{len(wrong)} with modes that ignore the umask, e.g. " + "; ".join(wrong[:3])
