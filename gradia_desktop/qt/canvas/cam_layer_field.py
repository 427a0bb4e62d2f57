"""A CAM layer field (the training form's, the canvas tool bar's): typed, or picked from the model's
layers with each one's grid size.

The list is what `gradia layers ARCH` prints (training.models.cam_layer_choices). Building a model
to list its layers takes up to a couple of seconds (a ViT-B), so it is done on a worker thread and
the menu opens when the list arrives; lists already made are kept per (architecture, size).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QMenu, QToolButton, QWidget



class _Relay(QObject):
    listed = Signal(object, object)  # (arch, size), [(name, text)] or an error line


class _ListLayers(QRunnable):
    def __init__(self, key: tuple[str, int], relay: _Relay):
        super().__init__()
        self.key, self.relay = key, relay

    def run(self) -> None:
        arch, size = self.key
        try:
            from ...training.models import build_model, cam_layer_choices, find_cam_layer

            model = build_model(arch, 2, size)
            default = find_cam_layer(model, size)
            rows = [(c.name, f"{c.name}   {c.grid[0]}x{c.grid[1]}, {c.channels} ch"
                              + ("   (automatic)" if c.name == default else ""))
                    for c in cam_layer_choices(model, size)]
        except Exception as exc:  # noqa: BLE001 - an unknown architecture or a model that fails: said in the menu
            rows = f"no layers to list: {str(exc).splitlines()[0][:200]}"
        self.relay.listed.emit(self.key, rows)


class CamLayerField(QWidget):
    """A line edit for the layer's dotted path and a button listing the model's layers."""

    textChanged = Signal(str)
    layer_chosen = Signal(str)  # picked from the list, or typed and confirmed (Return, or leaving the field)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = QLineEdit(placeholderText="automatic", clearButtonEnabled=True,
                              toolTip="Dotted path of the CAM layer (e.g. layer4.1); empty: the last convolutional "
                                      "block (a transformer's last block), or the parent's layer")
        self.pick = QToolButton(text="\u2026", toolTip="Pick from the model's layers, with each one's CAM grid")
        self.pick.clicked.connect(self.open_menu)
        self.edit.textChanged.connect(self.textChanged)
        self.edit.editingFinished.connect(lambda: self.layer_chosen.emit(self.edit.text().strip()))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.pick)
        self._model: tuple[str, int] = ("tiny", 64)
        self._lists: dict[tuple[str, int], object] = {}
        self._relay = _Relay(self)
        self._relay.listed.connect(self._on_listed)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._waiting_for: tuple[str, int] | None = None
        self.menu: QMenu | None = None

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # noqa: N802 - QLineEdit's name, so the form treats both alike
        self.edit.setText(text)

    def set_model(self, arch: str, image_size: int) -> None:
        """The architecture and input size whose layers the button lists."""
        self._model = (arch.strip() or "tiny", image_size)

    def open_menu(self) -> None:
        key = self._model
        if key in self._lists:
            self._show(self._lists[key])
            return
        self._waiting_for = key
        self.pick.setEnabled(False)
        self._pool.start(_ListLayers(key, self._relay))

    def wait(self) -> None:
        self._pool.waitForDone()

    def _on_listed(self, key: tuple[str, int], rows) -> None:
        self._lists[key] = rows
        if key == self._waiting_for:
            self._waiting_for = None
            self.pick.setEnabled(True)
            self._show(rows)

    def _show(self, rows) -> None:
        self.menu = QMenu(self)
        if isinstance(rows, str):
            self.menu.addAction(rows).setEnabled(False)
        else:
            automatic = self.menu.addAction("automatic")
            automatic.triggered.connect(lambda: self._choose(""))
            for name, text in rows:
                action = self.menu.addAction(text)
                action.setCheckable(True)
                action.setChecked(name == self.edit.text().strip())
                action.triggered.connect(lambda _checked=False, n=name: self._choose(n))
        self.menu.popup(self.pick.mapToGlobal(QPoint(0, self.pick.height())))

    def _choose(self, name: str) -> None:
        self.edit.setText(name)
        self.layer_chosen.emit(name)
