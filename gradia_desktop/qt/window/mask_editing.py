"""Which sample the canvas's mask belongs to, and the editors (with their undo history) of the
samples shown lately.

The canvas edits one LayeredMaskEditor ("look here" and "don't look here"); this binds it to the
one sample it was made for. A finished edit
is saved under the bound sample or not at all: never under whichever sample the browser moved to
meanwhile. ``release`` empties the canvas (an open stroke is committed first, to its own sample)
before anything else is shown, so that a sample whose image or mask cannot be loaded is never
shown with another sample's mask, nor edited through it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from ...core.autosave import MaskAutosaver
from ...core.layered_mask_edit import LayeredMaskEditor
from ...core.mask_layers import MaskLayers
from ...core.records import Sample
from ...core.store import Project
from ..browser.prefetch import Prepared
from ..canvas.canvas_widget import Canvas
from ..canvas.load_problem import load_problem
from . import project_dialogs

EDITORS_KEPT = 16  # recently visited images keep their undo history


class MaskNotShown(Exception):
    """The sample's stored mask cannot be shown (one line); painting over it would lose it."""


class MaskEditing:
    """See the module docstring. ``refresh(sample_ids)`` tells the browser a stored mask changed."""

    def __init__(self, parent: QWidget, canvas: Canvas, refresh: Callable[[list[int]], None]):
        self._parent = parent
        self._canvas = canvas
        self._refresh = refresh
        self.project: Project | None = None
        self.autosaver: MaskAutosaver | None = None
        self.editors: OrderedDict[int, LayeredMaskEditor] = OrderedDict()
        self._bound: tuple[Sample, LayeredMaskEditor] | None = None

    def use(self, project: Project | None, autosaver: MaskAutosaver | None) -> None:
        """Edit masks of ``project`` from now on (releasing the canvas and forgetting every editor)."""
        self.release()
        self.editors.clear()
        self.project, self.autosaver = project, autosaver

    def forget_editors(self) -> None:
        """Masks changed on disk (an import): the next visit reads each one anew."""
        self.editors.clear()

    def bound_sample(self) -> Sample | None:
        """The sample whose mask the canvas edits now, or None."""
        return None if self._bound is None else self._bound[0]

    def release(self) -> None:
        """Commit the canvas's open stroke or lasso to the sample it belongs to, then empty the canvas."""
        self._canvas.set_image(None)  # finishes the gesture first: it is saved through the old binding
        self._bound = None

    def bind(self, sample: Sample, prepared: Prepared | None) -> None:
        """Give the canvas (already showing ``sample``'s image) that sample's editor. When its mask
        cannot be read, the canvas says why and stays read-only instead."""
        try:
            editor = self._editor_for(sample, self._canvas.image_shape(), prepared)
        except Exception as exc:  # noqa: BLE001 - MaskNotShown, or e.g. no memory left for a huge mask
            problem = str(exc) if isinstance(exc, MaskNotShown) else \
                f"mask not shown: {load_problem(self.project.mask_path(sample.id), exc, 'the mask')}"
            self._canvas.set_editor(None)
            self._canvas.show_problem(problem)
            return
        self._canvas.set_editor(editor, None if prepared is None else prepared.mask)
        self._bound = (sample, editor)

    def save_edit(self, edit_version: int) -> bool:
        """Queue the bound editor's two layers for saving (the canvas's ``mask_edited``); False when the
        canvas's editor is bound to no sample, or nothing can be saved."""
        bound = self._bound
        if bound is None or self.autosaver is None or self._canvas.editor() is not bound[1]:
            return False
        sample, editor = bound
        self.autosaver.save(sample, editor.mask, edit_version, avoid=None if editor.avoid_empty else editor.avoid_mask)
        return True

    # ---- editors ----------------------------------------------------------------------------
    def _editor_for(self, sample: Sample, shape: tuple[int, int], prepared: Prepared | None) -> LayeredMaskEditor:
        """The sample's editor: kept with its undo history for recently visited images (else the
        one the prefetcher read from disk, if still valid, else read now)."""
        editor = self.editors.pop(sample.id, None)
        if editor is None and prepared is not None and prepared.mask is not None and prepared.mask_from_disk:
            editor = prepared.mask.editor
        if editor is None or editor.shape != shape:
            editor = LayeredMaskEditor.of(shape, self._read_layers(sample, shape))
        self.editors[sample.id] = editor
        while len(self.editors) > EDITORS_KEPT:
            self.editors.popitem(last=False)
        return editor

    def _read_layers(self, sample: Sample, shape: tuple[int, int]) -> MaskLayers | None:
        """The stored mask's layers at the image's size, or None; raises MaskNotShown when they cannot be."""
        project = self.project
        if self.autosaver is not None and self.autosaver.state(sample.id) == "saving":
            self.autosaver.flush()  # a stroke still being written is part of the mask
        try:
            layers = project.read_mask_layers(sample)
        except Exception as exc:  # noqa: BLE001 - whatever the decoder raised: say so, keep the file
            raise MaskNotShown(f"mask not shown: {load_problem(project.mask_path(sample.id), exc, 'the mask')}; "
                               "painting is off so that it is not overwritten") from None
        if layers is None or layers.shape == shape:
            return layers
        if project.readonly:
            raise MaskNotShown(f"{sample.path}: the mask's size differs from the image; not shown")
        try:
            layers = project_dialogs.settle_mask_size(self._parent, project, sample, layers, shape)
        except Exception as exc:  # noqa: BLE001 - e.g. a full disk while writing the resized mask
            raise MaskNotShown(f"mask not shown: {load_problem(project.mask_path(sample.id), exc, 'the mask')}") \
                from None
        finally:
            self._refresh([sample.id])
        if layers is None and project.read_mask_layers(sample) is not None:
            raise MaskNotShown(f"{sample.path}: the mask's size differs from the image; left as it is, "
                               "painting is off so that it is not overwritten")
        return layers
