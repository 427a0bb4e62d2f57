"""Learned click-to-mask, checked with a tiny random Segment-Anything-shaped ONNX pair written by the
tests (tests/sam_onnx.py says what it computes)."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from gradia_desktop.core.learned_segmentation import (  # noqa: E402
    PIXEL_MEAN, PIXEL_STD, LearnedClickSession, SamModelPair, compute_embedding, explain_missing,
    onnxruntime_available)
from gradia_desktop.errors import GradiaError  # noqa: E402

from ..sam_onnx import S, write_decoder, write_encoder  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sam")
    return {"encoder": write_encoder(d / "encoder.onnx"), "decoder": write_decoder(d / "decoder.onnx"),
            "encoder_hwc": write_encoder(d / "encoder_hwc.onnx", "HWC"),
            "decoder_lowres": write_decoder(d / "decoder_lowres.onnx", with_size=False),
            "not_sam": write_decoder(d / "not_sam.onnx", coords_name="coords"), "dir": d}


@pytest.fixture(scope="module")
def pair(files):
    return SamModelPair(files["encoder"], files["decoder"])


def _image(h=40, w=80):
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2] = (200, 100, 50)
    rgb[:, w // 2:] = (10, 240, 130)
    return rgb


def _normalised(colour):
    return (np.asarray(colour, np.float32) - PIXEL_MEAN) / PIXEL_STD


def _spy(monkeypatch, session):
    calls = []
    run = session.run

    def spy(names, feeds, *args):
        calls.append({k: np.array(v) for k, v in feeds.items()})
        return run(names, feeds, *args)
    monkeypatch.setattr(session, "run", spy)
    return calls


def test_the_pair_reads_the_encoders_frame(pair):
    assert (pair.layout, pair.input_size) == ("NCHW", S)
    assert pair.embedding_inputs == {"image_embeddings": "image_embeddings"}


def test_embedding_shape_and_preprocessing_keep_aspect_and_pad(pair):
    embedding = compute_embedding(pair, _image())  # 40 x 80: the long side becomes 64, the short one 32
    assert embedding.outputs["image_embeddings"].shape == (1, 8, 16, 16)
    assert embedding.image_shape == (40, 80) and embedding.resized == (32, 64)
    seen = embedding.outputs["image_echo"][0].transpose(1, 2, 0)  # what the encoder got, H x W x 3
    assert seen.shape == (S, S, 3)
    np.testing.assert_allclose(seen[:32, :30], np.broadcast_to(_normalised((200, 100, 50)), (32, 30, 3)), atol=1e-5)
    np.testing.assert_allclose(seen[:32, 34:], np.broadcast_to(_normalised((10, 240, 130)), (32, 30, 3)), atol=1e-5)
    assert not seen[32:].any()  # padded at the bottom with zeros


def test_hwc_encoder_gets_the_same_image(files):
    pair = SamModelPair(files["encoder_hwc"], files["decoder"])
    assert pair.layout == "HWC"
    embedding = compute_embedding(pair, _image())
    assert embedding.outputs["image_echo"].shape == (S, S, 3)
    np.testing.assert_allclose(embedding.outputs["image_echo"][5, 5], _normalised((200, 100, 50)), atol=1e-5)
    assert embedding.outputs["image_embeddings"].shape == (1, 8, 16, 16)


def test_click_is_scaled_padded_and_gives_the_best_mask_at_full_size(pair, monkeypatch):
    calls = _spy(monkeypatch, pair.decoder)
    session = LearnedClickSession(pair, _image())
    mask = session.add_click(50, 20, True)
    feeds = calls[-1]
    np.testing.assert_allclose(feeds["point_coords"], [[[40, 16], [0, 0]]])  # 0.8 x the click, then SAM's pad point
    np.testing.assert_array_equal(feeds["point_labels"], [[1, -1]])
    np.testing.assert_array_equal(feeds["orig_im_size"], [40, 80])
    assert feeds["mask_input"].shape == (1, 1, 256, 256) and not feeds["mask_input"].any()
    assert feeds["has_mask_input"].shape == (1,) and not feeds["has_mask_input"].any()
    assert mask.dtype == bool and mask.shape == (40, 80)
    # the disc of radius 12 (iou 0.9), not the one of radius 4: 12 / 0.8 = 15 original pixels around the click
    assert mask[20, 50] and mask[20, 64] and mask[20, 36] and not mask[20, 66] and not mask[20, 34]
    assert mask[9, 50] and not mask[4, 50]


def test_clicks_accumulate_negative_ones_count_and_undo_goes_back(pair, monkeypatch):
    calls = _spy(monkeypatch, pair.decoder)
    base = np.zeros((40, 80), bool)
    base[0, 0] = True
    session = LearnedClickSession(pair, _image(), base)
    first = session.add_click(20, 20, True)
    second = session.click(60, 20, True)  # the disc moves to the mean of the two: x 40
    third = session.add_click(5, 5, False)
    np.testing.assert_array_equal(calls[-1]["point_labels"], [[1, 1, 0, -1]])
    assert first[20, 20] and not first[20, 40] and second[20, 40] and not second[20, 20]
    np.testing.assert_array_equal(third, second)  # the negative point does not move this test decoder's disc
    assert first[0, 0] and second[0, 0] and base[0, 0]  # the mask there before stays
    assert session.add_click(-1, 100, True)[20, 40] and len(session.clicks) == 3  # outside: ignored
    np.testing.assert_array_equal(session.undo(), second)
    np.testing.assert_array_equal(session.undo(), first)
    np.testing.assert_array_equal(session.result, first)
    after_all = session.undo()
    np.testing.assert_array_equal(after_all, base)
    assert session.result is None and session.clicks == []


def test_box_is_two_corner_points_without_the_pad_point(pair, monkeypatch):
    calls = _spy(monkeypatch, pair.decoder)
    session = LearnedClickSession(pair, _image())
    session.add_click(30, 10, True)
    session.set_box(70, 30, 10, 5)  # any two corners
    np.testing.assert_allclose(calls[-1]["point_coords"], [[[24, 8], [8, 4], [56, 24]]])
    np.testing.assert_array_equal(calls[-1]["point_labels"], [[1, 2, 3]])
    session.undo()
    assert session.box is None and len(session.clicks) == 1
    np.testing.assert_array_equal(session.set_box(3, 3, 4, 30), session.mask())  # too thin: ignored
    assert session.box is None


def test_embedding_on_a_background_thread_is_used_by_the_session(pair, monkeypatch):
    rgb = _image()
    done, threads = [], []

    def work():
        threads.append(threading.get_ident())
        done.append(compute_embedding(pair, rgb))
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    assert done and threads[0] != threading.get_ident()
    encoder_calls = _spy(monkeypatch, pair.encoder)
    session = LearnedClickSession(pair, rgb, embedding=done[0])
    assert session.embedded
    assert session.add_click(50, 20, True)[20, 50]
    assert encoder_calls == []  # each click runs the decoder only
    with pytest.raises(ValueError, match="embedding"):
        LearnedClickSession(pair, _image(30, 30), embedding=done[0])
    later = LearnedClickSession(pair, rgb)  # made before the embedding was ready, given it afterwards
    later.use_embedding(done[0])
    assert later.embedded and later.add_click(50, 20, True)[20, 50] and encoder_calls == []
    later.use_embedding(compute_embedding(pair, rgb))  # one held already: kept
    assert later._embedding is done[0]
    with pytest.raises(ValueError, match="embedding"):
        LearnedClickSession(pair, _image(30, 30)).use_embedding(done[0])


def test_the_embedding_is_computed_once_per_session(pair, monkeypatch):
    encoder_calls = _spy(monkeypatch, pair.encoder)
    session = LearnedClickSession(pair, _image())
    assert not session.embedded
    session.add_click(50, 20, True)
    session.add_click(10, 10, False)
    assert len(encoder_calls) == 1 and session.embedded


def test_low_res_masks_are_cropped_and_scaled_back(files):
    pair = SamModelPair(files["encoder"], files["decoder_lowres"])
    mask = LearnedClickSession(pair, _image()).add_click(50, 20, True)
    assert mask.shape == (40, 80)
    assert mask[20, 50] and mask[20, 63] and not mask[20, 67] and not mask[3, 50]


def test_a_missing_file_is_named(files):
    with pytest.raises(GradiaError, match="nowhere.onnx: no such file"):
        SamModelPair(files["dir"] / "nowhere.onnx", files["decoder"])


def test_a_file_that_is_not_onnx_is_named(files):
    text = files["dir"] / "notes.onnx"
    text.write_text("not a model\n")
    with pytest.raises(GradiaError, match="notes.onnx: not a readable ONNX model") as caught:
        SamModelPair(files["encoder"], text)
    assert "\n" not in str(caught.value)


def test_a_decoder_without_point_coords_is_refused(files):
    with pytest.raises(GradiaError, match=r"not_sam.onnx: not a Segment-Anything decoder \(no input named point_coords\)"):
        SamModelPair(files["encoder"], files["not_sam"])


def test_swapped_files_are_refused(files):
    with pytest.raises(GradiaError, match="decoder.onnx: not a Segment-Anything encoder .* swapped"):
        SamModelPair(files["decoder"], files["encoder"])


def test_without_onnxruntime_the_error_says_how_to_install_it(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    assert not onnxruntime_available()
    with pytest.raises(GradiaError, match="pip install onnxruntime"):
        SamModelPair(files["encoder"], files["decoder"])


def test_the_explanation_names_the_two_files_and_downloads_nothing():
    assert onnxruntime_available()
    text = explain_missing()
    assert "encoder" in text and "decoder" in text and "downloads nothing" in text and ".onnx" in text
    assert "\n" not in text
