"""The first launch on the demo: the window is usable at once while the baseline trains behind it."""

from __future__ import annotations

import time

from gradia_desktop.qt.models.baseline_offer import BaselineOffer
from gradia_desktop.qt.window.main_window import MainWindow


def test_the_demo_opens_before_its_baseline_is_trained(qtbot, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # a fresh machine: no demo yet
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    started = time.perf_counter()
    window.open_demo()
    seconds = time.perf_counter() - started
    try:
        assert window.project is not None and window.version is None  # open, browsable, no model yet
        assert window.offer.worker is not None and window.offer.isVisible()  # the baseline trains behind it
        assert window.current_sample is not None and window.current_sample.has_mask  # a masked image to look at
        assert window.models.training.blocked_reason  # one run at a time
    finally:
        window.offer.shutdown()
    with capsys.disabled():
        print(f"\n[first launch] the demo window was usable after {seconds:.1f} s (data and project created)")


def test_the_banner_shows_the_whole_runs_progress_not_the_epochs(qtbot):
    offer = BaselineOffer()
    qtbot.addWidget(offer)
    offer._on_progress("loading train", 3, 10)
    assert offer.progress.format().startswith("loading train")
    offer._on_progress("epoch 2/6", 5, 10)
    assert offer.progress.maximum() == 1000 and offer.progress.value() == 250  # 1.5 of 6 epochs
    assert offer.progress.format().startswith("epoch 2/6")
    offer._first = (offer._first[0] - 30, offer._first[1])  # 30 s ago at the same point
    offer._on_progress("epoch 4/6", 0, 10)
    assert "left" in offer.progress.format()
