"""A view over an image in pixel coordinates (scene = image pixels): fit, zoom around a point, pan.

The canvas (canvas_widget.py) is one; the scroll bars are hidden, so panning moves them directly.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

BACKGROUND = QColor(38, 40, 44)
ZOOM_RANGE = (0.01, 256.0)
MARGIN = 12  # screen pixels kept free around the fitted image


class ImageView(QGraphicsView):
    """See the module docstring. ``fit`` keeps the image fitted on resize until the user zooms."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackgroundBrush(BACKGROUND)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit_mode = True

    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        """Fit the whole image in the view (kept fitted on resize until the user zooms)."""
        self._fit_mode = True
        rect = self.sceneRect()
        view = self.viewport().size()
        if rect.isEmpty() or view.isEmpty():
            return
        scale = min((view.width() - 2 * MARGIN) / rect.width(), (view.height() - 2 * MARGIN) / rect.height())
        self._set_zoom(max(scale, ZOOM_RANGE[0]), None)
        self.centerOn(rect.center())
        self._fit_mode = True

    def actual_size(self) -> None:
        self.zoom_by(1.0 / self.zoom())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the scene point under ``anchor`` (view pixels; default: centre)."""
        self._set_zoom(min(max(self.zoom() * factor, ZOOM_RANGE[0]), ZOOM_RANGE[1]), anchor)

    def _set_zoom(self, zoom: float, anchor: QPointF | None) -> None:
        self._fit_mode = False
        anchor = QPointF(self.viewport().rect().center()) if anchor is None else QPointF(anchor)
        before = self.view_to_image(anchor)
        self.setTransform(QTransform.fromScale(zoom, zoom))
        delta = self.viewportTransform().map(before) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(delta.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(delta.y()))
        self.zoom_changed.emit(zoom)

    def view_to_image(self, view_pos: QPointF) -> QPointF:
        """A viewport point in image (scene) coordinates, exactly (mapToScene rounds to a QPoint)."""
        return self.viewportTransform().inverted()[0].map(QPointF(view_pos))

    def pan_by(self, delta: QPointF) -> None:
        """Move the image by ``delta`` viewport pixels."""
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()
