"""The mask's two layers on the canvas: "don't look here" hatched in its own colour, under "look here".

Where both were painted, "look here" wins, as it does when the mask is saved (core/mask_layers.py):
the "don't look here" layer is drawn only where "look here" does not cover it, so what shows is what
is stored, and erasing "look here" there brings it back. Both layers share one opacity and one
visibility switch; only "look here" has a colour to choose.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene

from ...core.layered_mask_edit import AVOID, LayeredMaskEditor
from ...core.mask_edit import Rect
from .layers import MASK_COLOR, MaskLayer, PreparedMask

AVOID_COLOR = QColor(225, 40, 180)  # magenta: apart from the green "look here" also for red-green blindness


class MaskOverlay:
    """The two MaskLayer items of a scene: ``avoid_item`` at z, ``look_item`` above it."""

    def __init__(self, scene: QGraphicsScene, z: float, look_color: QColor = MASK_COLOR):
        self.avoid_item = MaskLayer(AVOID_COLOR, hatched=True)
        self.look_item = MaskLayer(look_color)
        for offset, item in enumerate((self.avoid_item, self.look_item)):
            item.setZValue(z + offset)
            scene.addItem(item)

    def items(self) -> tuple[MaskLayer, MaskLayer]:
        return self.avoid_item, self.look_item

    def reset(self, shape: tuple[int, int] | None) -> None:
        """Show nothing, over an image of ``shape`` (H, W)."""
        for item in self.items():
            item.reset(shape)

    def show(self, editor: LayeredMaskEditor, prepared: PreparedMask | None = None) -> None:
        """Show both of ``editor``'s layers; "look here" from ``prepared`` when that still shows it."""
        if prepared is not None and prepared.fits(editor, self.look_item.lut):
            self.look_item.adopt(prepared.image)
        else:
            self.look_item.render(editor.mask)
        if editor.avoid_empty:
            self.avoid_item.clear()
        else:
            self.avoid_item.render(editor.avoid_mask, hidden=editor.mask)

    def repaint(self, editor: LayeredMaskEditor, rect: Rect) -> None:
        """Show anew, inside ``rect``, the layer that ``editor`` changed last (and what "don't look here"
        shows where "look here" changed)."""
        if editor.changed_layer != AVOID:
            self.look_item.render(editor.mask, rect)
        if editor.changed_layer == AVOID or not editor.avoid_empty:
            self.avoid_item.render(editor.avoid_mask, rect, hidden=editor.mask)

    def set_look_color(self, color: QColor, editor: LayeredMaskEditor | None) -> None:
        self.look_item.set_color(color)
        if editor is not None:
            self.look_item.render(editor.mask)

    def set_visible(self, visible: bool) -> None:
        for item in self.items():
            item.setVisible(visible)

    def set_opacity(self, opacity: float) -> None:
        for item in self.items():
            item.setOpacity(opacity)
