"""The current sample's heatmap on the canvas - from the cache, or asked of the provider - or, when
it cannot be made, why not ('no heatmap: <reason>' in the status bar) instead of silently nothing."""

from __future__ import annotations

from collections.abc import Callable

from ...core.records import Sample
from ..canvas.canvas_widget import Canvas
from ..canvas.heatmaps import HeatmapProvider
from .status import WindowStatus

Wanted = tuple[Sample, int, object]  # sample, version id, target


class HeatmapDisplay:
    """``wanted()`` says which heatmap the window shows now (None: none)."""

    def __init__(self, provider: HeatmapProvider, canvas: Canvas, status: WindowStatus,
                 wanted: Callable[[], Wanted | None]):
        self._provider, self._canvas, self._status, self._wanted = provider, canvas, status, wanted
        provider.ready.connect(self._on_ready)
        provider.failed.connect(self._on_failed)

    def show(self) -> None:
        """The wanted heatmap: cached, or asked for (it arrives, or its failure does, later)."""
        self._status.show_heatmap_problem(None)
        wanted = self._wanted()
        if wanted is None or self._canvas.image_shape() is None:
            self._canvas.set_heatmap(None)
            return
        sample, _version_id, target = wanted
        cached = self._provider.cached(sample.id, target)
        self._canvas.set_heatmap(cached)
        if cached is None:
            self._provider.request(sample, target)

    def _is_wanted(self, sample_id: int, version_id: int | None, target: object) -> bool:
        wanted = self._wanted()
        return (wanted is not None and self._canvas.image_shape() is not None
                and (wanted[0].id, wanted[1], wanted[2]) == (sample_id, version_id, target))

    def _on_ready(self, sample_id: int, version_id: int, target: object, cam) -> None:
        if self._is_wanted(sample_id, version_id, target):
            self._canvas.set_heatmap(cam)
            self._status.show_heatmap_problem(None)

    def _on_failed(self, sample_id: int, version_id: int | None, target: object, reason: str) -> None:
        if self._is_wanted(sample_id, version_id, target):
            self._status.show_heatmap_problem(reason)
