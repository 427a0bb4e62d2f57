"""The tool bar's superpixel settings: "Snap to edges" for the brush and eraser (after the brush size)
and the superpixels' size (beside the wand's tolerance). Both are tool preferences (tool_prefs.py)."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QSpinBox, QToolBar

from .canvas_widget import Canvas
from .superpixel_tool import DEFAULT_SIZE, SIZE_RANGE

SNAP_TIP = ("Snap to edges (no key): when on, each brush or eraser stroke grows, as it ends, to the whole "
            "superpixels it touched \u2013 regions of similar colour or texture that follow the image's edges, "
            "as the Superpixel tool (S) adds them; still one undo step")
SIZE_TIP = ("Superpixel size: about how many image pixels across one region of the Superpixel tool (S) and "
            "of \u201cSnap to edges\u201d is")


def add_snap_toggle(canvas: Canvas, toolbar: QToolBar) -> QAction:
    """A checkable action, off: brush and eraser strokes snap to the superpixels when it is checked."""
    action = QAction("Snap to edges", toolbar)
    action.setCheckable(True)
    action.setToolTip(SNAP_TIP)
    action.toggled.connect(canvas.superpixels.set_snap_to_edges)
    toolbar.addAction(action)
    return action


def add_superpixel_size(canvas: Canvas, toolbar: QToolBar) -> QSpinBox:
    toolbar.addWidget(QLabel(" Superpixel "))
    box = QSpinBox()
    box.setRange(*SIZE_RANGE)
    box.setValue(DEFAULT_SIZE)
    box.setSuffix(" px")
    box.setKeyboardTracking(False)
    box.setToolTip(SIZE_TIP)
    box.valueChanged.connect(canvas.superpixels.set_size)
    toolbar.addWidget(box)
    return box
