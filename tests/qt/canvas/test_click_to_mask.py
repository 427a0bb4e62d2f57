"""Click to mask on the real main window: a dragged box, seeding from the heatmap, and a learned
Segment-Anything-family ONNX pair chosen in its dialog (a tiny random one written by the test)."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtTest import QTest

from gradia_desktop.core.images import read_mask
from gradia_desktop.core.mask_edit import MaskEditor
from gradia_desktop.errors import GradiaError
from gradia_desktop.qt.canvas import click_to_mask as click_module

from ..helpers_qt import open_main_window

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


@pytest.fixture
def window(qtbot, small_project_dir):
    return open_main_window(qtbot, small_project_dir, (1100, 750))


def _view(canvas, x: float, y: float):
    """The viewport point over image point (x, y) (pixel i spans [i, i+1))."""
    return canvas.mapFromScene(QPointF(x, y))


def _box_drag(canvas, x0, y0, x1, y1):
    vp = canvas.viewport()
    QTest.mousePress(vp, LEFT, NONE, _view(canvas, x0, y0))
    QTest.mouseMove(vp, _view(canvas, (x0 + x1) / 2, (y0 + y1) / 2))
    QTest.mouseMove(vp, _view(canvas, x1, y1))
    QTest.mouseRelease(vp, LEFT, NONE, _view(canvas, x1, y1))


def _on_disk(window, sample):
    window.autosaver.flush()
    path = window.project.mask_path(sample.id)
    return read_mask(path) if path.exists() else np.zeros((sample.height, sample.width), bool)


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def _object_sample(window):
    """A validation or test sample (its stored mask is the exact object), its mask cleared."""
    while not window.current_sample.has_mask or window.current_sample.split == "train":
        window.browser.select_next()
    sample = window.current_sample
    exact = _on_disk(window, sample)
    window.tools.clear.trigger()
    assert not _on_disk(window, sample).any()
    return sample, exact


def test_a_box_dragged_with_click_to_mask_masks_the_object_in_one_undo_step(window, qtbot):
    sample, exact = _object_sample(window)
    QTest.keyClick(window.canvas, Qt.Key.Key_C)
    ys, xs = np.nonzero(exact)
    _box_drag(window.canvas, xs.min() - 3, ys.min() - 3, xs.max() + 4, ys.max() + 4)
    boxed = _on_disk(window, sample)  # autosaved
    assert _iou(boxed, exact) > 0.85
    assert window.canvas.lasso_items[0].isVisible() is False  # the box outline is gone
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not _on_disk(window, sample).any()


def test_a_box_on_the_dont_look_here_layer_marks_the_object_there_only(window):
    sample, exact = _object_sample(window)
    QTest.keyClick(window.canvas, Qt.Key.Key_X)  # paint "don't look here"
    QTest.keyClick(window.canvas, Qt.Key.Key_C)
    ys, xs = np.nonzero(exact)
    _box_drag(window.canvas, xs.min() - 3, ys.min() - 3, xs.max() + 4, ys.max() + 4)
    window.autosaver.flush()
    stored = window.project.read_mask_layers(sample)
    assert not stored.look.any() and _iou(stored.avoid, exact) > 0.85


def _two_colour_object(size: int = 200):
    """A large object, dark on its left and light blue on its right, on noisy orange: a click on the
    dark part alone misses the blue part; a heatmap over the whole object finds it."""
    rng = np.random.default_rng(0)
    rgb = np.clip(np.array((210, 130, 60), np.float32) + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    obj = np.zeros((size, size), bool)
    obj[20:150, 20:130] = True
    rgb[20:150, 20:60] = (40, 40, 50)
    rgb[20:150, 60:130] = (90, 170, 230)
    cam = cv2.GaussianBlur(obj.astype(np.float32), (0, 0), 8)
    return rgb, obj, cam / cam.max()


@pytest.mark.parametrize("seeded", [False, True])
def test_seeding_from_the_heatmap_finds_the_whole_object_the_model_looks_at(shown_canvas, seeded):
    rgb, obj, cam = _two_colour_object()
    shown_canvas.set_image(rgb)
    editor = MaskEditor(obj.shape)
    shown_canvas.set_editor(editor)
    shown_canvas.set_heatmap(cam)
    shown_canvas.click_to_mask.set_seed_from_heatmap(seeded)
    shown_canvas.set_tool("click")
    QTest.mouseClick(shown_canvas.viewport(), LEFT, NONE, _view(shown_canvas, 40.5, 85.5))
    assert (_iou(editor.mask, obj) > 0.95) == seeded


def test_the_seed_option_is_in_the_edit_menu_and_kept_for_the_next_start(window, qtbot, small_project_dir):
    seed = window.tools.seed_heatmap
    assert seed in window.menus.edit_menu.actions() and not seed.isChecked()
    seed.trigger()
    assert window.canvas.click_to_mask.seed_from_heatmap
    window.close()
    again = open_main_window(qtbot, small_project_dir)
    assert again.tools.seed_heatmap.isChecked() and again.canvas.click_to_mask.seed_from_heatmap


# ---- a learned model ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sam_files(tmp_path_factory):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from ...sam_onnx import write_decoder, write_encoder
    d = tmp_path_factory.mktemp("sam")
    return write_encoder(d / "encoder.onnx"), write_decoder(d / "decoder.onnx")


def _choose(window, encoder, decoder):
    dialog = window.tools.click_options.choose_model()
    dialog.encoder_edit.setText(str(encoder))
    dialog.decoder_edit.setText(str(decoder))
    dialog.use_button.click()
    return dialog


def _disc(shape, x, y, frame_side=64, radius=12):
    """What the test decoder gives for one positive click at pixel (x, y): a disc of ``radius``
    pixels of the encoder's frame."""
    scale = frame_side / max(shape)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return ((xx * scale - x * scale) ** 2 + (yy * scale - y * scale) ** 2) < radius ** 2


def test_a_learned_pair_chosen_in_its_dialog_embeds_in_the_background_and_masks_on_click(
        window, qtbot, sam_files, monkeypatch):
    threads = []
    embed = click_module.compute_embedding

    def spy(pair, image):
        threads.append((threading.current_thread(), image.shape))
        return embed(pair, image)
    monkeypatch.setattr(click_module, "compute_embedding", spy)

    sample, _ = _object_sample(window)
    dialog = _choose(window, *sam_files)
    assert not dialog.isVisible() and window.canvas.click_to_mask.model_files() == tuple(sam_files)
    assert window.statusBar().currentMessage() == "Click to mask uses encoder.onnx + decoder.onnx"
    assert QSettings().value("tools/click_encoder") == str(sam_files[0])  # kept for the next start
    QTest.keyClick(window.canvas, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: len(threads) == 1, timeout=10_000)  # embedded on showing, before any click
    assert threads[0][0] is not threading.main_thread() and threads[0][1] == (sample.height, sample.width, 3)

    x, y = sample.width // 2, sample.height // 2
    QTest.mouseClick(window.canvas.viewport(), LEFT, NONE, _view(window.canvas, x + 0.5, y + 0.5))
    qtbot.waitUntil(lambda: window.canvas.click_to_mask.pending() == 0 and window.canvas.editor().mask.any(),
                    timeout=10_000)
    expected = _disc((sample.height, sample.width), x, y)
    assert np.array_equal(_on_disk(window, sample), expected)  # autosaved, the decoder's mask exactly
    QTest.mouseClick(window.canvas.viewport(), LEFT, NONE, _view(window.canvas, x + 10.5, y + 0.5))
    qtbot.waitUntil(lambda: window.canvas.click_to_mask.pending() == 0 and
                    not np.array_equal(window.canvas.editor().mask, expected), timeout=10_000)
    assert len(threads) == 1  # each click ran the decoder only
    window.tools.undo.trigger()  # (the dialog took the window's focus: its shortcut may not reach it here)
    assert np.array_equal(_on_disk(window, sample), expected)  # one undo step per click
    window.tools.undo.trigger()
    assert not _on_disk(window, sample).any()

    window.browser.select_next()  # the next image gets its own embedding
    qtbot.waitUntil(lambda: len(threads) == 2, timeout=10_000)


def test_the_dialog_explains_what_to_provide_and_names_a_bad_file_in_one_line(window, sam_files, tmp_path):
    dialog = window.tools.click_options.choose_model()
    text = dialog.about.text()
    assert "encoder" in text and "decoder" in text and "downloads nothing" in text
    not_onnx = tmp_path / "encoder.onnx"
    not_onnx.write_text("not a model")
    dialog.encoder_edit.setText(str(not_onnx))
    dialog.decoder_edit.setText(str(sam_files[1]))
    dialog.use_button.click()
    assert dialog.isVisible() and window.canvas.click_to_mask.model_files() is None
    problem = dialog.problem.text()
    assert problem.startswith(f"{not_onnx}: not a readable ONNX model") and "\n" not in problem
    dialog.encoder_edit.setText(str(sam_files[1]))  # the files swapped
    dialog.decoder_edit.setText(str(sam_files[0]))
    dialog.use_button.click()
    assert dialog.isVisible() and "swapped" in dialog.problem.text()
    dialog.reject()


def test_moved_model_files_fall_back_to_the_built_in_way_and_say_so(window, qtbot, sam_files, tmp_path):
    sample, exact = _object_sample(window)
    window.canvas.click_to_mask.set_model_files(tmp_path / "gone_encoder.onnx", sam_files[1])
    QTest.keyClick(window.canvas, Qt.Key.Key_C)
    assert "gone_encoder.onnx: no such file" in window.statusBar().currentMessage()
    assert "built-in" in window.statusBar().currentMessage()
    depth = cv2.distanceTransform(np.pad(exact, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    QTest.mouseClick(window.canvas.viewport(), LEFT, NONE, _view(window.canvas, x + 0.5, y + 0.5))
    assert _iou(_on_disk(window, sample), exact) > 0.9  # GrabCut did it


def test_a_failing_learned_click_leaves_the_mask_and_says_why(window, qtbot, sam_files, monkeypatch):
    sample, _ = _object_sample(window)
    _choose(window, *sam_files)
    pair = window.canvas.click_to_mask.model()

    def broken(*_args):
        raise GradiaError(f"{sam_files[1]}: the decoder failed (shape mismatch)")
    monkeypatch.setattr(pair, "decode", broken)
    QTest.keyClick(window.canvas, Qt.Key.Key_C)
    version = window.canvas.editor().version
    QTest.mouseClick(window.canvas.viewport(), LEFT, NONE, _view(window.canvas, 10.5, 10.5))
    qtbot.waitUntil(lambda: window.canvas.click_to_mask.pending() == 0, timeout=10_000)
    assert window.statusBar().currentMessage() == f"{sam_files[1]}: the decoder failed (shape mismatch)"
    assert not _on_disk(window, sample).any() and window.canvas.editor().version == version


def test_going_back_to_the_built_in_way_forgets_the_files(window, sam_files):
    _choose(window, *sam_files)
    dialog = window.tools.click_options.choose_model()
    assert dialog.builtin_button.isEnabled() and "encoder.onnx" in dialog.about.text()
    dialog.builtin_button.click()
    assert window.canvas.click_to_mask.model_files() is None and QSettings().value("tools/click_encoder") == ""
    assert window.statusBar().currentMessage() == "Click to mask uses the built-in colour-based way"
