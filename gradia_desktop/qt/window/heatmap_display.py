"""The current sample's heatmap on the canvas - from the cache, or asked of the provider - or, when
it cannot be made, why not ('no heatmap: <reason>' in the status bar) instead of silently nothing."""

from __future__ import annotations

from collections.abc import Callable

from ...core.records import Sample, Version
from ..canvas.canvas_widget import Canvas
from ..canvas.heatmaps import HeatmapProvider
from ..canvas.tool_panel import ToolPanel
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

    def follow_tools(self, tools: ToolPanel) -> None:
        """Heatmaps by the tool bar's CAM method and layer from now on, each change shown at once."""
        tools.method_changed.connect(self._method_chosen)
        tools.layer_changed.connect(self._layer_chosen)
        self._provider.set_method(tools.method())

    def _method_chosen(self, method: str) -> None:
        self._provider.set_method(method)
        self.show()

    def _layer_chosen(self, layer: str) -> None:
        self._provider.set_layer(layer)
        self.show()

    def show_version_layer(self, tools: ToolPanel, version: Version | None) -> None:
        """The tool bar's layer back to ``version``'s own, listing that model's layers."""
        v = version
        tools.show_version_layer(v.arch if v else None, v.image_size if v else 0, v.cam_layer if v else None)
        self._provider.set_layer(None)

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
