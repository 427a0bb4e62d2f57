"""The Click to mask tool's state: the clicks and box so far on one layer, and what cuts them out.

Built in: GrabCut (core/click_segmentation.py), optionally seeded from the heatmap shown ("Seed
clicks from the heatmap": where the model looks is the first guess of the object). When the user has
chosen a Segment-Anything-family ONNX pair (click_model_dialog.py), clicks use it instead
(core/learned_segmentation.py): the pair is loaded on first use, each image's embedding is computed
on the click worker as soon as the image is shown with the tool chosen, and each click then runs
only the decoder. A pair that cannot be loaded is said once on the status bar, and clicks use the
built-in way until the files are chosen again.

Clicks carry on while the mask is as the last click left it; any other change to it (another tool,
undo, another sample or layer), a new seed setting or model starts anew. Steps run on the click
worker (click_worker.py) for large images, and always with a learned model; otherwise at once.
"""

from __future__ import annotations

import weakref
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...core.click_segmentation import ClickSession
from ...core.learned_segmentation import LearnedClickSession, SamModelPair, compute_embedding
from ...core.mask_edit import MaskEditor
from ...errors import GradiaError
from .click_worker import BACKGROUND_PIXELS, ClickWorker, failure_text


class ClickToMask(QObject):
    """Clicks and boxes of the Click to mask tool on a ``CanvasSurface`` (interaction.py)."""

    message = Signal(str)  # one line for the status bar
    model_changed = Signal()  # the model files were chosen or dropped

    def __init__(self, surface, worker: ClickWorker, parent: QObject | None = None):
        super().__init__(parent)
        self._surface = surface
        self.worker = worker
        worker.failed.connect(self.message)
        self.seed_from_heatmap = False
        self._files: tuple[Path, Path] | None = None
        self._pair: SamModelPair | None = None
        self._load_failed = False  # said once; tried again when the files are chosen again
        self._embedding: tuple[weakref.ref, Future] | None = None  # the shown image's, on the worker
        self._session: tuple[MaskEditor, ClickSession | LearnedClickSession] | None = None

    # ---- settings -----------------------------------------------------------------------------
    def set_seed_from_heatmap(self, on: bool) -> None:
        self.seed_from_heatmap = bool(on)
        self._session = None

    def model_files(self) -> tuple[Path, Path] | None:
        """The encoder and decoder chosen, or None: the built-in click to mask."""
        return self._files

    def set_model_files(self, encoder: str | Path | None, decoder: str | Path | None) -> None:
        """Use this pair from the next click on (loaded then); None: the built-in click to mask."""
        files = None if not encoder or not decoder else (Path(encoder), Path(decoder))
        if files != self._files:
            self._files, self._pair, self._load_failed = files, None, False
            self._embedding, self._session = None, None
            self.model_changed.emit()

    def load_model(self, encoder: str | Path, decoder: str | Path) -> SamModelPair:
        """Load the pair now and use it; a GradiaError (one line naming the file) leaves all as it was."""
        pair = SamModelPair(encoder, decoder)
        self.set_model_files(encoder, decoder)
        self._pair = pair
        self.prefetch()
        return pair

    def model(self) -> SamModelPair | None:
        """The chosen pair, loaded on first use; None without one, or when it cannot be loaded."""
        if self._files is None or self._load_failed:
            return None
        if self._pair is None:
            try:
                self._pair = SamModelPair(*self._files)
            except GradiaError as e:
                self._load_failed = True
                self.message.emit(f"{e}; clicks use the built-in click to mask until the model files are "
                                  "chosen again")
                return None
        return self._pair

    # ---- the shown image's embedding ----------------------------------------------------------
    def prefetch(self) -> None:
        """Start on the shown image's embedding if the tool is Click to mask with a learned model."""
        image = self._surface.image() if self._surface.tool() == "click" and self._files is not None else None
        if image is not None:
            self._embedding_of(image)

    def _embedding_of(self, image: np.ndarray) -> Future | None:
        pair = self.model()
        if pair is None:
            return None
        if self._embedding is None or self._embedding[0]() is not image:
            wanted = weakref.ref(image)

            def job():  # skipped when another image was shown while it waited
                shown = self._embedding
                return compute_embedding(pair, image) if shown is not None and shown[0] is wanted else None

            self._embedding = (wanted, None)  # before submitting: the job may start at once and looks here
            self._embedding = (wanted, self.worker.run(job))
        return self._embedding[1]

    # ---- clicks and boxes ---------------------------------------------------------------------
    def click(self, x: float, y: float, positive: bool) -> None:
        """One click at image point (x, y) (pixel centres on integers): one undo step."""
        self._step(lambda session: session.click(x, y, positive))

    def box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Keep the object inside the box with corners (x0, y0), (x1, y1): one undo step."""
        self._step(lambda session: session.set_box(x0, y0, x1, y1))

    def pending(self) -> int:
        return self.worker.pending()

    def _step(self, operation) -> None:
        surface, worker = self._surface, self.worker
        editor, image = surface.editor(), surface.image()
        if editor is None or image is None:
            return
        layer = editor.active  # read only: its edits go through ``editor``, which keeps the history
        session = self._session[1] if self._session is not None and self._session[0] is layer else None
        queued = worker.pending() > 0  # then the mask lags the session: keep it
        stale = session is not None and (session.result is None or not np.array_equal(session.result, layer.mask))
        if session is None or stale and not queued:
            session = self._new_session(image, layer.mask)
            self._session = (layer, session)
        if isinstance(session, LearnedClickSession):
            embedding = self._embedding_of(image)
            if embedding is not None and not embedding.done():
                self.message.emit("Click to mask: the model is still reading this image; the click follows")

            def step() -> np.ndarray:
                ready = None if embedding is None else embedding.result()
                if ready is not None:
                    session.use_embedding(ready)
                return operation(session)

            worker.submit(layer, session, step, self._apply)
        elif image.shape[0] * image.shape[1] >= BACKGROUND_PIXELS:
            worker.submit(layer, session, lambda: operation(session), self._apply)
        else:
            try:
                mask = operation(session)
            except Exception as e:  # noqa: BLE001 - the mask stays as it was; the status bar says why
                self.message.emit(failure_text(e))
                return
            self._apply(layer, mask)

    def _new_session(self, image: np.ndarray, base: np.ndarray) -> ClickSession | LearnedClickSession:
        pair = self.model()
        if pair is not None:
            return LearnedClickSession(pair, image, base)
        prior = self._surface.heatmap() if self.seed_from_heatmap else None
        return ClickSession(image, base, prior=prior)

    def _apply(self, layer: MaskEditor, mask: np.ndarray) -> None:
        editor = self._surface.editor()
        if editor is not None and editor.active is layer:  # still the sample and layer shown
            rect = editor.replace(mask)
            if rect is not None:
                self._surface.repaint_mask(rect)
                self._surface.commit_edit()
