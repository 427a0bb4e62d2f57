"""Editing a three-state mask: the "look here" and "don't look here" layers with one undo history.

Each layer is a MaskEditor (mask_edit.py). Every tool edits the *active* layer; undo and redo follow
the order of the edits whichever layer they changed: undo after an avoid stroke undoes that stroke,
the next undo the look stroke before it. The history records only which layer each step went to;
the pixels stay in that layer's own MaskEditor, whose steps are kept in the same order.

The layers are edited independently, so a pixel may be in both; ``layers()`` (what is saved) gives
it to "look here", as MaskLayers does. An avoid stroke over a look area therefore changes nothing
that is stored until the look area is erased there.

``mask`` is the "look here" layer, as for a MaskEditor: what the mask meant before there were two
layers, and what IoU and "has a mask" still mean.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from .mask_edit import MaskEditor, Rect
from .mask_layers import MaskLayers

LOOK, AVOID = "look", "avoid"
LAYERS = (LOOK, AVOID)


class LayeredMaskEditor:
    """The two layers of one sample's mask (``look``, ``avoid``: MaskEditors) behind one undo history."""

    def __init__(self, shape: tuple[int, int], look: np.ndarray | None = None, avoid: np.ndarray | None = None,
                 max_undo: int = 200):
        self._start(MaskEditor(shape, look, max_undo), MaskEditor(shape, avoid, max_undo),
                    avoid_known_empty=avoid is None)

    @classmethod
    def of(cls, shape: tuple[int, int], layers: MaskLayers | None) -> LayeredMaskEditor:
        """An editor of stored ``layers`` (None: no mask yet)."""
        if layers is None:
            return cls(shape)
        return cls(shape, layers.look, layers.avoid if layers.three_state else None)

    @classmethod
    def over(cls, look: MaskEditor) -> LayeredMaskEditor:
        """Two layers whose "look here" layer is ``look`` itself (shared, with its undo and redo steps)
        and whose "don't look here" layer starts empty."""
        editor = cls.__new__(cls)
        editor._start(look, MaskEditor(look.shape, max_undo=look.max_undo), avoid_known_empty=True)
        editor._undo.extend([LOOK] * look.undo_depth)
        editor._redo.extend([LOOK] * look.redo_depth)
        return editor

    def _start(self, look: MaskEditor, avoid: MaskEditor, avoid_known_empty: bool) -> None:
        self.look, self.avoid = look, avoid
        self.shape = look.shape
        self.active_layer = LOOK
        self.changed_layer = LOOK  # the layer the last edit, undo or redo changed (what to repaint)
        self._undo: deque[str] = deque(maxlen=look.max_undo)  # layer names, oldest first
        self._redo: list[str] = []
        self._stroke_layer: str | None = None
        # (avoid.version, whether that layer was empty then): no pass over a large empty layer's pixels
        self._avoid_checked: tuple[int, bool] | None = (avoid.version, True) if avoid_known_empty else None

    # ---- layers -------------------------------------------------------------------------------
    def layer(self, name: str) -> MaskEditor:
        if name not in LAYERS:
            raise ValueError(f"unknown mask layer {name!r} (expected one of {', '.join(LAYERS)})")
        return self.look if name == LOOK else self.avoid

    def set_active_layer(self, name: str) -> None:
        """Edit ``name`` from now on (an open stroke is committed first, to its own layer)."""
        self.layer(name)
        self.end_stroke()
        self.active_layer = name

    @property
    def active(self) -> MaskEditor:
        """The active layer's editor (read its mask; edit through this object, so the history holds)."""
        return self.layer(self.active_layer)

    @property
    def mask(self) -> np.ndarray:
        """The "look here" layer, (H, W) bool."""
        return self.look.mask

    @property
    def avoid_mask(self) -> np.ndarray:
        return self.avoid.mask

    @property
    def active_mask(self) -> np.ndarray:
        return self.active.mask

    @property
    def avoid_empty(self) -> bool:
        """Whether nothing is marked "don't look here" (looked at once per change of that layer, so
        asking after every "look here" stroke costs nothing)."""
        if self._avoid_checked is None or self._avoid_checked[0] != self.avoid.version:
            self._avoid_checked = (self.avoid.version, not self.avoid.mask.any())
        return self._avoid_checked[1]

    def layers(self) -> MaskLayers:
        """Both layers as saved ("look here" wins where both are set)."""
        return MaskLayers.of(self.look.mask, self.avoid.mask)

    @property
    def version(self) -> int:
        """Grows with every change to either layer."""
        return self.look.version + self.avoid.version

    @property
    def coverage(self) -> float:
        """The share of "look here" pixels."""
        return self.look.coverage

    @property
    def avoid_coverage(self) -> float:
        return np.count_nonzero(self.avoid.mask & ~self.look.mask) / self.look.mask.size

    # ---- history ------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo) or (self._stroke_layer is not None and self.layer(self._stroke_layer).can_undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_depth(self) -> int:
        return len(self._undo)

    @property
    def undo_bytes(self) -> int:
        return self.look.undo_bytes + self.avoid.undo_bytes

    def undo(self) -> Rect | None:
        self.end_stroke()
        if not self._undo:
            return None
        name = self._undo.pop()
        self._redo.append(name)
        self.changed_layer = name
        return self.layer(name).undo()

    def redo(self) -> Rect | None:
        self.end_stroke()
        if not self._redo:
            return None
        name = self._redo.pop()
        self._undo.append(name)
        self.changed_layer = name
        return self.layer(name).redo()

    def _recorded(self, name: str, rect: Rect | None) -> Rect | None:
        """After a step of layer ``name`` that changed ``rect`` (None: no step): note it in the history."""
        if rect is not None:
            self._undo.append(name)
            self._new_change(name)
        return rect

    def _new_change(self, name: str) -> None:
        self._redo.clear()
        for editor in (self.look, self.avoid):
            editor.forget_redo()
        self.changed_layer = name

    # ---- brush and eraser ---------------------------------------------------------------------
    def begin_stroke(self, value: bool, radius: float) -> None:
        """Start a stroke on the active layer: value True paints, False erases."""
        if self._stroke_layer is not None:
            raise ValueError("begin_stroke called while a stroke is already open")
        self.active.begin_stroke(value, radius)
        self._stroke_layer = self.active_layer

    def stroke_to(self, x: float, y: float) -> Rect | None:
        if self._stroke_layer is None:
            raise ValueError("stroke_to called without begin_stroke")
        rect = self.layer(self._stroke_layer).stroke_to(x, y)
        if rect is not None:
            self._new_change(self._stroke_layer)
        return rect

    @property
    def stroke_open(self) -> bool:
        return self._stroke_layer is not None

    def end_stroke(self, snap_to: np.ndarray | None = None) -> Rect | None:
        """Close an open stroke; one undo step if it changed anything (``snap_to``: MaskEditor.end_stroke)."""
        name = self._stroke_layer
        if name is None:
            return None
        rect = self.layer(name).end_stroke(snap_to)
        self._stroke_layer = None
        return self._recorded(name, rect)

    # ---- whole-region edits of the active layer ----------------------------------------------
    def flood_fill(self, x: float, y: float, value: bool) -> Rect | None:
        self.end_stroke()
        return self._recorded(self.active_layer, self.active.flood_fill(x, y, value))

    def wand_fill(self, image: np.ndarray, x: float, y: float, tolerance: int, value: bool) -> Rect | None:
        self.end_stroke()
        return self._recorded(self.active_layer, self.active.wand_fill(image, x, y, tolerance, value))

    def fill_region(self, region: np.ndarray, value: bool) -> Rect | None:
        self.end_stroke()
        return self._recorded(self.active_layer, self.active.fill_region(region, value))

    def fill_polygon(self, points: Sequence[tuple[float, float]], value: bool) -> Rect | None:
        self.end_stroke()
        return self._recorded(self.active_layer, self.active.fill_polygon(points, value))

    def clear(self) -> Rect | None:
        self.end_stroke()
        return self._recorded(self.active_layer, self.active.clear())

    def invert(self) -> Rect | None:
        self.end_stroke()
        return self._recorded(self.active_layer, self.active.invert())

    def replace(self, new_mask: np.ndarray) -> Rect | None:
        self.end_stroke()
        return self._recorded(self.active_layer, self.active.replace(new_mask))
