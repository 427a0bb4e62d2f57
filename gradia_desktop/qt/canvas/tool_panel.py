"""The mask tools toolbar: tools (tool_specs.py), the mask layer they paint (layer_switch.py), brush size,
snapping to edges and superpixel size (superpixel_controls.py), click to mask's options
(click_controls.py), history, mask commands and the heatmap's look.

Its settings are the user's preferences: restored when the panel is made, saved when changed
(tool_prefs.py).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QKeySequence
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QMessageBox,
    QSlider,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from ...core.cam_method_names import CAM_METHODS
from ...core.cam_method_names import LABELS as CAM_LABELS
from ..icons import mdi_icon
from .cam_layer_field import CamLayerField
from .click_controls import OPTIONS_ICON, ClickOptions
from .canvas_widget import COLORMAPS, RADIUS_RANGE, Canvas
from .interaction import DEFAULT_WAND_TOLERANCE
from .layer_switch import LayerSwitch
from .swatch_icons import color_icon
from .superpixel_controls import add_snap_toggle, add_superpixel_size
from .tool_prefs import THRESHOLD_RANGE, ToolPrefs
from .tool_specs import ICONS, TOOL_SPECS

_SLIDER_STEPS = 200
DEFAULT_THRESHOLD = 0.5


def _radius_to_slider(radius: float) -> int:
    lo, hi = RADIUS_RANGE
    return round(_SLIDER_STEPS * math.log(radius / lo) / math.log(hi / lo))


def _slider_to_radius(value: int) -> float:
    lo, hi = RADIUS_RANGE
    return round(lo * (hi / lo) ** (value / _SLIDER_STEPS), 1)


def _slider(value: int, tooltip: str, width: int = 90) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setValue(value)
    slider.setFixedWidth(width)
    slider.setToolTip(tooltip)
    return slider


class ToolPanel(QToolBar):
    """Controls for ``canvas``; ``actions()`` lists the QActions for menus (shortcuts included).
    Preferences go to ``settings`` (default: the application's QSettings)."""

    target_changed = Signal(object)  # 'predicted' | 'true' | class index
    method_changed = Signal(str)  # a CAM method's name (core.cam_method_names)
    layer_changed = Signal(str)  # a dotted layer path; "": the version's own CAM layer

    def __init__(self, canvas: Canvas, classes: list[str], parent: QWidget | None = None,
                 settings: QSettings | None = None):
        super().__init__("Mask tools", parent)
        self.setObjectName("mask-tools")
        self.setIconSize(QSize(20, 20))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.canvas = canvas

        self.tool_group = QActionGroup(self)
        self.tool_group.setExclusive(True)
        self.tool_actions: dict[str, QAction] = {}
        for name, label, shortcut, tip in TOOL_SPECS:
            action = QAction(label, self)
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{label} ({shortcut}): {tip}")
            action.setCheckable(True)
            action.setData(name)
            self.tool_group.addAction(action)
            self.tool_actions[name] = action
            self.addAction(action)
        self.tool_actions[canvas.tool()].setChecked(True)
        self.tool_group.triggered.connect(lambda a: canvas.set_tool(a.data()))
        canvas.tool_changed.connect(self._show_tool)  # a method: disconnected when the panel goes
        self.layer_switch = LayerSwitch(canvas, self)

        self.addSeparator()
        self.addWidget(QLabel(" Size "))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(0, _SLIDER_STEPS)
        self.size_slider.setFixedWidth(110)
        self.size_spin = QDoubleSpinBox()
        self.size_spin.setRange(*RADIUS_RANGE)
        self.size_spin.setDecimals(1)
        self.size_spin.setSuffix(" px")
        self.size_spin.setKeyboardTracking(False)
        for w in (self.size_slider, self.size_spin):
            w.setToolTip("Brush radius in image pixels ([ smaller, ] larger)")
            self.addWidget(w)
        self.size_slider.valueChanged.connect(lambda v: canvas.set_brush_radius(_slider_to_radius(v)))
        self.size_spin.valueChanged.connect(canvas.set_brush_radius)
        canvas.brush_radius_changed.connect(self._show_radius)
        self._show_radius(canvas.brush_radius())
        self.smaller = self._action("Smaller brush", ("[",),
                                    lambda: canvas.set_brush_radius(canvas.brush_radius() * 0.8))
        self.larger = self._action("Larger brush", ("]",),
                                   lambda: canvas.set_brush_radius(canvas.brush_radius() * 1.25))
        canvas.addActions([self.smaller, self.larger])  # window-wide keys without buttons on the bar
        self.snap = add_snap_toggle(canvas, self)

        self.addSeparator()
        self.undo = self._action("Undo", ("Ctrl+Z",), canvas.undo)
        self.redo = self._action("Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), canvas.redo)
        self.clear = self._action("Clear mask", (), canvas.clear_mask, "remove all of the mask")
        self.invert = self._action("Invert mask", ("Ctrl+I",), canvas.invert_mask,
                                   "attention becomes background and background attention")
        self.from_heatmap = self._action("Mask from heatmap", (), self.mask_from_heatmap,
                                         "replace the mask by every pixel whose CAM reaches the threshold "
                                         "(asks first when the mask is not empty)")
        for action in (self.undo, self.redo, self.clear, self.invert, self.from_heatmap):
            self.addAction(action)
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(*THRESHOLD_RANGE)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setValue(DEFAULT_THRESHOLD)
        self.threshold_spin.setKeyboardTracking(False)
        self.threshold_spin.setToolTip("Threshold of \u201cMask from heatmap\u201d: the CAM value (0\u20131) "
                                       "from which a pixel becomes attention")
        self.addWidget(self.threshold_spin)

        self.addSeparator()
        self.addWidget(QLabel(" Wand "))
        self.wand_spin = QSpinBox()
        self.wand_spin.setRange(0, 255)
        self.wand_spin.setValue(DEFAULT_WAND_TOLERANCE)
        self.wand_spin.setKeyboardTracking(False)
        self.wand_spin.setToolTip("Magic wand tolerance (W): how far, per colour channel on 0\u2013255, a pixel's "
                                  "colour may lie from the clicked one's and still join the region")
        self.wand_spin.valueChanged.connect(canvas.set_wand_tolerance)
        self.addWidget(self.wand_spin)
        self.superpixel_size = add_superpixel_size(canvas, self)
        self.click_options = ClickOptions(canvas, self)
        self.seed_heatmap, self.click_model = self.click_options.seed, self.click_options.model

        self.addSeparator()
        self.show_heatmap = self._toggle("Heatmap", "H", canvas.set_heatmap_visible)
        self.target_combo = QComboBox()
        self.target_combo.setToolTip("Which class the Grad-CAM heatmap explains")
        self.target_combo.addItem("Predicted class", "predicted")
        self.target_combo.addItem("True class", "true")
        for index, name in enumerate(classes):
            self.target_combo.addItem(name, index)
        self.target_combo.currentIndexChanged.connect(
            lambda i: self.target_changed.emit(self.target_combo.itemData(i)))
        self.method_combo = QComboBox()
        self.method_combo.setToolTip("How the heatmap is computed: Grad-CAM (the paper's, and what the metrics use), "
                                     "or HiResCAM, XGrad-CAM, LayerCAM, Grad-CAM++ (as pytorch-grad-cam computes "
                                     "them)")
        for name in CAM_METHODS:
            self.method_combo.addItem(CAM_LABELS[name], name)
        self.method_combo.currentIndexChanged.connect(
            lambda i: self.method_changed.emit(self.method_combo.itemData(i)))
        self.colormap_combo = QComboBox()
        self.colormap_combo.setToolTip("Heatmap colours")
        self.colormap_combo.addItems(list(COLORMAPS))
        self.colormap_combo.setCurrentText(canvas.colormap())
        self.colormap_combo.currentTextChanged.connect(canvas.set_colormap)
        self.heatmap_opacity = _slider(round(canvas.heatmap_opacity() * 100), "Heatmap opacity")
        self.heatmap_opacity.valueChanged.connect(lambda v: canvas.set_heatmap_opacity(v / 100))
        self.layer_field = CamLayerField()
        self.layer_field.edit.setToolTip("The layer the heatmap is read at (a dotted path); empty: the version's own "
                                         "CAM layer. \u2026 lists the model's layers with their grids")
        self.layer_field.setMaximumWidth(200)
        self.layer_field.layer_chosen.connect(self.layer_changed)
        for w in (self.target_combo, self.method_combo, self.layer_field, self.colormap_combo, self.heatmap_opacity):
            self.addWidget(w)

        self.addSeparator()
        self.show_mask = self._toggle("Mask", "M", canvas.set_mask_visible)
        self.mask_color_button = QToolButton()
        self.mask_color_button.setToolTip("Mask colour")
        self.mask_color_button.clicked.connect(self.choose_mask_color)
        self._mask_color = QColor(canvas.mask_color())
        self.mask_color_button.setIcon(color_icon(self._mask_color))
        self.mask_opacity = _slider(round(canvas.mask_opacity() * 100), "Mask opacity")
        self.mask_opacity.valueChanged.connect(lambda v: canvas.set_mask_opacity(v / 100))
        self.addWidget(self.mask_color_button)
        self.addWidget(self.mask_opacity)

        self._apply_icons()
        canvas.mask_edited.connect(self.refresh)
        canvas.editor_changed.connect(self.refresh)
        self.refresh()
        self.prefs = ToolPrefs(settings)
        self._restore_prefs()
        self._save_prefs_on_change()

    # ---- preferences --------------------------------------------------------------------------
    def _restore_prefs(self) -> None:
        prefs = self.prefs.load()
        if "brush_radius" in prefs:
            self.canvas.set_brush_radius(prefs["brush_radius"])
        if "colormap" in prefs:
            self.colormap_combo.setCurrentText(prefs["colormap"])
        for name, slider in (("heatmap_opacity", self.heatmap_opacity), ("mask_opacity", self.mask_opacity)):
            if name in prefs:
                slider.setValue(round(prefs[name]))
        for name, action in (("show_heatmap", self.show_heatmap), ("show_mask", self.show_mask)):
            if name in prefs:
                action.setChecked(prefs[name])
        if "mask_color" in prefs:
            self.set_mask_color(prefs["mask_color"])
        if "threshold" in prefs:
            self.threshold_spin.setValue(prefs["threshold"])
        if "snap_to_edges" in prefs:
            self.snap.setChecked(prefs["snap_to_edges"])
        if "superpixel_size" in prefs:
            self.superpixel_size.setValue(round(prefs["superpixel_size"]))
        if "seed_heatmap" in prefs:
            self.seed_heatmap.setChecked(prefs["seed_heatmap"])
        if "click_encoder" in prefs and "click_decoder" in prefs:  # loaded when first clicked with
            self.canvas.click_to_mask.set_model_files(prefs["click_encoder"], prefs["click_decoder"])
        if "tool" in prefs:
            self.canvas.set_tool(prefs["tool"])

    def _save_prefs_on_change(self) -> None:
        save = self.prefs.saver  # lambdas only for the panel's own widgets: they go with it
        self.canvas.tool_changed.connect(self._save_tool)
        self.canvas.brush_radius_changed.connect(self._save_radius)
        self.colormap_combo.currentTextChanged.connect(save("colormap"))
        self.heatmap_opacity.valueChanged.connect(save("heatmap_opacity"))
        self.mask_opacity.valueChanged.connect(save("mask_opacity"))
        self.show_heatmap.toggled.connect(save("show_heatmap"))
        self.show_mask.toggled.connect(save("show_mask"))
        self.threshold_spin.valueChanged.connect(save("threshold"))
        self.snap.toggled.connect(save("snap_to_edges"))
        self.superpixel_size.valueChanged.connect(save("superpixel_size"))
        self.seed_heatmap.toggled.connect(save("seed_heatmap"))
        self.canvas.click_to_mask.model_changed.connect(self._save_click_model)

    def _save_tool(self, name: str) -> None:
        self.prefs.save("tool", name)

    def _save_radius(self, radius: float) -> None:
        self.prefs.save("brush_radius", radius)

    def _save_click_model(self) -> None:
        files = self.canvas.click_to_mask.model_files()
        self.prefs.save("click_encoder", "" if files is None else str(files[0]))
        self.prefs.save("click_decoder", "" if files is None else str(files[1]))

    # ---- mask commands ------------------------------------------------------------------------
    def mask_from_heatmap(self) -> None:
        """Replace the mask by the heatmap thresholded at the panel's threshold: one undo step, said
        on the status bar. A mask with attention in it (painted, or a dataset's) goes only when the
        user agrees."""
        if self._would_replace_attention() and not self._user_agrees_to_replace():
            return
        threshold = self.threshold()
        if self.canvas.mask_from_heatmap(threshold) is not None:
            undo_key = self.undo.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            self.canvas.message.emit(f"Mask made from the heatmap at threshold {threshold:.2f} "
                                     f"(one step: {undo_key} undoes it)")

    def _would_replace_attention(self) -> bool:
        editor = self.canvas.editor()
        return (editor is not None and not self.canvas.is_read_only() and self.canvas.heatmap() is not None
                and bool(editor.active_mask.any()))

    def _user_agrees_to_replace(self) -> bool:
        answer = QMessageBox.question(
            self.window(), "Mask from heatmap",
            "Replace the current mask by the heatmap's pixels at the threshold?\n"
            "The mask painted so far is lost (Undo brings it back).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def threshold(self) -> float:
        return self.threshold_spin.value()

    def set_mask_color(self, color: QColor) -> None:
        """Paint the mask in ``color`` (a preference: kept for the next start)."""
        color = QColor(color)
        if not color.isValid():
            return
        self._mask_color = color
        self.canvas.set_mask_color(color)
        self.mask_color_button.setIcon(color_icon(color))
        self.layer_switch.refresh()
        self.prefs.save("mask_color", color)

    def choose_mask_color(self) -> None:
        color = QColorDialog.getColor(self._mask_color, self, "Mask colour")
        if color.isValid():
            self.set_mask_color(color)

    def _action(self, label: str, shortcuts: tuple[str, ...], slot, explanation: str = "") -> QAction:
        action = QAction(label, self)
        action.setShortcuts([QKeySequence(key) for key in shortcuts])
        keys = " or ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts())
        tip = f"{label} ({keys or 'no key'})"
        action.setToolTip(f"{tip}: {explanation}" if explanation else tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _toggle(self, label: str, shortcut: str, slot) -> QAction:
        action = QAction(label, self)
        action.setCheckable(True)
        action.setChecked(True)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"Show the {label.lower()} ({shortcut})")
        action.toggled.connect(slot)
        self.addAction(action)
        return action

    def _show_tool(self, name: str) -> None:
        self.tool_actions[name].setChecked(True)

    def _show_radius(self, radius: float) -> None:
        for w in (self.size_slider, self.size_spin):
            w.blockSignals(True)
        self.size_slider.setValue(_radius_to_slider(radius))
        self.size_spin.setValue(radius)
        for w in (self.size_slider, self.size_spin):
            w.blockSignals(False)

    def target(self) -> object:
        return self.target_combo.currentData()

    def method(self) -> str:
        return self.method_combo.currentData()

    def show_version_layer(self, arch: str | None, image_size: int, layer: str | None) -> None:
        """A new version: its own layer again, and its model's layers to pick from."""
        self.layer_field.setText("")
        self.layer_field.edit.setPlaceholderText(layer or "CAM layer")
        if arch:
            self.layer_field.set_model(arch, image_size)

    def actions(self) -> list[QAction]:  # shadows QWidget.actions: the panel's actions, for menus
        return list(self.named_actions().values())

    def named_actions(self) -> dict[str, QAction]:
        """The panel's actions by tool name or attribute name (the keys of ``ICONS``)."""
        commands = ("smaller", "larger", "snap", "seed_heatmap", "click_model", "undo", "redo", "clear", "invert",
                    "from_heatmap", "show_heatmap", "show_mask")
        return {**self.tool_actions, **{name: getattr(self, name) for name in commands}}

    def _apply_icons(self) -> None:
        palette = self.palette()
        for name, action in self.named_actions().items():
            action.setIcon(mdi_icon(*ICONS[name], palette=palette))
        self.click_options.button.setIcon(mdi_icon(*OPTIONS_ICON, palette=palette))

    def changeEvent(self, event: QEvent) -> None:
        """Repaint the icons in a new palette's colours (e.g. the desktop switched to a dark theme)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "show_mask"):
            self._apply_icons()

    def refresh(self, *_args: object) -> None:
        """Enable what applies now (runs on the canvas's mask_edited and editor_changed)."""
        editor = self.canvas.editor()
        editable = editor is not None and not self.canvas.is_read_only()
        self.undo.setEnabled(editable and editor.can_undo)
        self.redo.setEnabled(editable and editor.can_redo)
        for action in (self.clear, self.invert, self.from_heatmap):
            action.setEnabled(editable)
        for name, action in self.tool_actions.items():
            action.setEnabled(editable or name == "pan")
