"""Reading a JSON file handed to us by someone else, with every resource it could exhaust bounded.

- Only a regular file is read. It is opened non-blocking, so a FIFO cannot hang the open, and
  checked with fstat before a byte is read: pipes, devices (/dev/zero) and sockets are refused.
- At most ``max_bytes`` are read, whatever size the file claims.
- Nesting deeper than ``max_depth`` is refused by a scan of the bytes before parsing, so the
  recursive parser never sees it.
- An integer literal longer than ``MAX_INT_DIGITS`` is not converted (Python refuses 4,300+
  digits, and long conversions are slow): it becomes an ``OversizedInteger``, which no
  ``isinstance(value, int)`` check accepts, so the caller reports it at the entry that holds it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np

from ..errors import GradiaError

MAX_INT_DIGITS = 19  # every int64 fits; no id, size or run length needs more
_SCAN_CHUNK = 1 << 20  # bytes scanned at a time for the nesting depth (bounded scratch memory)
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_BRACKET_STEP = np.zeros(256, np.int8)  # +1 opens a level, -1 closes one
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1


class OversizedInteger:
    """Stands in for an integer literal too long to be any id, size or count; never converted."""

    __slots__ = ("digits",)

    def __init__(self, literal: str):
        self.digits = len(literal.lstrip("-"))

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


def _bounded_int(literal: str) -> int | OversizedInteger:
    return int(literal) if len(literal.lstrip("-")) <= MAX_INT_DIGITS else OversizedInteger(literal)


def size_text(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 and n % 2**20 == 0 else f"{n} bytes"


def read_regular_file(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes``; GradiaError otherwise.

    ``what`` ("a COCO JSON file") completes the messages: "<path>: is a folder, expected <what>".
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise GradiaError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise GradiaError(f"{path}: is a folder, expected {what}") from None
    except OSError as exc:
        raise GradiaError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise GradiaError(f"{path}: is a folder, expected {what}")
        if not stat.S_ISREG(mode):
            raise GradiaError(f"{path}: not a regular file (a pipe, device or socket), expected {what}")
        chunks, size = [], 0
        while size <= max_bytes:  # st_size is not trusted: the file may grow while we read
            chunk = os.read(fd, min(1 << 24, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise GradiaError(f"{path}: larger than the {size_text(max_bytes)} limit for {what}")
        return b"".join(chunks)
    except OSError as exc:
        raise GradiaError(f"{path}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def too_deep_at(data: bytes, max_depth: int) -> int | None:
    """Offset of the first bracket that opens level ``max_depth + 1`` outside strings, or None.

    A scan without recursion, a chunk at a time. It follows JSON's strings exactly as far as the
    text is valid JSON (a quote preceded by an odd run of backslashes is escaped); past the first
    invalid byte its answer does not matter, because the parser stops there too.
    """
    raw = np.frombuffer(data, np.uint8)
    depth, in_string, backslash_run = 0, False, 0  # carried from one chunk to the next
    for start in range(0, raw.size, _SCAN_CHUNK):
        c = raw[start:start + _SCAN_CHUNK]
        quotes = np.flatnonzero(c == _QUOTE)
        delimiters = _unescaped(c, quotes, backslash_run)
        steps = _BRACKET_STEP[c]
        brackets = np.flatnonzero(steps)
        brackets = brackets[(np.searchsorted(delimiters, brackets) + in_string) % 2 == 0]  # outside strings
        if brackets.size:
            levels = depth + np.cumsum(steps[brackets], dtype=np.int64)
            deep = np.flatnonzero(levels > max_depth)
            if deep.size:
                return start + int(brackets[deep[0]])
            depth = int(levels[-1])
        in_string ^= bool(delimiters.size % 2)
        backslash_run = _trailing_backslashes(c, backslash_run) % 2  # only its parity matters
    return None


def _trailing_backslashes(c: np.ndarray, carried_run: int) -> int:
    if c[-1] != _BACKSLASH:
        return 0
    plain = np.flatnonzero(c != _BACKSLASH)
    return c.size - 1 - int(plain[-1]) if plain.size else c.size + carried_run


def _unescaped(c: np.ndarray, quotes: np.ndarray, carried_run: int) -> np.ndarray:
    """The quotes of chunk ``c`` not escaped by an odd run of backslashes (``carried_run`` end the chunk before)."""
    preceded = quotes[(quotes > 0) & (c[np.maximum(quotes - 1, 0)] == _BACKSLASH)]
    if not preceded.size and not (carried_run and quotes.size and quotes[0] == 0):
        return quotes  # the usual case: no quote follows a backslash
    last_plain = np.maximum.accumulate(np.where(c == _BACKSLASH, -1, np.arange(c.size)))
    before = np.maximum(quotes - 1, 0)
    run = np.where(quotes > 0, quotes - 1 - last_plain[before], 0)
    run += np.where((quotes == 0) | (last_plain[before] < 0), carried_run, 0)
    return quotes[run % 2 == 0]


def load_json(path: Path, what: str, max_bytes: int, max_depth: int) -> object:
    """The JSON document in the file ``path``, read and parsed within the bounds above."""
    data = read_regular_file(path, max_bytes, what)
    deep = too_deep_at(data, max_depth)
    if deep is not None:
        line = data.count(b"\n", 0, deep) + 1
        column = deep - (data.rfind(b"\n", 0, deep) + 1) + 1
        raise GradiaError(f"{path}: nested more than {max_depth} levels deep (line {line}, column {column}), "
                          f"so not {what}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GradiaError(f"{path}: not UTF-8 text, so not {what}") from None
    del data
    try:
        return json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise GradiaError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:  # the depth scan makes this unreachable; kept so it could never be a traceback
        raise GradiaError(f"{path}: nested too deep, so not {what}") from None
