"""Live training curves: losses per batch and per epoch, validation accuracy (also on counterfactual
copies) and IoU, progress and ETA.

The widget only draws what the trainer reports (through the worker's signals): it computes no
metric. Points go into growable numpy arrays and the existing curves get ``setData`` at most ten
times a second, so ~50 batches a second cost next to nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from ...core.training_metrics import BatchLosses, EpochMetrics

pg.setConfigOptions(antialias=True)

EPOCH_STAGE = re.compile(r"^epoch (\d+)/(\d+)")
REDRAW_MS = 100
_STEPS = 1000  # progress bar resolution
# name: (colour, legend label or None, batch curve?)
SERIES = {
    "ce_batch": ("#1f77b4", None, True),
    "attention_batch": ("#ff7f0e", None, True),
    "ce_epoch": ("#1f77b4", "cross-entropy", False),
    "attention_epoch": ("#ff7f0e", "attention", False),
    "val_accuracy": ("#2ca02c", "val accuracy", False),
    "val_counterfactual_accuracy": ("#d62728", "val CF accuracy", False),
    "val_iou": ("#9467bd", "val IoU", False),
    "train_accuracy": ("#2ca02c", "train accuracy (epoch's draws)", False),
}
TRAIN_ACCURACY_NOTE = ("Training accuracy is measured on what each epoch trains on: with counterfactuals most of it is "
                       "masked objects on other images' backgrounds, so a model that still reads the background "
                       "sits near chance there - the line rises as it learns the objects")


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class _Series:
    """x and y values in numpy arrays that double when full."""

    def __init__(self) -> None:
        self.x = np.empty(256)
        self.y = np.empty(256)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.concatenate([self.x, np.empty_like(self.x)])
            self.y = np.concatenate([self.y, np.empty_like(self.y)])
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


class TrainingPlots(QWidget):
    """Two plots (losses; validation accuracies and IoU), a progress bar and a stage / time-left line."""

    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self._clock = clock
        self._total_epochs = 0
        self._started: float | None = None
        self._first: tuple[float, float] | None = None  # (time, run fraction) at the first epoch-stage report
        self._series = {name: _Series() for name in SERIES}
        self._dirty: set[str] = set()
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(self.flush)

        self.progress = QProgressBar()
        self.progress.setRange(0, _STEPS)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.loss_plot = self._plot("loss", "Training loss: thin lines per batch; dots: each epoch's mean, "
                                            "drawn mid-epoch", x_label=False)
        self.metric_plot = self._plot("validation", "Validation accuracy, accuracy on counterfactual copies of the "
                                                    "masked validation images (another class's background) and "
                                                    "attention IoU after each epoch (dashed: training accuracy)")
        self.metric_plot.setYRange(0, 1, padding=0.02)
        self.metric_plot.getPlotItem().getViewBox().setMouseEnabled(y=False)
        self.metric_plot.setXLink(self.loss_plot)
        # Legends sit above their plots, never over the lines (inside, they hid the validation curves).
        self.loss_legend = self._legend(("ce_epoch", "attention_epoch"))
        self.metric_legend = self._legend(("val_accuracy", "val_counterfactual_accuracy", "val_iou",
                                           "train_accuracy"))
        self.metric_legend.setToolTip(TRAIN_ACCURACY_NOTE)
        self._curves: dict[str, pg.PlotDataItem] = {}
        for name, (colour, label, batch) in SERIES.items():
            plot = self.loss_plot if name.endswith(("_batch", "_epoch")) else self.metric_plot
            self._curves[name] = self._curve(plot, colour, label, batch, dashed=name == "train_accuracy")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.loss_legend)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.metric_legend)
        layout.addWidget(self.metric_plot, 1)
        self.setMinimumWidth(260)

    # ---- building -------------------------------------------------------------------------------
    def _plot(self, y_label: str, tooltip: str, x_label: bool = True) -> pg.PlotWidget:
        palette = self.palette()
        plot = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base))
        plot.setMinimumHeight(130)
        plot.setToolTip(tooltip)
        text = palette.color(QPalette.ColorRole.Text)
        item = plot.getPlotItem()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(palette.color(QPalette.ColorRole.Mid)))
            axis.setTextPen(pg.mkPen(text))
            axis.enableAutoSIPrefix(False)
        item.setLabel("left", y_label)
        if x_label:
            item.setLabel("bottom", "epoch")
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        item.hideButtons()
        return plot

    def _legend(self, names: tuple[str, ...]) -> QLabel:
        """A wrapped line of coloured keys (solid: per epoch; dashed: training accuracy)."""
        keys = []
        for name in names:
            colour, label, _ = SERIES[name]
            mark = "\u254c\u254c" if name == "train_accuracy" else "\u2501\u25cf\u2501"
            keys.append(f"<span style='color:{colour}'>{mark}</span>&nbsp;{label.replace(' ', '&nbsp;')}")  # wraps between keys
        legend = QLabel(" &nbsp; ".join(keys), wordWrap=True)
        legend.setTextFormat(Qt.TextFormat.RichText)
        legend.setProperty("series", list(names))
        return legend

    def _curve(self, plot: pg.PlotWidget, colour: str, label: str | None, batch: bool,
               dashed: bool = False) -> pg.PlotDataItem:
        c = QColor(colour)
        if batch:
            c.setAlpha(110)
            item = pg.PlotDataItem(pen=pg.mkPen(c, width=1))
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        elif dashed:
            item = pg.PlotDataItem(pen=pg.mkPen(c, width=1.5, style=Qt.PenStyle.DashLine), name=label)
        else:
            item = pg.PlotDataItem(pen=pg.mkPen(c, width=2), symbol="o", symbolSize=6, symbolBrush=c,
                                   symbolPen=None, name=label)
        plot.addItem(item)
        return item

    # ---- API ------------------------------------------------------------------------------------
    def begin(self, total_epochs: int) -> None:
        """A new run of ``total_epochs`` epochs starts now: empty plots, clock started."""
        self.clear()
        self._total_epochs = max(1, int(total_epochs))
        self._started = self._clock()
        self.loss_plot.setXRange(0, self._total_epochs, padding=0.02)
        self.status.setText("starting\u2026")

    def set_progress(self, stage: str, done: int, total: int) -> None:
        """A trainer progress report; ``epoch e/E`` stages move the whole run's bar and the time left."""
        now = self._clock()
        if self._started is None:
            self._started = now
        m = EPOCH_STAGE.match(stage)
        if m is None:  # loading, counterfactual bank, evaluating: the stage's own progress
            self.progress.setValue(round(_STEPS * done / total) if total > 0 else 0)
            self.progress.setFormat(f"{stage} {done}/{total}" if total > 0 else stage)
            self.status.setText(f"{stage} \u2014 {format_duration(now - self._started)} elapsed")
            return
        epoch, epochs = int(m.group(1)), int(m.group(2))
        fraction = min(1.0, ((epoch - 1) + (done / total if total > 0 else 0)) / max(epochs, 1))
        if self._first is None:
            self._first = (now, fraction)
        self.progress.setValue(round(_STEPS * fraction))
        self.progress.setFormat(f"{stage} \u00b7 %p%")
        text = f"{stage}, batch {done}/{total} \u2014 {format_duration(now - self._started)} elapsed"
        eta = self.eta(fraction, now)
        text += ", estimating time left\u2026" if eta is None else f", about {format_duration(eta)} left"
        self.status.setText(text)

    def eta(self, fraction: float, now: float | None = None) -> float | None:
        """Seconds left in the training epochs, from the pace since the first epoch report (None: too early)."""
        if self._first is None:
            return None
        now = self._clock() if now is None else now
        t0, f0 = self._first
        if fraction <= f0 or now <= t0:
            return None
        return (now - t0) * (1.0 - fraction) / (fraction - f0)

    def add_batch(self, epoch: int, batch: int, batches: int, losses: BatchLosses) -> None:
        """One training batch's losses (``ce``, ``attention``), at x = epoch - 1 + batch / batches."""
        x = epoch - 1 + batch / max(batches, 1)
        for name, value in (("ce_batch", losses.ce), ("attention_batch", losses.attention)):
            self._series[name].append(x, float(value))
            self._dirty.add(name)
        if not self._redraw.isActive():
            self._redraw.start()

    def add_epoch(self, epoch: int, metrics: EpochMetrics) -> None:
        """An epoch's metrics (None values are skipped): loss means at x = epoch - 0.5, the middle
        of the batches they average; accuracies and IoU at x = epoch, when they were measured."""
        for name, value, x in (("ce_epoch", metrics.ce, epoch - 0.5),
                               ("attention_epoch", metrics.attention, epoch - 0.5),
                               ("val_accuracy", metrics.val_accuracy, epoch),
                               ("val_counterfactual_accuracy", metrics.val_counterfactual_accuracy, epoch),
                               ("val_iou", metrics.val_iou, epoch),
                               ("train_accuracy", metrics.train_accuracy, epoch)):
            if value is not None:
                self._series[name].append(float(x), float(value))
                self._dirty.add(name)
        if epoch > self._total_epochs:
            self._total_epochs = epoch
            self.loss_plot.setXRange(0, epoch, padding=0.02)
        self.flush()

    def finish(self, status: str) -> None:
        """The run ended: ``done``, ``cancelled`` or ``failed: reason``."""
        self.flush()
        elapsed = "" if self._started is None else f" after {format_duration(self._clock() - self._started)}"
        if status == "done":
            self.progress.setValue(_STEPS)
        self.progress.setFormat(status.split(":")[0])
        self.status.setText(f"{status}{elapsed}")
        self.status.setStyleSheet("color: #c62828" if status.startswith("failed") else "")
        self._started = None
        self._first = None

    def clear(self) -> None:
        """Empty plots, bar and status line."""
        for name, series in self._series.items():
            series.n = 0
            self._curves[name].setData([], [])
        self._dirty.clear()
        self._redraw.stop()
        self._started = None
        self._first = None
        self._total_epochs = 0
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status.setText("")
        self.status.setStyleSheet("")
        self.loss_plot.getPlotItem().enableAutoRange()

    def load_history(self, epochs: list[EpochMetrics], title: str = "") -> None:
        """A finished version's per-epoch metrics (the store's epochs), without batch curves."""
        self.clear()
        for metrics in epochs:
            self.add_epoch(metrics.epoch, metrics)
        self.loss_plot.setXRange(0, max(1, len(epochs)), padding=0.02)
        self.progress.setValue(_STEPS if epochs else 0)
        self.progress.setFormat(f"{len(epochs)} epochs" if epochs else "")
        self.status.setText(title or (f"finished run, {len(epochs)} epochs" if epochs else "no epochs recorded"))

    def series(self, name: str) -> tuple[list[float], list[float]]:
        """The points of one series: ce_batch, attention_batch, ce_epoch, attention_epoch, val_accuracy,
        val_counterfactual_accuracy, val_iou or train_accuracy."""
        xs, ys = self._series[name].data()
        return xs.tolist(), ys.tolist()

    def curve(self, name: str) -> pg.PlotDataItem:
        return self._curves[name]

    def flush(self) -> None:
        """Hand pending points to their curves now (otherwise it happens within REDRAW_MS)."""
        for name in self._dirty:
            xs, ys = self._series[name].data()
            self._curves[name].setData(xs, ys)
        self._dirty.clear()
