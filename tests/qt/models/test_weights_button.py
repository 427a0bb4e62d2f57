"""The Training dock's ImageNet-weights button: shown while the chosen architecture's file is missing."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt

from gradia_desktop.errors import GradiaError
from gradia_desktop.qt.models import weights_button
from gradia_desktop.qt.models.training_form import TrainingPanel
from gradia_desktop.training import weights_fetch


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    w = TrainingPanel()
    qtbot.addWidget(w)
    w.resize(350, 700)
    w.show()
    return w


def test_the_button_offers_what_the_chosen_architecture_lacks(panel, qtbot, tmp_path, monkeypatch):
    button = panel.get_weights
    assert not button.isVisible()  # tiny has no ImageNet weights
    panel.arch.setCurrentText("resnet18")
    assert button.isVisible() and "resnet18" in button.text() and "download.pytorch.org" in button.toolTip()
    reports = []

    def fake_fetch(arch, progress=None, cancelled=None, url=None):  # what a download leaves: the file in place
        found = weights_fetch.weights_file(arch)
        progress("downloading", 1, 2)
        found.path.parent.mkdir(parents=True)
        found.path.write_bytes(b"w")
        reports.append(arch)
        return found

    monkeypatch.setattr(weights_fetch, "fetch_weights", fake_fetch)
    with qtbot.waitSignal(button.fetched) as fetched:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert reports == ["resnet18"] and fetched.args[0].endswith("resnet18-f37072fd.pth")
    assert not button.isVisible()  # present now


def test_a_failed_download_is_explained_and_the_button_stays(panel, qtbot, monkeypatch):
    panel.arch.setCurrentText("resnet18")
    shown = []
    monkeypatch.setattr(weights_fetch, "fetch_weights",
                        lambda *a, **k: (_ for _ in ()).throw(GradiaError("cannot download x (offline)")))
    monkeypatch.setattr(weights_button.QMessageBox, "warning", lambda _parent, _title, text: shown.append(text))
    qtbot.mouseClick(panel.get_weights, Qt.MouseButton.LeftButton)
    assert shown == ["cannot download x (offline)"] and panel.get_weights.isVisible()
