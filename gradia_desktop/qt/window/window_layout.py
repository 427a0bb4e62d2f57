"""Where the window's parts sit - its geometry, the browser | canvas splitter and the docks - saved
once for the window (never per project) when it closes, and restored at the next start.

A layout saved by an earlier release (another ``LAYOUT_VERSION``) is not restored: those were saved
while the docks' sizes still followed their contents (a matrix grown by a judgement, a dock squeezed
by the baseline banner to ~300 px, a browser 440 px wide), and restoring them would keep the default
columns off screen for good. Without a layout to restore, the docks get the default arrangement when
the window is first shown, at its real size.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QSplitter, QStyle

from ..models.model_views import DOCK_WIDTH

LAYOUT_VERSION = 1  # raise it when a release changes what the saved layout means
GEOMETRY_KEY, SPLITTER_KEY, STATE_KEY, VERSION_KEY = ("window/geometry", "window/splitter", "window/state",
                                                      "window/layout_version")
TRAINING_MAX_SHARE = 0.6  # of the right column, on a screen too short for the whole form


class WindowLayout(QObject):
    """Restores ``window``'s layout now (or arranges the docks when it is first shown) and saves it."""

    def __init__(self, window: QMainWindow, splitter: QSplitter, matrix_dock: QDockWidget,
                 training_dock: QDockWidget):
        super().__init__(window)
        self._window, self._splitter = window, splitter
        self._matrix_dock, self._training_dock = matrix_dock, training_dock
        if not self._restore():
            window.installEventFilter(self)  # the default arrangement needs the shown window's size

    def save(self) -> None:
        settings = QSettings()
        settings.setValue(GEOMETRY_KEY, self._window.saveGeometry())
        settings.setValue(SPLITTER_KEY, self._splitter.saveState())
        settings.setValue(STATE_KEY, self._window.saveState(LAYOUT_VERSION))
        settings.setValue(VERSION_KEY, LAYOUT_VERSION)

    def arrange_docks(self) -> None:
        """The default: the matrix (tabbed with the versions) over the training form, DOCK_WIDTH wide; the
        form gets the height at which its Start button shows (at most TRAINING_MAX_SHARE), the matrix the rest."""
        self._window.resizeDocks([self._matrix_dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
        if self._stacked():
            most = round(self._column_height() * TRAINING_MAX_SHARE)
            self._set_training_height(min(_unscrolled_height(self._training_dock), most))

    def keep_form_height(self, change: Callable[[], None]) -> None:
        """Run ``change`` - one that takes room from the docks' column or gives it, like the first tool bar
        above it - with the matrix giving or taking that room, so the training form keeps its height."""
        height = self._training_dock.height()
        change()
        if self._window.isVisible() and self._stacked():  # else the layout of the first show is what counts
            QTimer.singleShot(0, self, lambda: self._give_form_height(height))  # a new child shows after a queued call

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        if watched is self._window and event.type() == QEvent.Type.Show:
            self._window.removeEventFilter(self)
            QTimer.singleShot(0, self, self.arrange_docks)  # once the shown window is laid out at its size
        return False

    def _give_form_height(self, height: int) -> None:
        self._window.layout().activate()
        if self._stacked() and self._training_dock.height() != height:
            self._set_training_height(height)

    def _stacked(self) -> bool:
        """The matrix's tab group above the training dock, in one column of one dock area."""
        window, matrix, training = self._window, self._matrix_dock, self._training_dock
        docked = all(d.isVisible() and not d.isFloating() for d in (matrix, training))
        return (docked and window.dockWidgetArea(matrix) == window.dockWidgetArea(training)
                and matrix.geometry().left() == training.geometry().left()
                and matrix.geometry().bottom() < training.geometry().top())

    def _column_height(self) -> int:
        return self._training_dock.geometry().bottom() - self._matrix_dock.geometry().top() + 1

    def _set_training_height(self, height: int) -> None:
        # The column holds the matrix's tab group (dock and tab bar), a separator and the training dock:
        # sizes that add up to it are kept as given, others would be spread over both.
        window = self._window
        separator = window.style().pixelMetric(QStyle.PixelMetric.PM_DockWidgetSeparatorExtent, None, window)
        window.resizeDocks([self._matrix_dock, self._training_dock], [self._column_height() - separator - height,
                           height], Qt.Orientation.Vertical)

    def _restore(self) -> bool:
        """True when docks and splitter came back from a layout this release saved."""
        settings = QSettings()
        geometry = settings.value(GEOMETRY_KEY)
        if geometry is not None:
            self._window.restoreGeometry(geometry)
        if _int(settings.value(VERSION_KEY)) != LAYOUT_VERSION:
            return False
        splitter, state = settings.value(SPLITTER_KEY), settings.value(STATE_KEY)
        if splitter is not None:
            self._splitter.restoreState(splitter)
        return state is not None and self._window.restoreState(state, LAYOUT_VERSION)


def _unscrolled_height(dock: QDockWidget) -> int:
    """The dock's height at which its scrolled contents show whole (its title bar included). The form's
    minimum is made of its fields and buttons, not of a project's data, so the default stays the same."""
    area = dock.widget()
    if not isinstance(area, QScrollArea) or area.widget() is None:
        return dock.minimumSizeHint().height()
    return dock.height() - area.viewport().height() + area.widget().minimumSizeHint().height()


def _int(value: object) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
