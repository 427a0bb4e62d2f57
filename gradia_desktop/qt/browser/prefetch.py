"""Preparing the samples next to the current one off the GUI thread, so that D/A switch at once.

For the rows before and after the current one in the browser, one worker thread decodes the image
into the canvas's RGB32 layer (canvas_layers.rgb_layer_image) and renders the "look here" mask layer:
from the window's cached editor, or from the mask read from disk into a new LayeredMaskEditor (the
canvas draws the "don't look here" layer itself, most often empty). ``take`` hands the
result to the window when the sample is shown; the canvas adopts a prepared mask only while it
still shows that editor's current edit version in the current colour.

A mask read here from disk is trusted only when no save of that sample was pending when the read
was queued nor when it is taken, and the file is still the one read (inode, size, mtime); else the
window reads it on the GUI thread as it would without prefetching. A shown image stays cached, so
going back re-renders only its mask layer. Entries are bounded by count and bytes.

An image that cannot be decoded (whatever the decoder raises: GradiaError, cv2.error, MemoryError)
is handed over as a ``Prepared`` with its one-line ``error``, while the file is still the one that
failed: the window shows why instead of decoding a huge or hostile file again on the GUI thread.

A large image that was not prefetched (``load_now``) gets a first look on a lane of its own, so it
never waits behind a neighbour's decode: a screen-sized preview when one is cheap (a reduced JPEG
decode, or a preview cached when the image was last decoded in full; see
canvas/progressive_image.py) and its mask. Meanwhile the background lane decodes the full image,
which the canvas swaps in without moving the view.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from ...core.autosave import MaskAutosaver
from ...core.layered_mask_edit import LayeredMaskEditor
from ...core.records import Sample
from ...core.store import Project
from .table_model import SAMPLE_ROLE
from ..canvas.layers import PreparedMask, mask_layer_image, rgb_layer_array, rgb_layer_image
from ..canvas.load_problem import load_problem
from ..canvas.progressive_image import (PREVIEWS, JPEG_SUFFIXES, PreviewImage, Refinement, file_stamp, first_look,
                                        full_shape_of, image_bytes, preview_likely, preview_target, worth_a_preview)

MAX_ENTRIES = 6
MAX_BYTES = 512 * 1024 * 1024


@dataclass(eq=False)
class Prepared:
    """A sample made ready for the canvas: ``image`` for Canvas.set_image, ``mask`` for set_editor.
    ``error``: why the image could not be loaded, in one line naming the file."""

    sample_id: int
    image: QImage | None = None
    mask: PreparedMask | None = None
    mask_stamp: object = None  # the mask file's identity when ``mask`` was read from disk, else None
    image_stamp: object = None  # the image file's identity when it was read
    error: str | None = None

    @property
    def nbytes(self) -> int:
        n = image_bytes(self.image)
        if self.mask is not None:
            n += self.mask.image.sizeInBytes() + 2 * self.mask.editor.mask.nbytes
        return n

    @property
    def mask_from_disk(self) -> bool:
        return self.mask_stamp is not None


def _stamp(project: Project, sample_id: int) -> tuple:
    return file_stamp(project.mask_path(sample_id))


def full_layer(project: Project, sample: Sample, screen: tuple[int, int] | None) -> QImage:
    """The sample's image layer at full size. A large image that has no reduced decode also leaves a
    preview behind (with a ``screen`` to size it), so that its next first look is quick."""
    path = project.image_path(sample)
    stamp = file_stamp(path)
    rgb = project.load_image(sample)
    if (screen is not None and worth_a_preview(rgb.shape[1], rgb.shape[0]) and path.suffix.lower() not in JPEG_SUFFIXES
            and not PREVIEWS.has(path, stamp) and file_stamp(path) == stamp):
        PREVIEWS.put(path, stamp, rgb, screen)
    return rgb_layer_image(rgb)


def first_look_layer(project: Project, sample: Sample, refinement: Refinement | None,
                     screen: tuple[int, int] | None) -> QImage:
    """The image layer to show first: with a ``refinement`` that will bring the full image, a
    PreviewImage covering ``screen`` when one is cheap, else the full image (which then fulfils
    ``refinement`` too, without leaving a preview behind: the user waits). Without, the full image
    (leaving a preview behind when there is a ``screen``)."""
    if refinement is None:
        return full_layer(project, sample, screen)
    path = project.image_path(sample)
    look = first_look(path, file_stamp(path), screen)
    if look is not None and look[0].shape[:2] != look[1][::-1]:
        rgb, (width, height) = look
        return PreviewImage(rgb_layer_array(rgb), (height, width), refinement)
    image = rgb_layer_image(look[0]) if look is not None else full_layer(project, sample, None)
    refinement.fulfil(image)
    return image


def refine(project: Project, sample: Sample, refinement: Refinement, screen: tuple[int, int] | None) -> None:
    """The background lane's job: decode the full image a preview stands for (None if it fails)."""
    if refinement.done():
        return
    try:
        image = full_layer(project, sample, screen)
    except Exception:  # noqa: BLE001 - the preview stays; tools that need every pixel get it scaled up
        image = None
    refinement.fulfil(image)


def _prepare(project: Project, sample: Sample, image: QImage | None, image_stamp: object,
             editor: LayeredMaskEditor | None, read_mask: bool, lut: np.ndarray,
             refinement: Refinement | None = None, screen: tuple[int, int] | None = None) -> Prepared:
    """The worker's job (no widgets): see the module docstring."""
    prepared = Prepared(sample.id, image, image_stamp=image_stamp)
    if image is None:
        path = project.image_path(sample)
        stamp = file_stamp(path)
        try:
            prepared.image = first_look_layer(project, sample, refinement, screen)
        except Exception as exc:  # noqa: BLE001 - whatever the decoder raised: the window shows the reason
            prepared.error = load_problem(path, exc)
        prepared.image_stamp = stamp if file_stamp(path) == stamp else None
        if prepared.error is not None:
            return prepared
    shape = full_shape_of(prepared.image)
    try:
        if editor is not None:
            if editor.shape == shape:
                prepared.mask = mask_layer_image(editor, lut)
        elif read_mask:
            stamp = _stamp(project, sample.id)
            layers = project.read_mask_layers(sample)
            if (layers is None or layers.shape == shape) and _stamp(project, sample.id) == stamp:
                prepared.mask = mask_layer_image(LayeredMaskEditor.of(shape, layers), lut)
                prepared.mask_stamp = stamp
    except Exception:  # noqa: BLE001 - a bad or changing mask is read again on the GUI thread
        prepared.mask = prepared.mask_stamp = None
    return prepared


def neighbours(browser) -> list[Sample]:
    """The samples in the rows after and before the browser's current row (wrapping)."""
    table = browser.table
    model, current = table.model(), table.currentIndex()
    n = model.rowCount()
    if not current.isValid() or n < 2:
        return []
    rows = dict.fromkeys(((current.row() + 1) % n, (current.row() - 1) % n))
    samples = [model.index(row, 0).data(SAMPLE_ROLE) for row in rows]
    return [s for s in samples if s is not None]


class _Relay(QObject):
    ready = Signal(object)  # a callable to run on the GUI thread


class Prefetcher:
    """Prepared neighbours of the current sample; GUI-thread API, one worker thread."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradia-prefetch")
        self._urgent = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradia-first-look")
        self._refining: dict[int, tuple[Refinement, Future]] = {}  # sample id -> the full decode of its preview
        self.screen: tuple[int, int] | None = None  # what a preview covers; None: preview_target()
        self._entries: OrderedDict[int, Future] = OrderedDict()  # sample id -> Future[Prepared], newest last
        self._estimates: dict[int, int] = {}  # bytes, for entries not done yet
        self._project: Project | None = None
        self._last: tuple[int, ...] = ()  # the neighbours prefetched last, in order
        self._deferred: list[tuple] = []  # prefetches waiting for the event loop
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_deferred)
        self._relay = _Relay()  # lives on the GUI thread: the worker's "done" arrives there
        self._relay.ready.connect(lambda callback: callback())
        self.max_entries, self.max_bytes = max_entries, max_bytes

    def _use(self, project: Project | None) -> None:
        if project is not self._project:
            self.clear()
            self._project = project

    def clear(self) -> None:
        self._deferred = []
        for future in [*self._entries.values(), *(f for _, f in self._refining.values())]:
            future.cancel()
        self._entries.clear()
        self._refining.clear()
        self._estimates.clear()
        self._last = ()

    def shutdown(self) -> None:
        self.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._urgent.shutdown(wait=False, cancel_futures=True)

    def _screen(self) -> tuple[int, int]:
        return self.screen or preview_target()

    def take(self, project: Project, sample: Sample, autosaver: MaskAutosaver | None,
             block: bool = True) -> Prepared | None:
        """The prepared sample (waiting for it if the worker has it in hand, unless not ``block``:
        then it stays queued for ``load_now``), or None. Its image stays cached; its mask is handed
        over only once, and only while it is still current."""
        self._use(project)
        self._deferred = [job for job in self._deferred if job[1].id != sample.id]
        in_hand = self._entries.get(sample.id)
        if not block and in_hand is not None and in_hand.running():
            return None
        future = self._entries.pop(sample.id, None)
        self._estimates.pop(sample.id, None)
        if future is None or (not future.done() and future.cancel()):
            return None
        try:
            prepared = future.result()
        except CancelledError:
            return None
        if file_stamp(project.image_path(sample)) != prepared.image_stamp:
            return None  # the file changed meanwhile: the window loads it now
        if prepared.error is not None:  # failed on this very file: kept, so that a revisit decodes nothing
            self._keep(sample.id, _done(prepared))
            return prepared
        if prepared.mask_from_disk and not (
                (autosaver is None or autosaver.state(sample.id) == "saved")
                and _stamp(project, sample.id) == prepared.mask_stamp):
            prepared.mask = None
        prepared = self._with_full_image(project, sample, prepared)
        self._keep(sample.id, _done(Prepared(sample.id, prepared.image, image_stamp=prepared.image_stamp)))
        return prepared

    def _with_full_image(self, project: Project, sample: Sample, prepared: Prepared) -> Prepared:
        """``prepared`` with its preview's full image once that has arrived; else it is on its way."""
        if not isinstance(prepared.image, PreviewImage):
            return prepared
        full = prepared.image.full()
        if full is not None:
            return replace(prepared, image=full)
        self._refine(project, sample, prepared.image.refinement)
        return prepared

    def prefetch_around(self, project: Project, current: Sample, browser, editors: dict[int, LayeredMaskEditor],
                        autosaver: MaskAutosaver | None, lut: np.ndarray,
                        also: Callable[[Sample], None] | None = None) -> list[Sample]:
        """Prepare the browser's rows next to ``current`` (their editors, if cached, are in
        ``editors``), the direction of travel first, and call ``also`` for each (e.g. to queue its
        heatmap). The work starts once the event loop has painted the current sample: the 2-4
        cores of a laptop are the GUI thread's until then. Returns the samples asked for."""
        self._use(project)
        samples = [s for s in neighbours(browser) if s.id != current.id]
        if len(samples) == 2 and self._last and current.id == self._last[-1]:
            samples.reverse()  # we just went back: the previous row is likelier next
        self._last = tuple(s.id for s in samples)
        self._deferred = [(project, s, editors.get(s.id), autosaver is None or autosaver.state(s.id) == "saved",
                           lut, also) for s in samples]
        self._timer.start()  # a zero-timer fires after the posted events, paint requests included
        return samples

    def load_now(self, project: Project, sample: Sample, editor: LayeredMaskEditor | None,
                 autosaver: MaskAutosaver | None, lut: np.ndarray, ready: Callable[[], None]) -> None:
        """Prepare ``sample`` ahead of everything queued, and call ``ready()`` on the GUI thread
        when ``take`` can hand it over: a large image that was not prefetched is decoded here
        instead of blocking the GUI thread."""
        self._use(project)
        self._deferred = []
        for sample_id, future in list(self._entries.items()):  # queued neighbours wait their turn again
            if sample_id != sample.id and future.cancel():
                del self._entries[sample_id]
                self._estimates.pop(sample_id, None)
        for sample_id, (_, future) in list(self._refining.items()):  # as do the full images of previews left behind
            if sample_id != sample.id and future.cancel():
                self._refining.pop(sample_id, None)  # (its done callback may have dropped it already)
        if sample.id not in self._entries:
            self._first_look(project, sample, editor, autosaver is None or autosaver.state(sample.id) == "saved", lut)
        self._entries[sample.id].add_done_callback(lambda _f: self._relay.ready.emit(ready))

    def _first_look(self, project: Project, sample: Sample, editor: LayeredMaskEditor | None, read_mask: bool,
                    lut: np.ndarray) -> None:
        """Prepare ``sample`` on the first-look lane: from a preview when one is cheap, while the
        background lane decodes the full image; else in full there."""
        path = project.image_path(sample)
        refinement = screen = None  # no preview made on this lane: the user waits for it
        if preview_likely(path, file_stamp(path), sample.width, sample.height):
            refinement, screen = Refinement(), self._screen()
            self._refine(project, sample, refinement)
        self._estimates[sample.id] = sample.width * sample.height * 9
        self._keep(sample.id, self._urgent.submit(_prepare, project, sample, None, None, editor, read_mask, lut,
                                                  refinement, screen))

    def _refine(self, project: Project, sample: Sample, refinement: Refinement) -> None:
        """Decode the full image of a preview on the background lane (unless on its way already);
        the preview's listeners (the canvas) hear of it on the GUI thread."""
        if refinement.done() or self._refining.get(sample.id, (None,))[0] is refinement:
            return
        future = self._executor.submit(refine, project, sample, refinement, self._screen())
        self._refining[sample.id] = (refinement, future)
        future.add_done_callback(lambda f: self._relay.ready.emit(lambda: self._refined(sample.id, refinement, f)))

    def _refined(self, sample_id: int, refinement: Refinement, future: Future) -> None:
        """On the GUI thread: show the full image, and cache it in place of the preview."""
        if self._refining.get(sample_id, (None, None))[1] is future:
            self._refining.pop(sample_id)
        if future.cancelled():
            return
        refinement.announce()
        entry = self._entries.get(sample_id)
        if entry is not None and entry.done() and not entry.cancelled():
            prepared = entry.result()
            image = prepared.image
            if isinstance(image, PreviewImage) and image.refinement is refinement and image.full() is not None:
                self._entries[sample_id] = _done(replace(prepared, image=image.full()))

    def _run_deferred(self) -> None:
        deferred, self._deferred = self._deferred, []
        for project, sample, editor, read_mask, lut, also in deferred:
            if project is not self._project:
                continue
            self._prefetch(project, sample, editor, read_mask, lut)
            if also is not None:
                try:
                    also(sample)
                except RuntimeError:  # its window has gone meanwhile
                    return

    def _prefetch(self, project: Project, sample: Sample, editor: LayeredMaskEditor | None, read_mask: bool,
                  lut: np.ndarray) -> None:
        future = self._entries.get(sample.id)
        image = image_stamp = None
        if future is not None:
            if not future.done():
                self._entries.move_to_end(sample.id)
                return
            prepared = future.result()
            if isinstance(prepared.image, PreviewImage) and prepared.image.full() is None:
                self._refine(project, sample, prepared.image.refinement)
            if prepared.error is None and prepared.mask is not None and np.array_equal(prepared.mask.lut, lut):
                self._entries.move_to_end(sample.id)
                return
            if prepared.error is not None and file_stamp(project.image_path(sample)) == prepared.image_stamp:
                self._entries.move_to_end(sample.id)  # the same file would fail the same way
                return
            if prepared.error is None:  # shown before: only its mask layer is missing
                image, image_stamp = prepared.image, prepared.image_stamp
        self._estimates[sample.id] = sample.width * sample.height * 9  # image + mask layer + mask
        self._keep(sample.id, self._executor.submit(_prepare, project, sample, image, image_stamp, editor,
                                                    read_mask, lut, None, self._screen()))

    def _keep(self, sample_id: int, future: Future) -> None:
        self._entries[sample_id] = future
        self._entries.move_to_end(sample_id)
        while len(self._entries) > self.max_entries or (len(self._entries) > 1 and self._bytes() > self.max_bytes):
            old_id, old = self._entries.popitem(last=False)
            self._estimates.pop(old_id, None)
            old.cancel()

    def _bytes(self) -> int:
        total = 0
        for sample_id, future in self._entries.items():
            if future.done() and not future.cancelled():
                total += future.result().nbytes
            else:
                total += self._estimates.get(sample_id, 0)
        return total

    def pending(self) -> int:
        """Prefetches not finished yet (waiting for the event loop or a worker), full images of
        previews included."""
        futures = [*self._entries.values(), *(f for _, f in self._refining.values())]
        return len(self._deferred) + sum(not f.done() for f in futures)

    def cached_ids(self) -> list[int]:
        return list(self._entries)


def _done(value: Prepared) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future
