"""The training form: everything a ``TrainConfig`` holds that a user sets, plus Start and Cancel.

The panel builds and validates the config (``TrainConfig.validate``) and emits it; the host runs it.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.records import Version
from ...errors import GradiaError
from ...training.config import (DEFAULT_WEIGHTS, GUIDED_START, RECOMMENDED_MODE, RESTART_EPOCHS, TrainConfig,
                                default_epochs)
from ...training.device import ALL_GPUS, describe_devices
from ...training.models import TINY
from ...core.cam_method_names import LABELS as CAM_LABELS
from ...core.cam_method_names import TRAINABLE
from ..canvas.cam_layer_field import CamLayerField
from ..wrapping_label import WrappingLabel
from .training_choices import (
    ARCHS,
    BATCH_TIP,
    COUNTERFACTUAL_TIP,
    LEARNING_RATES,
    MODE_ITEMS,
    MODE_SUMMARY,
    NO_PARENT,
    START_ITEMS,
    USED_WEIGHTS,
    inputs_text,
    version_label,
)
from .saved_form import restored_form, saved_form
from .weight_table import WeightTable
from .weights_button import WeightsButton

SETTINGS_KEY = "training/config"


def demo_defaults() -> TrainConfig:
    """The README's recommended run: guided from a parent, its epochs left to the run's default."""
    return TrainConfig(mode=RECOMMENDED_MODE)


class TrainingPanel(QWidget):
    """Training form; ``start_requested`` carries a validated TrainConfig."""

    start_requested = Signal(object)
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._base = demo_defaults()
        self._versions: dict[int, Version] = {}
        self._own = ("tiny", 0)  # the user's arch and image size, kept while a parent overrides them
        self._running = False
        self._showing_parent = False  # arch and image size show the parent's, not the user's
        self._quiet = False  # True while the panel itself fills fields (no revalidation per field)
        self._counterfactual_choice = False  # the box's state before guided mode forced it on
        self._epochs_by_default = True  # the epochs follow default_epochs() until the user sets them
        self._inputs: tuple[int, dict[int, int]] | None = None  # masked training images, judgements per version
        self._build()
        self.set_config(self._base)
        self.set_running(False)

    # ---- building -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.mode = QComboBox(toolTip="What the run optimises")
        for i, (value, text, tip) in enumerate(MODE_ITEMS):
            self.mode.addItem(text, value)
            self.mode.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.mode_summary = WrappingLabel()
        self.mode_summary.setStyleSheet("color: palette(placeholder-text)")
        self.counterfactual = QCheckBox("Counterfactual backgrounds", toolTip=COUNTERFACTUAL_TIP)
        self.parent_combo = QComboBox(toolTip="Train from this version (keeps its architecture, layer and image "
                                              "size), or a new model from scratch")
        self.start = QComboBox(toolTip="Which weights a run with a parent starts from")
        for i, (value, text, tip) in enumerate(START_ITEMS):
            self.start.addItem(text, value)
            self.start.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.inputs = WrappingLabel(toolTip="What the run will learn from, counted now")
        self.inputs.setObjectName("training_inputs")
        self.lam = QDoubleSpinBox(decimals=3, maximum=1000.0, singleStep=0.1,
                                  toolTip="\u03bb: the weight of the attention loss against cross-entropy")
        self.epochs = QSpinBox(minimum=1, maximum=10000, toolTip=(
            "Passes over the training split; the best epoch is chosen on the validation split. Until you change "
            f"it, it follows the run: {RESTART_EPOCHS} for a run that starts again from its starting weights "
            f"(it learns the objects from scratch), {default_epochs(None)} otherwise"))
        self.lr = QComboBox(editable=True, toolTip="Adam learning rate (e.g. 1e-3; the paper fine-tunes at 1e-4)")
        self.lr.addItems(LEARNING_RATES)
        self.batch_size = QSpinBox(minimum=0, maximum=4096, specialValueText="auto", toolTip=BATCH_TIP)
        self.image_size = QSpinBox(minimum=0, maximum=4096, singleStep=16, suffix=" px",
                                   specialValueText="auto (64 tiny, 224 others)",
                                   toolTip="Square input size; fine-tuning keeps the parent's")
        self.arch = QComboBox(editable=True, toolTip="Any torchvision classifier name, or tiny (a small CNN); "
                                                     "fine-tuning keeps the parent's")
        self.arch.addItems(ARCHS)
        self.pretrained = QCheckBox("ImageNet weights", toolTip="Start from torchvision's ImageNet weights in its "
                                                                "local cache (the button below downloads them)")
        self.get_weights = WeightsButton()
        self.cam_layer = CamLayerField()
        self.cam_method = QComboBox(toolTip="The CAM the attention loss compares with the masks (Grad-CAM: the "
                                            "paper's); the heatmaps and metrics stay Grad-CAM")
        for name in TRAINABLE:
            self.cam_method.addItem(CAM_LABELS[name], name)
        self.seed = QSpinBox(maximum=2**31 - 1, toolTip="Random seed (shuffling, augmentation, initial weights)")
        self.device = QComboBox(toolTip="Where to train; auto takes CUDA, then Apple MPS, then the CPU")
        self.device.addItem("auto (best available)", "auto")
        devices = sorted(describe_devices(), key=lambda d: {"cuda": 0, "mps": 1}.get(d["name"].split(":")[0], 2))
        for d in devices:
            memory = f", {d['memory_gb']} GB" if d.get("memory_gb") else ""
            text = d["label"] if d["name"] in ("cpu", "mps") else f"{d['label']} ({d['name']}{memory})"
            self.device.addItem(text, d["name"])
        gpus = sum(d["name"].startswith("cuda") for d in devices)
        if gpus > 1:
            self.device.insertItem(1, f"all {gpus} GPUs", ALL_GPUS)
            self.device.setItemData(1, "One training process per GPU, started under torchrun; the live plots "
                                       "and Cancel work as on one device", Qt.ItemDataRole.ToolTipRole)
        self.weights = WeightTable()
        self.reset_weights = QPushButton("Reset to paper defaults", toolTip="The reference code's per-quadrant "
                                                                            "weights")
        self.reset_weights.clicked.connect(lambda: self.weights.set_weights(DEFAULT_WEIGHTS))

        form_widget = QWidget()
        column = QVBoxLayout(form_widget)
        column.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for title, rows in (
                ("Run", (("&Mode", self.mode), ("", self.mode_summary), ("", self.counterfactual),
                         ("&Parent", self.parent_combo), ("Start &from", self.start), ("", self.inputs))),
                ("Optimisation", (("&\u03bb (attention)", self.lam), ("&Epochs", self.epochs),
                                  ("&Learning rate", self.lr), ("&Batch size", self.batch_size),
                                  ("See&d", self.seed), ("De&vice", self.device))),
                ("Model", (("&Architecture", self.arch), ("", self.pretrained), ("", self.get_weights),
                           ("&Image size", self.image_size),
                           ("&CAM layer", self.cam_layer), ("CAM &method", self.cam_method)))):
            form.addRow(QLabel(f"<b>{title}</b>"))
            for label, widget in rows:
                form.addRow(label, widget)
        column.addLayout(form)
        column.addWidget(QLabel("<b>Per-quadrant weights</b>", toolTip=self.weights.toolTip()))
        column.addWidget(self.weights)
        column.addWidget(self.reset_weights, 0, Qt.AlignmentFlag.AlignRight)
        column.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setWidget(form_widget)
        self.form_widget = form_widget

        self.reason = WrappingLabel()
        self.reason.setStyleSheet("color: #c62828")
        self.start_button = QPushButton("Start training", toolTip="Train a new model version (Ctrl+Return)")
        self.start_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", toolTip="Stop after the current batch; nothing is kept")
        self.start_button.clicked.connect(self.request_start)
        self.cancel_button.clicked.connect(self._cancel)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.reason)
        layout.addLayout(buttons)
        self.setMinimumWidth(280)

        for combo in (self.mode, self.parent_combo, self.start, self.lr, self.arch, self.device, self.cam_method):
            combo.currentIndexChanged.connect(self._changed)
        for combo in (self.lr, self.arch):
            combo.editTextChanged.connect(self._changed)
        self.arch.currentTextChanged.connect(self.get_weights.set_arch)
        self.epochs.valueChanged.connect(self._epochs_set)
        for spin in (self.lam, self.epochs, self.batch_size, self.image_size, self.seed):
            spin.valueChanged.connect(self._changed)
        for box in (self.counterfactual, self.pretrained):
            box.toggled.connect(self._changed)
        self.cam_layer.textChanged.connect(self._changed)
        self.weights.weights_changed.connect(self._changed)

    # ---- API ------------------------------------------------------------------------------------
    def config(self) -> TrainConfig:
        """The form as a validated TrainConfig; raises GradiaError (one line) when it is not valid."""
        config = self._collect()
        if config.mode == "gradia" and config.parent is None:
            raise GradiaError("GRADIA weighs samples by the parent version's quadrants: choose a parent version")
        if self._inputs is not None and self._inputs[0] == 0 and config.mode != "baseline":
            raise GradiaError("No training image has a mask yet: paint masks on some training images, or choose "
                              "Baseline")
        config.validate()
        return config

    def set_config(self, config: TrainConfig) -> None:
        """Fill the form (the parent is selected if it is listed; fields the form lacks are kept)."""
        self._base = replace(config, weights=dict(config.weights))
        self._quiet = True
        try:
            self.mode.setCurrentIndex(max(0, self.mode.findData(config.mode)))
            self.counterfactual.setEnabled(True)  # guided mode disables it again in _sync_fields
            self.counterfactual.setChecked(config.counterfactual)
            self.lam.setValue(config.lam)
            self._epochs_by_default = config.epochs is None
            self.epochs.setValue(config.resolved().epochs)
            self.lr.setCurrentText(next((t for t in LEARNING_RATES if float(t) == config.lr), f"{config.lr:g}"))
            self.batch_size.setValue(config.batch_size or 0)
            self._own = (config.arch or "tiny", config.image_size or 0)
            self.arch.setCurrentText(self._own[0])
            self.image_size.setValue(self._own[1])
            self._showing_parent = False
            self.pretrained.setChecked(config.pretrained)
            self.cam_layer.setText(config.cam_layer or "")
            self.cam_method.setCurrentIndex(max(0, self.cam_method.findData(config.cam_method)))
            self.seed.setValue(config.seed)
            if self.device.findData(config.device) < 0:
                self.device.addItem(f"{config.device} (not found here)", config.device)
            self.device.setCurrentIndex(self.device.findData(config.device))
            self.weights.set_weights(config.weights)
            self.start.setCurrentIndex(max(0, self.start.findData(config.start)) if config.start else 0)
            index = self.parent_combo.findData(config.parent) if config.parent is not None else 0
            self.parent_combo.setCurrentIndex(max(0, index))
        finally:
            self._quiet = False
        self._changed()

    def set_versions(self, versions: list[Version], selected: int | None) -> None:
        """The versions a run can start from (finished ones only); ``selected`` becomes the parent."""
        usable = [v for v in versions if v.status == "done" and v.checkpoint]
        self._versions = {v.id: v for v in usable}
        self._quiet = True
        try:
            self.parent_combo.clear()
            self.parent_combo.addItem(NO_PARENT, None)
            for v in sorted(usable, key=lambda v: -v.id):
                self.parent_combo.addItem(version_label(v), v.id)
                if v.note:
                    self.parent_combo.setItemData(self.parent_combo.count() - 1, v.note, Qt.ItemDataRole.ToolTipRole)
            self.parent_combo.setCurrentIndex(max(0, self.parent_combo.findData(selected)) if selected else 0)
        finally:
            self._quiet = False
        self._changed()

    def set_inputs(self, masked_train: int | None, judged: dict[int, int] | None = None) -> None:
        """How many training images carry a mask and how many samples each version has judged (None: no
        project); the form says what a run will use and refuses an attention run without masks."""
        self._inputs = None if masked_train is None else (masked_train, dict(judged or {}))
        self._changed()

    def set_running(self, running: bool) -> None:
        """While a run goes on the form is read-only, Start is off and Cancel on."""
        self._running = running
        self.form_widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self._changed()

    def save_settings(self, settings: QSettings, key: str = SETTINGS_KEY) -> None:
        """The form under ``key`` (not the parent: the host picks it); skipped if unreadable."""
        try:
            collected = self._collect()
        except GradiaError:
            return
        epochs = None if self._epochs_by_default else collected.epochs
        settings.setValue(key, saved_form(replace(collected, parent=None, epochs=epochs)))

    def restore_settings(self, settings: QSettings, key: str = SETTINGS_KEY) -> bool:
        """The form saved under ``key``, keeping the current parent; False (the form unchanged) when
        nothing usable was saved there."""
        config = restored_form(str(settings.value(key, "") or ""))
        if config is None:
            return False
        config.parent = self.parent_combo.currentData()
        if self.device.findData(config.device) < 0:  # saved on another machine
            config.device = "auto"
        self.set_config(config)
        return True

    def start_fresh(self, parent: int | None) -> None:
        """The form for a project seen for the first time: a guided run from ``parent``, or a baseline
        when there is no version to start from - never a form that cannot start."""
        self.set_config(replace(demo_defaults(), parent=parent) if parent is not None else TrainConfig())

    # ---- internals ------------------------------------------------------------------------------
    def _collect(self) -> TrainConfig:
        try:
            lr = float(self.lr.currentText().strip())
        except ValueError:
            raise GradiaError(f"learning rate {self.lr.currentText()!r} is not a number") from None
        parent = self.parent_combo.currentData()
        weights = self.weights.weights()
        return replace(self._base, mode=self.mode.currentData(), counterfactual=self.counterfactual.isChecked(),
                       parent=parent, start=self.start.currentData() if parent is not None else None,
                       lam=self.lam.value(), epochs=self.epochs.value(), lr=lr,
                       batch_size=self.batch_size.value() or None,
                       arch=None if parent is not None else (self.arch.currentText().strip() or None),
                       image_size=None if parent is not None else (self.image_size.value() or None),
                       pretrained=parent is None and self.pretrained.isChecked(),
                       cam_layer=self.cam_layer.text().strip() or None, cam_method=self.cam_method.currentData(),
                       seed=self.seed.value(),
                       device=self.device.currentData(), weights=weights)

    def _epochs_set(self, _value: int) -> None:
        if not self._quiet:  # the user's number from now on, not the run's default
            self._epochs_by_default = False

    def _changed(self, *_args) -> None:
        if self._quiet:
            return
        self._quiet = True
        try:
            self._sync_fields()
        finally:
            self._quiet = False
        try:
            self.config()
            reason = ""
        except GradiaError as exc:
            reason = str(exc)
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason) and not self._running)
        self.start_button.setEnabled(not reason and not self._running)

    def _sync_fields(self) -> None:
        """Parent overrides arch and size; the mode decides which weights and lambda matter."""
        parent = self._versions.get(self.parent_combo.currentData())
        fine_tune = parent is not None
        if not self._showing_parent:  # the user's own choice, back when the parent goes
            self._own = (self.arch.currentText(), self.image_size.value())
        if fine_tune:
            self.arch.setCurrentText(parent.arch)
            self.image_size.setValue(parent.image_size)
        elif self._showing_parent:
            self.arch.setCurrentText(self._own[0])
            self.image_size.setValue(self._own[1])
        self._showing_parent = fine_tune
        for widget in (self.arch, self.image_size, self.pretrained, self.get_weights):
            widget.setEnabled(not fine_tune)
        self.start.setEnabled(fine_tune)
        by_mode = "starting" if self.mode.currentData() == "guided" and GUIDED_START == "initial" else "learned"
        self.start.setItemText(0, f"By mode: the parent's {by_mode} weights")
        self.cam_layer.edit.setPlaceholderText(f"the parent's ({parent.cam_layer})" if fine_tune else "automatic")
        arch = self.arch.currentText().strip() or "tiny"
        self.cam_layer.set_model(arch, self.image_size.value() or (64 if arch in TINY else 224))
        mode = self.mode.currentData()
        self.mode_summary.setText(MODE_SUMMARY[mode])
        guided = mode == "guided"
        if guided and self.counterfactual.isEnabled():  # entering guided: keep the user's choice for later
            self._counterfactual_choice = self.counterfactual.isChecked()
            self.counterfactual.setChecked(True)
        elif not guided and not self.counterfactual.isEnabled():
            self.counterfactual.setChecked(self._counterfactual_choice)
        self.counterfactual.setEnabled(not guided)
        self.counterfactual.setToolTip("Always on in guided mode" if guided else COUNTERFACTUAL_TIP)
        self.lam.setEnabled(mode != "baseline")
        self.weights.setEnabled(mode != "baseline")
        self.weights.set_used_rows(USED_WEIGHTS[mode])
        restarts = self._starts_again()
        if self._epochs_by_default:
            self.epochs.setValue(default_epochs("initial" if restarts else None))
        self.inputs.setText(inputs_text(mode, parent, self._inputs, self.counterfactual.isChecked(),
                                        restarts and self.epochs.value() < RESTART_EPOCHS))
        self.inputs.setVisible(bool(self.inputs.text()))

    def _starts_again(self) -> bool:
        try:  # where the run starts, as the trainer resolves it
            return self._collect().resolved().start == "initial"
        except GradiaError:
            return False

    def request_start(self) -> None:
        """Emit ``start_requested`` with the form's config, or show why it cannot start."""
        try:
            config = self.config()
        except GradiaError as exc:
            self.reason.setText(str(exc))
            self.reason.show()
            return
        self.start_requested.emit(config)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_requested.emit()
