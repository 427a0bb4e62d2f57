"""HeatmapProvider: stored grids for 'predicted', the Explainer for other targets, and its cache."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gradia_desktop.core.store import Project
from gradia_desktop.qt.canvas import heatmaps
from gradia_desktop.qt.canvas.heatmaps import HeatmapProvider, upsample_grid
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.explain import Explainer
from gradia_desktop.training.trainer import train


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """The small project with one tiny trained version (a few seconds on the CPU)."""
    from gradia_desktop.core.demo import generate_demo
    from gradia_desktop.core.project_init import create_project

    from ..conftest import SMALL_COUNTS
    tmp = tmp_path_factory.mktemp("heat")
    dataset = generate_demo(tmp / "dataset", seed=0, counts=SMALL_COUNTS)
    root = tmp / "project"
    create_project(root, dataset / "images", dataset / "masks").close()
    with Project.open(root) as project:
        train(project, TrainConfig(epochs=1, batch_size=8, image_size=32, device="cpu"))
    return root


@pytest.fixture
def provider(qtbot, trained_dir):
    project = Project.open(trained_dir)
    p = HeatmapProvider()
    p.set_source(project, project.latest_version())
    yield p, project
    p.shutdown()
    project.close()


def bilinear(grid: np.ndarray, width: int, height: int) -> np.ndarray:
    """``grid`` resampled to height x width with pixel centres aligned (OpenCV's INTER_LINEAR:
    source coordinate (i + 0.5) * scale - 0.5, clamped at the edges), written out with NumPy."""
    grid = np.asarray(grid, np.float64)
    gh, gw = grid.shape
    fy = np.clip((np.arange(height) + 0.5) * gh / height - 0.5, 0, gh - 1)
    fx = np.clip((np.arange(width) + 0.5) * gw / width - 0.5, 0, gw - 1)
    y0, x0 = np.floor(fy).astype(int), np.floor(fx).astype(int)
    y1, x1 = np.minimum(y0 + 1, gh - 1), np.minimum(x0 + 1, gw - 1)
    ay, ax = (fy - y0)[:, None], (fx - x0)[None, :]
    top = grid[y0][:, x0] * (1 - ax) + grid[y0][:, x1] * ax
    bottom = grid[y1][:, x0] * (1 - ax) + grid[y1][:, x1] * ax
    return top * (1 - ay) + bottom * ay


def test_upsample_grid_is_bilinear_and_normalised():
    grid = np.array([[0, 1], [2, 3]], np.float32)  # value = 2 * row + column: a plane
    # Doubling puts the output pixel centres at -0.25, 0.25, 0.75, 1.25 of the grid (edges clamped).
    at = np.array([0, 0.25, 0.75, 1])
    expected = (2 * at[:, None] + at[None, :]) / 3  # the plane there, min-max normalised (0..3)
    assert np.allclose(upsample_grid(grid, 4, 4), expected, atol=1e-6)
    wide = upsample_grid(grid, 6, 2)  # 3x across, 1x down: rows stay the grid's rows
    assert np.allclose(wide, (2 * np.array([0, 1])[:, None] + np.array([0, 0, 1 / 3, 2 / 3, 1, 1])[None, :]) / 3,
                       atol=1e-6)
    assert not upsample_grid(np.full((3, 3), 0.4, np.float32), 5, 5).any()  # flat: nothing stands out


def wait_ready(qtbot, provider, sample, target):
    with qtbot.waitSignal(provider.ready, timeout=20000) as blocker:
        provider.request(sample, target)
    return blocker.args


def test_predicted_uses_the_stored_grid(qtbot, provider):
    p, project = provider
    sample = project.samples()[0]
    version = project.latest_version()
    sample_id, version_id, target, cam = wait_ready(qtbot, p, sample, "predicted")
    assert (sample_id, version_id, target) == (sample.id, version.id, "predicted")
    grid = project.prediction(version.id, sample.id).cam
    assert cam.shape == (sample.height, sample.width) and cam.dtype == np.float32
    full = bilinear(grid, sample.width, sample.height)
    assert np.allclose(cam, (full - full.min()) / (full.max() - full.min()), atol=1e-5)
    assert cam.min() == 0 and cam.max() == pytest.approx(1)


def test_true_class_and_index_use_the_explainer(qtbot, provider):
    p, project = provider
    sample = project.samples()[1]
    version = project.latest_version()
    _, _, target, cam = wait_ready(qtbot, p, sample, "true")
    assert target == "true"
    expected, _ = Explainer(project, version).heatmap(project.load_image(sample), sample.class_idx)
    assert np.allclose(cam, expected, atol=1e-5)
    other = 1 - sample.class_idx
    _, _, target, cam_other = wait_ready(qtbot, p, sample, other)
    assert target == other and cam_other.shape == cam.shape


def test_a_cache_hit_is_immediate_and_not_recomputed(qtbot, provider):
    p, project = provider
    sample = project.samples()[2]
    first = wait_ready(qtbot, p, sample, "true")
    computed = p.computed
    got = []
    p.ready.connect(lambda *args: got.append(args))
    p.request(sample, "true")  # emitted synchronously from the cache
    assert len(got) == 1 and got[0][3] is first[3]
    assert p.computed == computed
    assert p.cached(sample.id, "true") is first[3]


def test_no_version_and_stale_results(qtbot, provider, monkeypatch):
    p, project = provider
    sample, other = project.samples()[3:5]
    with qtbot.waitSignal(p.failed, timeout=2000) as blocker:
        p.set_source(project, None)
        p.request(sample, "predicted")
    assert blocker.args[:3] == [sample.id, None, "predicted"] and "no trained" in blocker.args[3]
    p.set_source(project, project.latest_version())
    started, release = threading.Event(), threading.Event()
    upsample = heatmaps.upsample_grid

    def held_first(grid, width, height):
        if not started.is_set():
            started.set()
            release.wait(10)
        return upsample(grid, width, height)

    monkeypatch.setattr(heatmaps, "upsample_grid", held_first)
    got = []
    p.ready.connect(lambda *args: got.append(args))
    p.request(sample, "predicted")
    assert started.wait(10)  # the worker is computing it
    p.request(sample, "true")  # and this one waits
    p.set_source(project, project.latest_version().id)  # switching drops both
    release.set()
    # A prefetch is taken after everything else pending, by the one worker: once it is answered,
    # the dropped results would have been too.
    with qtbot.waitSignal(p.ready, timeout=20_000):
        p.prefetch(other)
    assert [args[:3] for args in got] == [(other.id, project.latest_version().id, "predicted")]
    assert p.cached(sample.id, "predicted") is None and p.cached(sample.id, "true") is None


def test_bad_targets_are_refused(provider):
    p, project = provider
    with pytest.raises(ValueError):
        p.request(project.samples()[0], "banana")


def test_prefetch_fills_the_cache_quietly_once(qtbot, provider):
    p, project = provider
    a, b = project.samples()[2:4]
    p.prefetch(b)
    p.request(a)
    qtbot.waitUntil(lambda: p.cached(a.id, "predicted") is not None and p.cached(b.id, "predicted") is not None,
                    timeout=20_000)
    computed, emitted = p.computed, []
    p.ready.connect(lambda *args: emitted.append(args))
    p.prefetch(b)
    p.prefetch(a)
    c = project.samples()[5]
    # Prefetches are taken oldest first: once c's arrives, any made for a and b would have too.
    with qtbot.waitSignal(p.ready, timeout=20_000):
        p.prefetch(c)
    assert p.computed == computed + 1  # cached: nothing computed, nothing announced for a and b
    assert [args[0] for args in emitted] == [c.id]


def test_another_cam_method_runs_the_model_and_is_cached_apart(qtbot, provider):
    p, project = provider
    sample = project.samples()[0]
    stored = wait_ready(qtbot, p, sample, "predicted")[3]
    p.set_method("layercam")
    assert p.cached(sample.id, "predicted") is None  # Grad-CAM's cached map is not LayerCAM's
    layer_cam = wait_ready(qtbot, p, sample, "predicted")[3]
    expected = Explainer(project, project.latest_version()).heatmap(project.load_image(sample), None, "layercam")[0]
    np.testing.assert_allclose(layer_cam, np.clip(expected, 0, 1), atol=1e-5)
    assert not np.allclose(layer_cam, stored, atol=1e-3)
    p.set_method("gradcam")
    assert p.cached(sample.id, "predicted") is stored
    with pytest.raises(ValueError, match="unknown CAM method"):
        p.set_method("scorecam")
