"""One line that says which file could not be shown and why, whatever was raised while reading it.

The app's own GradiaError already names the file; anything else (OpenCV's cv2.error, whose text
spans lines and starts with a source path; MemoryError, which has no text at all; any other
exception from a decoder) is turned into '<path>: <what went wrong>' here, so that the canvas, the
status bar and the thumbnails' tooltips never show a traceback or a multi-line message.
"""

from __future__ import annotations

import os

import cv2

from ...errors import GradiaError

DETAIL_CHARS = 200  # a reason is one line in a status bar or tooltip


def one_line(text: str, limit: int = DETAIL_CHARS) -> str:
    """``text`` on one line (whitespace runs collapsed), cut at ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def load_problem(path: str | os.PathLike, exc: BaseException, what: str = "the image") -> str:
    """Why ``path`` could not be read, in one line that names it."""
    if isinstance(exc, GradiaError):
        return one_line(str(exc), limit=2 * DETAIL_CHARS)
    if isinstance(exc, MemoryError):
        detail = f"not enough memory to load {what}"
    elif isinstance(exc, cv2.error):  # 'OpenCV(4.x) <source file>:<line>: error: (-215:...) <what> in function ...'
        text = getattr(exc, "err", None) or str(exc).split("error: ", 1)[-1]
        detail = f"OpenCV cannot decode {what} ({one_line(text)})"
    else:
        detail = f"cannot load {what} ({type(exc).__name__}: {one_line(str(exc)) or 'no details'})"
    return f"{path}: {detail}"
