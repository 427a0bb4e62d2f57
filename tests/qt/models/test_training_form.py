"""TrainingPanel: config round-trip, weights, parent rules, devices, signals, running state, settings."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from gradia_desktop.core.records import Version
from gradia_desktop.errors import GradiaError
from gradia_desktop.qt.models.training_form import NO_PARENT, TrainingPanel
from gradia_desktop.training.config import DEFAULT_EPOCHS, RESTART_EPOCHS, TrainConfig
from gradia_desktop.training.config import DEFAULT_WEIGHTS


def version(vid, arch="resnet18", size=224, status="done", mode="baseline", **config):
    return Version(id=vid, parent_id=None, created=1.7e9, status=status, mode=mode, arch=arch, cam_layer="layer4.1",
                   image_size=size, config=config, checkpoint=f"models/v{vid}/best.safetensors" if status == "done"
                   else None, best_epoch=3)


@pytest.fixture
def panel(qtbot):
    w = TrainingPanel()
    qtbot.addWidget(w)
    w.resize(350, 700)
    w.show()
    return w


def test_defaults_follow_the_readme(panel):
    panel.set_versions([version(1)], 1)
    c = panel.config()
    assert (c.mode, c.parent, c.epochs, c.lr, c.batch_size, c.lam) == ("guided", 1, RESTART_EPOCHS, 1e-3, None, 1.0)
    assert c.weights == DEFAULT_WEIGHTS and c.device == "auto"
    assert panel.mode.currentText() == "Guided (recommended)"
    assert "penalises evidence outside the masks" in panel.mode_summary.text()
    assert "starting weights" in panel.mode_summary.text()
    assert c.start is None and panel.start.isEnabled()
    assert panel.start.currentText() == "By mode: the parent's starting weights"
    panel.mode.setCurrentIndex(panel.mode.findData("gradia-all"))
    assert panel.start.currentText() == "By mode: the parent's learned weights"


def test_the_batch_is_left_to_the_run_until_the_user_sets_it(panel, tmp_path):
    panel.set_versions([version(1)], 1)
    assert panel.batch_size.text() == "auto" and "16 for a guided run" in panel.batch_size.toolTip()
    settings = QSettings(str(tmp_path / "form.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings, "auto")
    panel.batch_size.setValue(24)
    assert panel.config().batch_size == 24
    panel.save_settings(settings)
    assert panel.restore_settings(settings, "auto") and panel.config().batch_size is None
    assert panel.restore_settings(settings) and panel.config().batch_size == 24


def test_epochs_follow_where_the_run_starts_until_the_user_sets_them(panel, tmp_path):
    panel.set_inputs(5)
    panel.set_versions([version(1)], 1)  # guided: starts again
    assert panel.epochs.value() == RESTART_EPOCHS and "starts again" not in panel.inputs.text()
    panel.mode.setCurrentIndex(panel.mode.findData("gradia-all"))  # fine-tunes the parent
    assert panel.epochs.value() == DEFAULT_EPOCHS
    panel.start.setCurrentIndex(panel.start.findData("initial"))
    assert panel.epochs.value() == RESTART_EPOCHS
    panel.parent_combo.setCurrentIndex(0)  # a first model
    assert panel.epochs.value() == DEFAULT_EPOCHS
    panel.parent_combo.setCurrentIndex(1)
    panel.mode.setCurrentIndex(panel.mode.findData("guided"))
    panel.epochs.setValue(12)  # the user's number sticks, and the form says what it risks
    panel.mode.setCurrentIndex(panel.mode.findData("gradia-all"))
    panel.start.setCurrentIndex(0)  # by mode
    assert panel.epochs.value() == 12
    panel.mode.setCurrentIndex(panel.mode.findData("guided"))
    assert panel.epochs.value() == 12 and f"fewer than {RESTART_EPOCHS} epochs" in panel.inputs.text()
    settings = QSettings(str(tmp_path / "form.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    panel.start_fresh(1)
    assert panel.epochs.value() == RESTART_EPOCHS
    panel.save_settings(settings, "untouched")  # a form left at the default keeps following it
    assert panel.restore_settings(settings, "untouched")
    panel.mode.setCurrentIndex(panel.mode.findData("gradia-all"))
    assert panel.epochs.value() == DEFAULT_EPOCHS
    assert panel.restore_settings(settings)
    assert panel.epochs.value() == 12


def test_start_choice_reaches_the_config_only_with_a_parent(panel):
    panel.set_versions([version(1)], 1)
    panel.start.setCurrentIndex(panel.start.findData("parent"))
    assert panel.config().start == "parent"
    panel.start.setCurrentIndex(panel.start.findData("initial"))
    assert panel.config().start == "initial"
    panel.parent_combo.setCurrentIndex(0)
    assert not panel.start.isEnabled() and panel.config().start is None
    panel.set_config(TrainConfig(mode="gradia-all", parent=1, start="initial"))
    assert panel.start.currentData() == "initial" and panel.config().start == "initial"


def test_guided_always_uses_counterfactuals_and_gives_the_box_back_when_left(panel):
    panel.set_versions([version(1)], 1)
    assert panel.counterfactual.isChecked() and not panel.counterfactual.isEnabled()
    panel.mode.setCurrentIndex(panel.mode.findData("gradia-all"))
    assert panel.counterfactual.isEnabled() and not panel.counterfactual.isChecked()  # the user's own choice
    assert "paper-exact" in panel.mode_summary.text()
    panel.counterfactual.setChecked(True)
    panel.mode.setCurrentIndex(panel.mode.findData("guided"))
    panel.mode.setCurrentIndex(panel.mode.findData("baseline"))
    assert panel.counterfactual.isEnabled() and panel.counterfactual.isChecked()
    panel.set_config(TrainConfig(mode="gradia-all", parent=1, counterfactual=False))
    assert panel.counterfactual.isEnabled() and panel.config().counterfactual is False


def test_config_round_trips(panel):
    panel.set_versions([version(1), version(2, mode="gradia", counterfactual=True)], None)
    config = TrainConfig(mode="gradia", parent=2, start="parent", epochs=7, batch_size=16, lr=3e-4, lam=0.5, device="cpu", seed=5,
                         counterfactual=False, cam_layer="layer3", cam_method="layercam", counterfactual_share=0.3,
                         weights={**DEFAULT_WEIGHTS, "UA": (0.5, 2.0)})
    panel.set_config(config)
    assert panel.config() == config  # counterfactual_share is not on the form, but is kept
    scratch = TrainConfig(mode="baseline", arch="resnet50", image_size=128, pretrained=True, epochs=3)
    panel.set_config(scratch)
    assert panel.config() == scratch
    assert panel.parent_combo.currentText() == NO_PARENT


def test_parent_overrides_arch_and_size(panel):
    panel.set_config(TrainConfig(mode="baseline", arch="tiny", image_size=96))
    panel.set_versions([version(1, arch="resnet50", size=160)], None)
    assert panel.arch.isEnabled() and panel.arch.currentText() == "tiny"
    panel.parent_combo.setCurrentIndex(panel.parent_combo.findData(1))
    assert not panel.arch.isEnabled() and panel.arch.currentText() == "resnet50"
    assert panel.image_size.value() == 160 and "layer4.1" in panel.cam_layer.edit.placeholderText()
    c = panel.config()
    assert c.parent == 1 and c.arch is None and c.image_size is None  # the trainer keeps the parent's
    panel.parent_combo.setCurrentIndex(0)
    assert panel.arch.isEnabled() and panel.arch.currentText() == "tiny" and panel.image_size.value() == 96


def test_only_finished_versions_can_be_parents(panel):
    panel.set_versions([version(1), version(2, status="failed"), version(3, counterfactual=True)], 3)
    assert [panel.parent_combo.itemData(i) for i in range(panel.parent_combo.count())] == [None, 3, 1]
    assert "+cf" in panel.parent_combo.currentText()


def test_weight_edits_reach_the_config(panel, qtbot):
    panel.mode.setCurrentIndex(panel.mode.findData("gradia"))
    panel.set_versions([version(1)], 1)
    panel.weights.item(0, 1).setData(Qt.ItemDataRole.EditRole, 3.0)  # UA, w_att
    panel.weights.item(5, 0).setData(Qt.ItemDataRole.EditRole, 0.25)  # unmasked, w_pred
    c = panel.config()
    assert c.weights["UA"] == (0.4, 3.0) and c.weights["unmasked"] == (0.25, 0.0)
    qtbot.mouseClick(panel.reset_weights, Qt.MouseButton.LeftButton)
    assert panel.config().weights == DEFAULT_WEIGHTS


def test_negative_weight_is_refused_with_a_reason(panel):
    panel.set_versions([version(1)], 1)
    panel.weights.item(4, 1).setData(Qt.ItemDataRole.EditRole, -1.0)
    with pytest.raises(GradiaError, match="masked"):
        panel.config()
    assert not panel.start_button.isEnabled() and "masked" in panel.reason.text()


def test_bad_learning_rate_is_a_one_line_error(panel):
    panel.lr.setCurrentText("fast")
    with pytest.raises(GradiaError, match="learning rate"):
        panel.config()
    assert not panel.start_button.isEnabled()
    panel.lr.setCurrentText("1e-4")
    assert panel.start_button.isEnabled() and panel.config().lr == 1e-4


def test_gradia_without_parent_disables_start(panel):
    panel.set_versions([version(1)], None)
    panel.mode.setCurrentIndex(panel.mode.findData("gradia"))
    assert not panel.start_button.isEnabled()
    assert panel.reason.isVisible() and "parent" in panel.reason.text()
    with pytest.raises(GradiaError):
        panel.config()
    panel.parent_combo.setCurrentIndex(panel.parent_combo.findData(1))
    assert panel.start_button.isEnabled() and not panel.reason.isVisible()


def test_baseline_mode_disables_lambda_and_weights(panel):
    panel.mode.setCurrentIndex(panel.mode.findData("baseline"))
    assert not panel.lam.isEnabled() and not panel.weights.isEnabled()
    panel.mode.setCurrentIndex(panel.mode.findData("gradia-all"))
    assert panel.weights.isEnabled()
    assert not panel.weights.item(0, 0).flags() & Qt.ItemFlag.ItemIsEnabled  # UA: unused on all masks
    assert panel.weights.item(4, 0).flags() & Qt.ItemFlag.ItemIsEnabled  # masked


def test_device_list(panel):
    names = [panel.device.itemData(i) for i in range(panel.device.count())]
    assert names[0] == "auto" and "cpu" in names
    panel.set_config(TrainConfig(device="cuda:7"))
    assert panel.config().device == "cuda:7" and "not found" in panel.device.currentText()


def test_start_carries_the_config(panel, qtbot):
    panel.set_versions([version(1)], 1)
    panel.epochs.setValue(3)
    with qtbot.waitSignal(panel.start_requested) as blocker:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    config = blocker.args[0]
    assert isinstance(config, TrainConfig) and config.epochs == 3 and config.parent == 1


def test_set_running_toggles(panel, qtbot):
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()
    panel.set_running(True)
    assert not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
    assert not panel.mode.isEnabled() and not panel.weights.isEnabled()
    with qtbot.waitSignal(panel.cancel_requested):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert not panel.cancel_button.isEnabled()  # one request is enough
    panel.set_running(False)
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled() and panel.mode.isEnabled()


def test_settings_round_trip(panel, qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel.set_versions([version(1)], 1)
    panel.set_config(TrainConfig(mode="gradia", parent=1, epochs=4, lr=1e-4, weights={**DEFAULT_WEIGHTS,
                                                                                    "RI": (0.7, 0.3)}))
    panel.save_settings(settings)
    other = TrainingPanel()
    qtbot.addWidget(other)
    other.set_versions([version(1)], None)
    other.restore_settings(settings)
    assert other.mode.currentData() == "gradia" and other.parent_combo.currentData() is None  # parent: per project
    other.parent_combo.setCurrentIndex(1)
    c = other.config()
    assert (c.mode, c.epochs, c.lr, c.weights["RI"], c.parent) == ("gradia", 4, 1e-4, (0.7, 0.3), 1)
    empty = QSettings(str(tmp_path / "empty.ini"), QSettings.Format.IniFormat)
    other.restore_settings(empty)  # nothing saved: the form stays
    assert other.epochs.value() == 4


def test_typed_architecture_is_kept(panel):
    panel.set_config(TrainConfig(mode="baseline"))
    panel.arch.setCurrentText("resnet50")
    panel.image_size.setValue(128)
    panel.epochs.setValue(2)  # any other edit revalidates
    c = panel.config()
    assert (c.arch, c.image_size) == ("resnet50", 128)


def test_running_does_not_lose_the_form(panel):
    panel.set_config(TrainConfig(mode="baseline", arch="resnet18", image_size=96))
    panel.set_running(True)
    panel.set_running(False)
    assert (panel.config().arch, panel.config().image_size) == ("resnet18", 96)


def test_the_form_says_what_a_run_uses_and_refuses_attention_without_masks(panel):
    panel.set_versions([version(1, arch="tiny", size=64)], 1)
    assert not panel.inputs.isVisible()  # no project counted yet
    panel.set_inputs(0, {})
    assert not panel.start_button.isEnabled()
    assert "No training image has a mask yet" in panel.reason.text() and "Baseline" in panel.reason.text()
    panel.mode.setCurrentIndex(panel.mode.findData("baseline"))
    assert panel.start_button.isEnabled() and panel.inputs.text() == "Uses the labels only: no masks"
    panel.set_inputs(1, {1: 7})
    panel.mode.setCurrentIndex(panel.mode.findData("guided"))
    assert panel.start_button.isEnabled() and panel.inputs.text() == "Uses 1 masked training image"
    panel.set_inputs(60, {1: 7})
    panel.mode.setCurrentIndex(panel.mode.findData("gradia"))
    assert panel.inputs.text() == "Uses 60 masked training images, weighted by v1's quadrants: 7 judged by you, " \
                                  "the rest as suggested"
    assert panel.inputs.isVisible()


def test_the_layer_is_picked_from_the_models_layers_with_their_grids(panel, qtbot):
    panel.arch.setCurrentText("resnet18")
    panel.image_size.setValue(128)
    field = panel.cam_layer
    field.open_menu()
    qtbot.waitUntil(lambda: field.menu is not None and field.menu.isVisible(), timeout=20_000)
    texts = [a.text() for a in field.menu.actions()]
    assert texts[0] == "automatic"
    assert any(t.startswith("layer4.1   4x4, 512 ch") and "(automatic)" in t for t in texts)
    assert any(t.startswith("layer3   8x8, 256 ch") for t in texts)
    next(a for a in field.menu.actions() if a.text().startswith("layer3 ")).trigger()
    field.menu.close()
    assert panel.config().cam_layer == "layer3"
    panel.arch.setCurrentText("no_such_net")
    field.open_menu()
    qtbot.waitUntil(lambda: field.menu is not None and field.menu.isVisible()
                    and field.menu.actions()[0].text().startswith("no layers to list"), timeout=20_000)
    field.menu.close()
    field.wait()
