"""What the canvas tests share: a shown canvas."""

from __future__ import annotations

import pytest

from gradia_desktop.qt.canvas.canvas_widget import Canvas


@pytest.fixture
def shown_canvas(qtbot) -> Canvas:
    """An empty canvas of 700x560, on screen."""
    c = Canvas()
    qtbot.addWidget(c)
    c.resize(700, 560)
    with qtbot.waitExposed(c):
        c.show()
    return c
