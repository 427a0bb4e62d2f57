"""The GRADIA authors' judgement file: ``{"file.jpg": "Unreasonable Accurate", ...}``.

Keys are image file names alone (the authors' code keys by ``os.path.split(path)[1]``); each value
joins the expert's judgement (Reasonable / Unreasonable) and whether the authors' model predicted
the image's class (Accurate / Inaccurate). A file name must therefore name one image only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import GradiaError
from .atomic import atomic_write_text
from .records import Sample

# value -> (reasonable, accurate)
AUTHORS_VALUES = {
    "Reasonable Accurate": (True, True),
    "Reasonable Inaccurate": (True, False),
    "Unreasonable Accurate": (False, True),
    "Unreasonable Inaccurate": (False, False),
}
_SHOWN_CHARS = 60  # of a bad key or value, in an error line


def authors_value(reasonable: bool, accurate: bool) -> str:
    return f"{'Reasonable' if reasonable else 'Unreasonable'} {'Accurate' if accurate else 'Inaccurate'}"


def file_name(sample_path: str) -> str:
    """A sample's file name as the authors' code takes it (sample paths are stored with '/')."""
    return sample_path.rsplit("/", 1)[-1]


def samples_by_file_name(samples: list[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for sample in samples:
        out.setdefault(file_name(sample.path), []).append(sample)
    return out


def ambiguous_name_error(name: str, samples: list[Sample], where: str) -> GradiaError:
    return GradiaError(f"file name {name!r} matches {len(samples)} samples {where} ({samples[0].path}, "
                       f"{samples[1].path}{', ...' if len(samples) > 2 else ''}): the authors' format keys by file "
                       "name alone; narrow it with --split")


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "...")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise GradiaError(f"the key {_shown(key)} appears twice")
        out[key] = value
    return out


def read_authors_file(path: str | os.PathLike) -> dict[str, tuple[bool, bool]]:
    """File name -> (reasonable, accurate); any problem is one GradiaError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from a Windows editor is harmless
    except OSError as exc:
        raise GradiaError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise GradiaError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        raise GradiaError(f"{path}: not valid JSON ({exc})") from None
    except GradiaError as exc:
        raise GradiaError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise GradiaError(f"{path}: expected a JSON object of file name -> judgement, got a {type(data).__name__}")
    out = {}
    for key, value in data.items():
        if not isinstance(value, str) or value not in AUTHORS_VALUES:
            shown = _shown(value) if isinstance(value, str) else f"a {type(value).__name__}"
            raise GradiaError(f"{path}: {_shown(key)} has the value {shown}, expected one of "
                              + ", ".join(repr(v) for v in AUTHORS_VALUES))
        if not key:
            raise GradiaError(f"{path}: an empty file name")
        out[key] = AUTHORS_VALUES[value]
    return out


def write_authors_file(path: str | os.PathLike, entries: dict[str, str]) -> None:
    """Keys sorted, UTF-8, indent 2; written whole or not at all (an existing file is replaced in one rename)."""
    text = json.dumps(dict(sorted(entries.items())), indent=2, ensure_ascii=False) + "\n"
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise GradiaError(f"{path}: cannot write ({exc.strerror or exc})") from None
