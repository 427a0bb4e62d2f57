"""Mapping a function over many files on a thread pool, in order, with progress and prompt cancel.

OpenCV's PNG codec and file I/O release the GIL, so threads use every core for mask work.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .progress import Progress, report

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return min(8, os.cpu_count() or 2)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], progress: Progress, stage: str,
                workers: int | None = None, every: int = 64) -> list[R]:
    """``[fn(x) for x in items]`` on threads. An exception (or Cancelled from ``progress``) drops the
    work still queued instead of finishing it, then propagates."""
    items = list(items)
    pool = ThreadPoolExecutor(max_workers=workers or default_workers())
    try:
        futures = [pool.submit(fn, item) for item in items]
        results = []
        for n, fut in enumerate(futures, 1):
            results.append(fut.result())
            if n % every == 0 or n == len(futures):
                report(progress, stage, n, len(futures))
        return results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
