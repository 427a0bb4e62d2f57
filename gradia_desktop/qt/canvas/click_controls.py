"""The tool bar's Click to mask options, in one drop-down button beside the superpixel size: "Seed
clicks from the heatmap" and "Learned click to mask…" (click_model_dialog.py). Both are tool
preferences (tool_prefs.py); the actions are in the Edit menu too."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

from .canvas_widget import Canvas
from .click_model_dialog import ClickModelDialog

SEED_TIP = ("Seed clicks from the heatmap (no key): click to mask starts from where the heatmap shown is high "
            "(0.5 and up) as well as from the first click, so an object the model already looks at is found "
            "whole at once; the built-in click to mask only")
OPTIONS_ICON = ("cursor-default-click", "cog")  # the drop-down button's MDI glyph and badge
MODEL_TIP = ("Learned click to mask (no key): use a Segment-Anything-family model pair (two ONNX files you "
             "provide) for the clicks instead of the built-in colour-based one")


class ClickOptions:
    """The two actions and the drop-down button that offers them."""

    def __init__(self, canvas: Canvas, toolbar: QToolBar):
        self.canvas = canvas
        self.seed = QAction("Seed clicks from the heatmap", toolbar)
        self.seed.setCheckable(True)
        self.seed.setToolTip(SEED_TIP)
        self.seed.toggled.connect(canvas.click_to_mask.set_seed_from_heatmap)
        self.model = QAction("Learned click to mask\u2026", toolbar)
        self.model.setToolTip(MODEL_TIP)
        self.model.triggered.connect(lambda _checked=False: self.choose_model())
        self.button = QToolButton(toolbar)
        self.button.setText("Click to mask options")
        self.button.setToolTip("Click to mask options: seed from the heatmap, a learned model")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.button)
        menu.addAction(self.seed)
        menu.addAction(self.model)
        self.button.setMenu(menu)
        toolbar.addWidget(self.button)

    def choose_model(self) -> ClickModelDialog:
        """Open the dialog (modal); says on the status bar what clicks use afterwards."""
        dialog = ClickModelDialog(self.canvas.click_to_mask, self.canvas.window())
        dialog.finished.connect(lambda result: self._report(result, dialog))
        dialog.open()
        return dialog

    def _report(self, result: int, dialog: ClickModelDialog) -> None:
        if result != ClickModelDialog.DialogCode.Accepted:
            return
        files = self.canvas.click_to_mask.model_files()
        self.canvas.message.emit("Click to mask uses the built-in colour-based way" if files is None else
                                 f"Click to mask uses {files[0].name} + {files[1].name}")
