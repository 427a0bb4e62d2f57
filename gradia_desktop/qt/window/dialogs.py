"""Small dialogs: the keyboard cheat sheet (F1) and the About box."""

from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtWidgets import QMessageBox, QWidget

from ... import __version__

SHORTCUTS = [
    ("Browse", [("D / →", "next sample"), ("A / ←", "previous sample"), ("N", "next unjudged"),
                ("Shift+N", "next without mask"), ("Q", "next in the annotation queue (most useful first)"),
                ("Ctrl+O", "open a project"), ("Ctrl+N", "new project from images"),
                ("Ctrl+E / Ctrl+Shift+I", "export / import masks")]),
    ("Judge", [("R", "attention is reasonable"), ("U", "attention is unreasonable"),
               ("Backspace", "clear the judgement")]),
    ("Model", [("Ctrl+T", "train with the Training panel's settings"), ("Ctrl+M", "show the Reasonability Matrix")]),
    ("View", [("H", "Grad-CAM heatmap on/off"), ("M", "mask on/off"), ("F", "fit to window"),
              ("1", "actual size (1:1)"), ("+ / −, Ctrl+wheel", "zoom"), ("Space+drag, middle button", "pan")]),
    ("Paint", [("X", "switch the layer the tools paint: \u201clook here\u201d / \u201cdon't look here\u201d "
                     "(what the model must not use)"),
               ("B", "brush"), ("E", "eraser"), ("G / Shift+G", "fill / erase the mask region under the click"),
               ("W / Shift+W", "magic wand: fill / erase the image region of similar colour under the click"),
               ("S", "superpixel: click adds the region of similar colour or texture under the pointer, Shift+click "
                     "or right-click removes it (“Snap to edges” grows brush and eraser strokes to these regions)"),
               ("C", "click to mask: click the object or drag a box around it, Shift+click or right-click what should "
                     "not be in it"),
               ("L / Shift+L", "lasso fill / lasso erase"), ("P", "pan tool"), ("[ / ]", "smaller / larger brush"),
               ("Ctrl+right-drag", "resize the brush (left smaller, right larger)"),
               ("Ctrl+I", "invert the mask"), ("Ctrl+Z", "undo"), ("Ctrl+Shift+Z, Ctrl+Y", "redo")]),
]


def cheat_sheet_html() -> str:
    parts = ["<h3>Keyboard</h3><table cellspacing='4'>"]
    for group, keys in SHORTCUTS:
        parts.append(f"<tr><td colspan='2'><b>{group}</b></td></tr>")
        parts += [f"<tr><td><code>{k}</code>&nbsp;&nbsp;</td><td>{what}</td></tr>" for k, what in keys]
    parts.append("</table><p>Every stroke is saved when it ends; there is no Save button.</p>")
    return "".join(parts)


def show_cheat_sheet(parent: QWidget) -> None:
    box = QMessageBox(parent)
    box.setWindowTitle("Keyboard shortcuts")
    box.setText(cheat_sheet_html())
    box.exec()


def about_html() -> str:
    import cv2
    import numpy
    import torch

    from ...training.device import describe_devices

    devices = ", ".join(d["label"] + (f" ({d['memory_gb']} GB)" if d["memory_gb"] else "")
                        for d in describe_devices())
    return (f"<h3>GRADIA Desktop {__version__}</h3>"
            "<p>Find and fix why an image classifier decides what it decides: Grad-CAM review, "
            "attention masks and GRADIA retraining (Gao et al., CSCW 2022).</p>"
            f"<p>Python {platform.python_version()} · PyTorch {torch.__version__} · PySide6 {pyside_version} · "
            f"OpenCV {cv2.__version__} · NumPy {numpy.__version__}</p>"
            f"<p>Compute devices: {devices}</p>")


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About GRADIA Desktop", about_html())


def confirm_stop_training(parent: QWidget) -> bool:
    """Ask before a running training is stopped (closing the window or opening another project)."""
    answer = QMessageBox.question(parent, "GRADIA Desktop", "A model is training. Stop it? Nothing of the run is "
                                  "kept.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
