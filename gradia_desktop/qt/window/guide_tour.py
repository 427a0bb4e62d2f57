"""``gradia-desktop --guide-screenshots DIR``: the user guide's five-minute walkthrough, played by the app
on a fresh demo project in a temporary folder (the user's own demo is not touched), one PNG per step:

1. guide-1-open.png         the demo opened, the baseline trained
2. guide-2-ua-samples.png   the validation split's UA quadrant clicked: the browser lists those samples
3. guide-3-paint.png        two training images without a mask, masked with click to mask (C) and
                            judged unreasonable (U)
4. guide-4-retrain.png      a guided run, after its second epoch: the live matrix and plots
5. guide-5-matrix-after.png the new version selected: its matrix and the change from the baseline
6. guide-6-export.png       File > Export masks

docs/user-guide/walkthrough.md shows them; `make guide` makes them anew. The steps are a generator
that yields a condition to wait for (or seconds to wait), so the window keeps running meanwhile.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, Qt, QTimer
from PySide6.QtTest import QTest

from ...errors import Cancelled, GradiaError
from ...training.config import TrainConfig

POLL_MS = 100
STEP_TIMEOUT_S = 600  # a guided run of the demo takes well under a minute on two cores
SHOT_AFTER_EPOCH = 2
SHOTS = ("guide-1-open.png", "guide-2-ua-samples.png", "guide-3-paint.png", "guide-4-retrain.png",
         "guide-5-matrix-after.png", "guide-6-export.png")


def object_point(rgb: np.ndarray) -> tuple[int, int]:
    """A point deep inside the demo image's object: the largest region whose colour lies far from the
    background's (the median colour along the border)."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    distance = np.linalg.norm(lab - np.median(border, axis=0), axis=2)
    far = (distance > np.percentile(distance, 80)).astype(np.uint8)
    count, parts, stats, _ = cv2.connectedComponentsWithStats(far, connectivity=8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if count > 1 else 0
    depth = cv2.distanceTransform((parts == largest).astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(x), int(y)


class GuideTour(QObject):
    """Plays the walkthrough on ``window`` (showing the fresh demo) and saves each step in ``out_dir``;
    ``done(problem)`` follows, with None when every picture was saved."""

    def __init__(self, window, out_dir: Path, done: Callable[[str | None], None]):
        super().__init__(window)
        self.window, self.out_dir, self._done = window, Path(out_dir), done
        self._steps: Iterator = self._walk()
        self._wait: Callable[[], bool] | None = None
        self._deadline = 0.0
        self._epochs_seen: list[int] = []
        self._ended: list[str] = []
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        training = self.window.models.training
        training.live_epoch.connect(lambda live: self._epochs_seen.append(live.epoch))
        training.run_ended.connect(lambda status, _message: self._ended.append(status))
        self._timer.start(POLL_MS)

    def _tick(self) -> None:
        if self._wait is not None:
            if not self._wait():
                if time.monotonic() > self._deadline:
                    self._finish("a step of the walkthrough did not finish in time")
                return
            self._wait = None
        try:
            wanted = next(self._steps)
        except StopIteration:
            self._finish(None)
            return
        except Exception as e:  # noqa: BLE001 - a scripted run reports, it has nobody to show a dialog to
            where = traceback.extract_tb(e.__traceback__)[-1]
            self._finish(f"the walkthrough stopped: {type(e).__name__}: {e} ({Path(where.filename).name}:{where.lineno})")
            return
        if isinstance(wanted, (int, float)):
            until = time.monotonic() + wanted
            self._wait = lambda: time.monotonic() >= until
        else:
            self._wait = wanted
        self._deadline = time.monotonic() + STEP_TIMEOUT_S

    def _finish(self, problem: str | None) -> None:
        self._timer.stop()
        self._done(problem)

    def _shoot(self, name: str, widget=None) -> None:
        path = self.out_dir / name
        if not (widget or self.window).grab().save(str(path)):
            raise OSError(f"{path}: cannot save")

    # ---- the walkthrough ------------------------------------------------------------------------
    def _walk(self) -> Iterator:
        w = self.window
        yield lambda: w.version is not None and w.offer.worker is None and not w.models.is_training()
        yield 0.5
        self._shoot(SHOTS[0])

        w.models.matrix.set_split("val")
        yield 0.3
        w.models.matrix.view.cell("UA").click()
        yield 0.5
        self._shoot(SHOTS[1])

        w.browser.clear_filters()
        w.browser.set_split_filter("train")
        w.browser.mask_filter.setCurrentIndex(w.browser.mask_filter.findData(False))
        w.canvas.set_tool("click")
        for _ in range(2):
            w.browser.select_next()
            yield lambda: w.canvas.image() is not None and w.canvas.editor() is not None
            yield 0.3
            x, y = object_point(w.canvas.image())
            at = w.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))
            QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
            yield lambda: w.canvas.click_to_mask.pending() == 0
            QTest.keyClick(w.canvas, Qt.Key.Key_U)  # the model looks at the background: unreasonable
            yield 0.5
        w.autosaver.flush()
        self._shoot(SHOTS[2])

        baseline = w.version.id
        training = w.models.training
        form = training.panel
        if form.config().mode != "guided" or form.config().parent != baseline:
            form.set_config(TrainConfig(mode="guided", parent=baseline))  # what a fresh demo's form shows
        form.start_button.click()  # as the user does: the form's settings
        if not training.is_running():
            raise RuntimeError("the guided run did not start")
        yield lambda: SHOT_AFTER_EPOCH in self._epochs_seen or bool(self._ended)
        yield 0.3
        self._shoot(SHOTS[3])
        yield lambda: bool(self._ended) and w.version is not None and w.version.id != baseline
        w.models.matrix.set_split("val")
        yield 1.0
        self._shoot(SHOTS[4])

        from ..transfer.dialogs import ExportDialog  # File > Export masks opens it modally: shown here instead

        dialog = ExportDialog(w.project, w, w.version.id)
        dialog.show()
        yield 0.5
        self._shoot(SHOTS[5], dialog)
        dialog.close()


def run_guide_screenshots(app, out_dir: Path, error: Callable[[str], None]) -> int:
    """Make a fresh demo project in a temporary folder, open it in a main window of the usual size,
    play the walkthrough and save its pictures in ``out_dir``; the exit status (0: every picture)."""
    import tempfile

    from .app import WINDOW_SIZE, open_start_project
    from .main_window import MainWindow
    from .progress_dialog import ensure_demo_project

    if not out_dir.is_dir():
        error(f"{out_dir}: no such folder (create it first)")
        return 2
    with tempfile.TemporaryDirectory(prefix="gradia-guide-") as scratch:
        try:
            project = ensure_demo_project(project=Path(scratch) / "demo" / "project")
        except (Cancelled, GradiaError) as exc:
            error(str(exc))
            return 2
        window = MainWindow()
        if not open_start_project(window, project, scripted=True):
            return 2
        window.resize(*WINDOW_SIZE)
        window.show()
        window.offer.start_if_offered()  # the baseline, as on a first launch
        outcome: list[str | None] = []

        def done(problem: str | None) -> None:
            outcome.append(problem)
            window.models.shutdown()  # a run the tour started and did not see end: stopped, not asked about
            window.close()
            app.exit(0)

        tour = GuideTour(window, out_dir, done)
        tour.start()
        app.exec()
        if outcome and outcome[0]:
            error(outcome[0])
        return 0 if outcome and outcome[0] is None else 1
