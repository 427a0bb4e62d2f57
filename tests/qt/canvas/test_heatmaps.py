"""HeatmapProvider: stored grids for 'predicted', the Explainer for other targets, and its cache."""

from __future__ import annotations

import numpy as np
import pytest

from gradia_desktop.core.store import Project
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
    assert np.allclose(cam, upsample_grid(grid, sample.width, sample.height))
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


def test_no_version_and_stale_results(qtbot, provider, trained_dir):
    p, project = provider
    sample = project.samples()[3]
    with qtbot.waitSignal(p.failed, timeout=2000) as blocker:
        p.set_source(project, None)
        p.request(sample, "predicted")
    assert blocker.args[0] == sample.id and "no trained" in blocker.args[1]
    p.set_source(project, project.latest_version())
    got = []
    p.ready.connect(lambda *args: got.append(args))
    p.request(sample, "true")
    p.set_source(project, project.latest_version().id)  # switching drops what is in flight
    qtbot.wait(300)
    p.shutdown()
    qtbot.wait(50)
    assert got == []


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
    qtbot.wait(50)
    assert p.computed == computed and emitted == []  # cached: nothing computed, nothing announced
