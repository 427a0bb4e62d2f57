"""The tool panel's icons come from the bundled Material Design Icons, in the palette's colours, with
the key in every tooltip; "mask from heatmap" asks before it replaces a mask with attention in it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QIcon, QImage, QPalette
from PySide6.QtWidgets import QMessageBox

from gradia_desktop.core.mask_edit import MaskEditor
from gradia_desktop.qt.browser.table_model import SAMPLE_ROLE
from gradia_desktop.qt.canvas.tool_panel import ICONS
from gradia_desktop.qt.icons import MDI_DIR, icon_path, mdi_icon

from ..helpers_qt import open_main_window, qimage_array, tool_window

H, W = 32, 40
YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


@pytest.fixture
def setup(qtbot):
    window, canvas, panel = tool_window(qtbot)
    canvas.set_image(np.zeros((H, W, 3), np.uint8))
    canvas.set_editor(MaskEditor((H, W)))
    yield canvas, panel
    window.close()  # the window is held here: the panel lives as long as the test


@pytest.fixture
def questions(monkeypatch):
    """Stands in for QMessageBox.question: records each question and answers ``answers.reply``."""
    class Answers(list):
        reply = NO

    answers = Answers()

    def question(parent, title, text, buttons, default):
        answers.append({"title": title, "text": text, "buttons": buttons, "default": default})
        return answers.reply
    monkeypatch.setattr(QMessageBox, "question", question)
    return answers


def left_half_cam() -> np.ndarray:
    cam = np.zeros((H, W), np.float32)
    cam[:, : W // 2] = 0.9
    return cam


def icon_image(icon: QIcon, mode: QIcon.Mode = QIcon.Mode.Normal) -> np.ndarray:
    """The icon at the toolbar's 20 px, (20, 20, 4) in ARGB32's memory order: B, G, R, A."""
    return qimage_array(icon.pixmap(20, 20, mode).toImage().convertToFormat(QImage.Format.Format_ARGB32), 4)


# ---- the icon set -------------------------------------------------------------------------------
def test_every_glyph_and_the_licence_are_bundled():
    glyphs = {name for spec in ICONS.values() for name in spec}
    assert all(icon_path(name).is_file() for name in glyphs), [n for n in glyphs if not icon_path(n).is_file()]
    assert "Apache 2.0" in (MDI_DIR / "LICENSE").read_text()
    assert "Apache License" in (MDI_DIR / "LICENSE-Apache-2.0.txt").read_text()
    readme = (MDI_DIR / "README.md").read_text()
    assert "@mdi/svg" in readme and "7.4.47" in readme


def test_every_action_shows_its_own_mdi_icon(setup):
    _, panel = setup
    named = panel.named_actions()
    assert set(named) == set(ICONS) and list(named.values()) == panel.actions()
    images = {}
    for name, action in named.items():
        assert not action.icon().isNull(), name
        image = icon_image(action.icon())
        expected = icon_image(mdi_icon(*ICONS[name], palette=panel.palette()))
        assert np.array_equal(image, expected), name
        assert image[..., 3].any(), name  # something is drawn
        images[name] = image.tobytes()
    assert len(set(images.values())) == len(images)  # no two actions look alike


def test_icons_are_drawn_in_the_palette_text_colours():
    palette = QPalette()
    palette.setColor(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText, QColor(250, 250, 240))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(90, 90, 90))
    icon = mdi_icon("brush", palette=palette)
    for mode, rgb in ((QIcon.Mode.Normal, (250, 250, 240)), (QIcon.Mode.Disabled, (90, 90, 90))):
        pixels = icon_image(icon, mode)
        solid = pixels[pixels[..., 3] == 255]
        assert len(solid) > 10
        assert {tuple(int(c) for c in p[[2, 1, 0]]) for p in solid} == {rgb}


def test_a_new_palette_repaints_the_icons(setup):
    _, panel = setup
    dark = QPalette(panel.palette())
    dark.setColor(QPalette.ColorRole.WindowText, QColor(255, 255, 255))
    panel.setPalette(dark)
    pixels = icon_image(panel.undo.icon())
    assert (pixels[pixels[..., 3] == 255][:, :3] == 255).all()


def test_a_badge_changes_the_glyph_and_a_missing_glyph_gives_no_icon():
    plain, badged = mdi_icon("lasso"), mdi_icon("lasso", "minus-circle")
    assert not np.array_equal(icon_image(plain), icon_image(badged))
    assert mdi_icon("no-such-glyph").isNull()


def test_every_tooltip_names_the_key(setup):
    _, panel = setup
    for name, action in panel.named_actions().items():
        keys = [key.toString() for key in action.shortcuts()]
        tip = action.toolTip()
        assert all(key in tip for key in keys) and ("no key" in tip) == (not keys), (name, tip)
    assert panel.tool_actions["brush"].toolTip() == "Brush (B): Paint attention"
    assert panel.redo.toolTip() == "Redo (Ctrl+Shift+Z or Ctrl+Y)"
    assert panel.clear.toolTip().startswith("Clear mask (no key)")


# ---- mask from heatmap --------------------------------------------------------------------------
def test_over_a_mask_it_asks_and_no_keeps_the_mask(setup, questions):
    canvas, panel = setup
    canvas.set_heatmap(left_half_cam())
    canvas.editor().mask[20:, 30:] = True
    before = canvas.editor().mask.copy()
    depth = canvas.editor().undo_depth
    panel.from_heatmap.trigger()
    assert len(questions) == 1 and questions[0]["default"] == NO
    assert questions[0]["buttons"] == YES | NO and "Replace the current mask" in questions[0]["text"]
    assert np.array_equal(canvas.editor().mask, before) and canvas.editor().undo_depth == depth


def test_yes_replaces_the_mask_in_one_undo_step_and_says_so(setup, questions, qtbot):
    canvas, panel = setup
    canvas.set_heatmap(left_half_cam())
    canvas.invert_mask()
    before = canvas.editor().mask.copy()
    questions.reply = YES
    with qtbot.waitSignal(canvas.message) as said:
        panel.from_heatmap.trigger()
    assert len(questions) == 1
    assert np.array_equal(canvas.editor().mask, left_half_cam() >= panel.threshold())
    assert "heatmap" in said.args[0] and "undoes" in said.args[0]
    panel.undo.trigger()
    assert np.array_equal(canvas.editor().mask, before)


def test_on_an_empty_mask_it_does_not_ask(setup, questions):
    canvas, panel = setup
    canvas.set_heatmap(left_half_cam())
    panel.from_heatmap.trigger()
    assert questions == [] and canvas.editor().mask[:, : W // 2].all()


def test_without_a_heatmap_or_when_read_only_it_does_not_ask(setup, questions):
    canvas, panel = setup
    canvas.invert_mask()
    panel.from_heatmap.trigger()  # no heatmap: the canvas says so
    canvas.set_heatmap(left_half_cam())
    canvas.set_read_only(True)
    panel.from_heatmap.trigger()
    assert questions == [] and canvas.editor().mask.all()


def test_the_main_window_asks_before_replacing_a_dataset_mask_and_says_it_on_the_status_bar(
        qtbot, small_project_dir, questions):
    window = open_main_window(qtbot, small_project_dir)
    table, proxy = window.browser.table, window.browser.proxy
    masked = next(r for r in range(proxy.rowCount()) if proxy.index(r, 0).data(SAMPLE_ROLE).has_mask)
    table.selectRow(masked)
    stored = window.canvas.editor().mask.copy()
    assert stored.any()
    window.canvas.set_heatmap(np.ones((7, 7), np.float32))
    window.tools.from_heatmap.trigger()
    assert len(questions) == 1 and np.array_equal(window.canvas.editor().mask, stored)
    questions.reply = YES
    window.tools.from_heatmap.trigger()
    assert window.canvas.editor().mask.all()
    assert "Mask made from the heatmap" in window.statusBar().currentMessage()
