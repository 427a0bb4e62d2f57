"""``gradia-desktop --demo --screenshot-training OUT.png``: a picture of the window mid-training
(the README's), taken after the second epoch of a GRADIA run; the run is then cancelled."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable

from PySide6.QtCore import QTimer

from ...training.config import TrainConfig

SHOT_AFTER_EPOCH = 2


def shoot_while_training(window, out: Path, done: Callable[[bool], None]) -> None:
    """Start a run on the window's project; save ``out`` after epoch 2; call ``done(saved)`` at the end."""
    dock = window.models.training
    if window.project is None or window.version is None:
        done(False)
        return
    saved = []

    def on_live(live) -> None:
        if live.epoch == SHOT_AFTER_EPOCH and not saved:
            QTimer.singleShot(200, grab)  # after the window's own live refresh has painted

    def grab() -> None:
        saved.append(window.grab().save(str(out)))
        dock.cancel()

    dock.live_epoch.connect(on_live)
    dock.run_ended.connect(lambda *_: done(bool(saved and saved[0])))
    window.models.matrix_dock.raise_()
    config = TrainConfig(mode="guided", parent=window.version.id,
                         epochs=SHOT_AFTER_EPOCH + 2)
    dock.panel.set_config(config)
    if not dock.start(config):
        done(False)
