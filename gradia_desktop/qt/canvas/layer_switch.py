"""The tool bar's switch between the mask's two layers, "look here" and "don't look here" (key X).

One checkable action (checked: the tools paint "don't look here"), right after the tools; its icon
shows the two layers' colours, the one being painted in front (hatched for "don't look here", as the
canvas draws it). The layer stays chosen from one sample to the next.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

from ...core.layered_mask_edit import AVOID, LOOK
from .canvas_widget import Canvas
from .mask_overlay import AVOID_COLOR
from .swatch_icons import layer_icon

LAYER_KEY = "X"
LAYER_LABELS = {LOOK: "Look here", AVOID: "Don't look here"}
LAYERS_EXPLAINED = ("\u201cLook here\u201d marks where the model should look; \u201cDon't look here\u201d "
                    "marks what it must not use (a ruler, a watermark, a tag). Pixels marked neither are "
                    "unknown; where both are painted, \u201cLook here\u201d wins")


class LayerSwitch(QObject):
    """Adds ``action`` to ``toolbar``; it shows and sets ``canvas``'s mask layer."""

    def __init__(self, canvas: Canvas, toolbar: QToolBar):
        super().__init__(toolbar)
        self._canvas = canvas
        self.action = QAction(toolbar)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence(LAYER_KEY))
        self.action.toggled.connect(self._choose)
        toolbar.addSeparator()
        toolbar.addAction(self.action)
        canvas.mask_layer_changed.connect(self._show)  # a method: disconnected when the switch goes
        self._show(canvas.mask_layer())

    def _choose(self, checked: bool) -> None:
        self._canvas.set_mask_layer(AVOID if checked else LOOK)

    def refresh(self) -> None:
        """Show the canvas's layer (and the mask colour it is painted in) anew."""
        self._show(self._canvas.mask_layer())

    def _show(self, layer: str) -> None:
        avoid = layer == AVOID
        self.action.blockSignals(True)
        self.action.setChecked(avoid)
        self.action.blockSignals(False)
        label = LAYER_LABELS[layer]
        self.action.setText(label)
        look, avoided = (self._canvas.mask_color(), False), (AVOID_COLOR, True)
        self.action.setIcon(layer_icon(front=avoided if avoid else look, back=look if avoid else avoided))
        self.action.setToolTip(f"Painting \u201c{label}\u201d ({LAYER_KEY} switches the layer the tools paint): "
                               f"{LAYERS_EXPLAINED}")
