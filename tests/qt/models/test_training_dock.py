"""The Training dock remembers the form per project and opens a new project on a form that can start."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from gradia_desktop.qt.models.training_dock import TrainingDock, form_key

from .test_training_form import version


@pytest.fixture
def dock(qtbot):
    d = TrainingDock()
    qtbot.addWidget(d)
    d.show()
    return d


def test_each_project_keeps_its_own_form_and_a_new_one_starts_valid(dock, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    dock.set_project(a, [version(1)], 1, read_only=False)
    panel = dock.panel
    assert panel.config().mode == "guided" and panel.config().parent == 1 and panel.start_button.isEnabled()
    panel.mode.setCurrentIndex(panel.mode.findData("gradia"))
    panel.epochs.setValue(5)
    panel.save_settings(QSettings(), form_key(a))  # what Start does

    dock.set_project(b, [], None, read_only=False)  # no model yet: a baseline form, not a red error
    assert panel.config().mode == "baseline" and panel.config().parent is None
    assert panel.start_button.isEnabled() and not panel.reason.isVisible()

    dock.set_project(a, [version(1)], 1, read_only=False)
    c = panel.config()
    assert (c.mode, c.epochs, c.parent) == ("gradia", 5, 1)


def test_form_keys_differ_per_project_and_are_stable(tmp_path):
    assert form_key(tmp_path / "a") == form_key(tmp_path / "a" / ".." / "a") != form_key(tmp_path / "b")
    assert form_key(tmp_path / "a").startswith("training/projects/")


def test_success_warning_and_failure_read_differently(dock):
    from gradia_desktop.qt.models.training_dock import MESSAGE_STYLES

    styles = {}
    for kind, text in (("success", "v2 trained (best epoch 3, validation accuracy 0.950)"),
                       ("warning", "v2 trained ... warning: validation accuracy fell below the parent v1's"),
                       ("error", "training stopped: loss is NaN")):
        dock._say(text, kind)
        assert dock.message.property("kind") == kind and dock.message.wordWrap()
        styles[kind] = dock.message.styleSheet()
    assert len(set(styles.values())) == 3
    assert "bold" in styles["error"] and "bold" not in styles["success"] and "bold" not in styles["warning"]
    assert "#b71c1c" not in styles["success"] + styles["warning"]  # red only for failures
    assert set(MESSAGE_STYLES) == {"info", "success", "warning", "error"}


def test_a_finished_run_says_so_in_the_success_style(dock, monkeypatch):
    class Worker:
        def wait(self):
            pass

    dock.worker = Worker()
    dock._on_succeeded(4, {"val": {"accuracy": 0.95}, "best_epoch": 3, "warnings": []})
    dock._on_done()
    assert dock.message.property("kind") == "success" and dock.message.text().startswith("v4 trained")
    dock.worker = Worker()
    dock._on_succeeded(5, {"val": {"accuracy": 0.9}, "best_epoch": 2,
                           "warnings": ["warning: validation accuracy fell below the parent v4's (0.900 < 0.950)"]})
    dock._on_done()
    assert dock.message.property("kind") == "warning"


def test_a_new_projects_baseline_form_turns_guided_once_its_first_model_exists(dock, tmp_path):
    dock.set_project(tmp_path / "new", [], None, read_only=False)
    assert dock.panel.config().mode == "baseline"
    dock.set_versions([version(1)], 1)  # the banner's baseline finished
    c = dock.panel.config()
    assert (c.mode, c.parent) == ("guided", 1)
    dock.panel.epochs.setValue(3)
    dock.set_versions([version(1), version(2)], 2)  # later versions leave the user's form alone
    assert dock.panel.config().epochs == 3


def test_a_machine_with_several_gpus_offers_all_of_them_and_trains_on_them_with_torchrun(qtbot, monkeypatch,
                                                                                         tmp_path):
    from gradia_desktop.qt.models import training_dock, training_form
    from gradia_desktop.qt.models.training_process import TrainingProcess

    gpus = [{"name": f"cuda:{i}", "label": "Fake GPU", "memory_gb": 80.0} for i in range(4)]
    monkeypatch.setattr(training_form, "describe_devices", lambda: [{"name": "cpu", "label": "CPU",
                                                                     "memory_gb": None}, *gpus])
    monkeypatch.setattr(training_dock, "gpu_count", lambda: 4)
    started = []

    class Launch(TrainingProcess):  # records what would be launched instead of starting torchrun
        def start(self):
            started.append((self.config.device, self.processes))
            self.done.emit()

    monkeypatch.setattr(training_dock, "TrainingProcess", Launch)
    dock = TrainingDock()
    qtbot.addWidget(dock)
    dock.set_project(tmp_path / "p", [], None, read_only=False)
    picker = dock.panel.device
    assert picker.itemText(1) == "all 4 GPUs" and picker.itemData(1) == "all-gpus"
    picker.setCurrentIndex(1)
    assert dock.start(dock.panel.config())
    assert started == [("cuda", 4)] and not dock.is_running()


def test_a_machine_with_one_gpu_offers_no_all_gpus_choice(qtbot, monkeypatch):
    from gradia_desktop.qt.models import training_form

    monkeypatch.setattr(training_form, "describe_devices", lambda: [
        {"name": "cpu", "label": "CPU", "memory_gb": None}, {"name": "cuda:0", "label": "GPU", "memory_gb": 8.0}])
    dock = TrainingDock()
    qtbot.addWidget(dock)
    assert dock.panel.device.findData("all-gpus") < 0
