"""TrainingPlots: batch and epoch series, progress and time left with a fake clock, finish, clear, history."""

from __future__ import annotations

import pytest

from gradia_desktop.core.training_metrics import BatchLosses, EpochMetrics
from gradia_desktop.qt.models.training_plots import TrainingPlots, format_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def plots(qtbot, clock):
    w = TrainingPlots(clock=clock)
    qtbot.addWidget(w)
    w.resize(350, 500)
    w.show()
    return w


def epoch_metrics(i, iou=0.3, masked_acc=None, cf_acc=None):
    return EpochMetrics(epoch=i, ce=0.7 / i, attention=0.4 / i, loss=1.1 / i, val_accuracy=0.5 + 0.1 * i,
                        val_iou=iou, val_energy=None, val_pointing=None, train_accuracy=0.6 + 0.1 * i, seconds=1.0,
                        val_masked_accuracy=masked_acc, val_counterfactual_accuracy=cf_acc)


def test_batches_and_epochs_land_in_the_series(plots):
    plots.begin(2)
    for b in range(1, 5):
        plots.add_batch(1, b, 4, BatchLosses(loss=1.5, ce=1.0 / b, attention=0.5))
    plots.add_epoch(1, epoch_metrics(1))
    plots.add_batch(2, 1, 4, BatchLosses(loss=0.3, ce=0.2, attention=0.1))
    xs, ys = plots.series("ce_batch")
    assert xs == [0.25, 0.5, 0.75, 1.0, 1.25] and ys[:2] == [1.0, 0.5] and ys[-1] == 0.2
    assert plots.series("attention_batch")[1] == [0.5] * 4 + [0.1]
    assert plots.series("ce_epoch") == ([0.5], [0.7])  # mid-epoch: the mean of its batches
    assert plots.series("attention_epoch") == ([0.5], [0.4])
    assert plots.series("val_accuracy") == ([1.0], [pytest.approx(0.6)])
    assert plots.series("val_iou") == ([1.0], [0.3])
    assert plots.series("train_accuracy")[1] == [pytest.approx(0.7)]
    assert len(plots.curve("ce_epoch").getData()[0]) == 1  # epochs draw at once
    plots.flush()
    assert len(plots.curve("ce_batch").getData()[0]) == 5


def test_batches_redraw_within_a_moment(plots, qtbot):
    plots.begin(1)
    curve = plots.curve("ce_batch")
    plots.add_batch(1, 1, 2, BatchLosses(loss=0.5, ce=0.5, attention=0.0))
    qtbot.waitUntil(lambda: curve.getData()[0] is not None and len(curve.getData()[0]) == 1, timeout=2000)


def test_appending_keeps_the_same_curve_items(plots):
    plots.begin(3)
    items = plots.loss_plot.getPlotItem().listDataItems()
    for i in range(600):  # past the arrays' first growth
        plots.add_batch(1 + i // 200, i % 200 + 1, 200, BatchLosses(loss=0.3, ce=0.1, attention=0.2))
    plots.flush()
    assert plots.loss_plot.getPlotItem().listDataItems() == items
    assert len(plots.series("ce_batch")[0]) == 600


def test_missing_iou_is_skipped(plots):
    plots.begin(1)
    plots.add_epoch(1, epoch_metrics(1, iou=None))
    assert plots.series("val_iou") == ([], [])
    assert len(plots.series("val_accuracy")[0]) == 1


def test_time_left_with_a_fake_clock(plots, clock):
    plots.begin(4)
    plots.set_progress("loading train", 5, 10)
    assert "loading train" in plots.status.text() and "left" not in plots.status.text()
    clock.now += 10
    plots.set_progress("epoch 1/4", 1, 10)  # 2.5% of the run: the pace is measured from here
    assert "estimating" in plots.status.text()
    clock.now += 30
    plots.set_progress("epoch 2/4", 1, 10)  # 27.5%: 25% in 30 s, 72.5% to go -> 87 s
    assert plots.eta(0.275) == pytest.approx(87.0)
    assert "about 1 min 27 s left" in plots.status.text()
    assert "epoch 2/4" in plots.status.text() and "40 s elapsed" in plots.status.text()
    assert plots.progress.value() == 275


def test_other_stages_show_their_own_progress(plots):
    plots.begin(2)
    plots.set_progress("evaluating", 3, 4)
    assert plots.progress.value() == 750 and "evaluating 3/4" in plots.progress.format()


def test_finish_shows_the_status(plots, clock):
    plots.begin(1)
    clock.now += 75
    plots.finish("done")
    assert plots.status.text() == "done after 1 min 15 s" and plots.progress.value() == plots.progress.maximum()
    plots.begin(1)
    plots.finish("failed: out of memory")
    assert "failed: out of memory" in plots.status.text() and "c62828" in plots.status.styleSheet()
    plots.begin(1)
    plots.finish("cancelled")
    assert plots.status.text().startswith("cancelled") and plots.status.styleSheet() == ""


def test_clear_empties_everything(plots):
    plots.begin(1)
    plots.add_batch(1, 1, 1, BatchLosses(loss=0.6, ce=0.5, attention=0.1))
    plots.add_epoch(1, epoch_metrics(1, masked_acc=0.8, cf_acc=0.45))
    plots.set_progress("epoch 1/1", 1, 1)
    plots.clear()
    for name in ("ce_batch", "attention_batch", "ce_epoch", "attention_epoch", "val_accuracy", "val_iou",
                 "val_counterfactual_accuracy"):
        assert plots.series(name) == ([], [])
    assert plots.progress.value() == 0 and plots.status.text() == ""
    plots.flush()
    assert len(plots.curve("ce_batch").getData()[0] or []) == 0


def test_load_history_shows_epochs_without_batches(plots):
    plots.load_history([epoch_metrics(i) for i in (1, 2, 3)])
    assert plots.series("val_accuracy")[0] == [1.0, 2.0, 3.0]
    assert plots.series("ce_batch") == ([], [])
    assert "3 epochs" in plots.status.text()


def test_live_epochs_draw_the_counterfactual_accuracy(plots):
    plots.begin(3)
    plots.add_epoch(1, epoch_metrics(1, masked_acc=0.75, cf_acc=0.375))
    plots.add_epoch(2, epoch_metrics(2))  # no probe this epoch: skipped, not drawn as 0
    plots.add_epoch(3, epoch_metrics(3, masked_acc=0.875, cf_acc=0.625))
    assert plots.series("val_counterfactual_accuracy") == ([1.0, 3.0], [0.375, 0.625])
    assert plots.series("val_accuracy")[0] == [1.0, 2.0, 3.0]  # beside, not instead of, validation accuracy
    xs, ys = plots.curve("val_counterfactual_accuracy").getData()
    assert list(xs) == [1.0, 3.0] and list(ys) == [0.375, 0.625]


def test_counterfactual_accuracy_has_its_own_curve_and_legend_entry(plots):
    curve = plots.curve("val_counterfactual_accuracy")
    assert curve in plots.metric_plot.getPlotItem().listDataItems()
    assert curve not in plots.loss_plot.getPlotItem().listDataItems()
    assert curve.opts["pen"].color() != plots.curve("val_accuracy").opts["pen"].color()
    legend = plots.metric_legend.text()
    assert "#d62728'>" in legend and "val&nbsp;CF&nbsp;accuracy" in legend and "val&nbsp;accuracy" in legend
    assert plots.metric_legend.property("series") == ["val_accuracy", "val_counterfactual_accuracy", "val_iou",
                                                      "train_accuracy"]


def test_legends_sit_outside_the_plots_and_train_accuracy_is_explained(plots):
    for plot in (plots.loss_plot, plots.metric_plot):
        assert plot.getPlotItem().legend is None  # nothing drawn over the curves
    layout = plots.layout()
    assert layout.indexOf(plots.metric_legend) == layout.indexOf(plots.metric_plot) - 1
    assert "counterfactuals" in plots.metric_legend.toolTip() and "epoch's&nbsp;draws" in plots.metric_legend.text()


def test_load_history_draws_the_counterfactual_accuracy(plots):
    history = [epoch_metrics(1), epoch_metrics(2, masked_acc=0.9, cf_acc=0.5), epoch_metrics(3, masked_acc=0.9,
                                                                                              cf_acc=0.7)]
    plots.load_history(history)
    assert plots.series("val_counterfactual_accuracy") == ([2.0, 3.0], [0.5, 0.7])
    xs, ys = plots.curve("val_counterfactual_accuracy").getData()
    assert list(xs) == [2.0, 3.0] and list(ys) == [0.5, 0.7]
    plots.load_history([epoch_metrics(1)])  # a version trained before the probe
    assert plots.series("val_counterfactual_accuracy") == ([], [])


@pytest.mark.parametrize("seconds, text", [(0.4, "0 s"), (59, "59 s"), (61, "1 min 01 s"), (3725, "1 h 02 min")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
