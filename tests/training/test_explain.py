"""training/explain.py: heatmaps of one version for any class; a version without weights is refused."""

from __future__ import annotations

import numpy as np
import pytest

from gradia_desktop.errors import GradiaError
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.explain import Explainer
from gradia_desktop.training.trainer import train


def test_heatmaps_for_each_class_at_the_images_size(small_project):
    version = small_project.version(train(small_project, TrainConfig(epochs=1, batch_size=8, image_size=32,
                                                                     device="cpu")).version)
    sample = small_project.samples()[0]
    explainer = Explainer(small_project, version)
    rgb = small_project.load_image(sample)
    maps = [explainer.heatmap(rgb, target)[0] for target in (0, 1)]
    cam, probs = explainer.heatmap(rgb)
    assert all(m.shape == rgb.shape[:2] and 0 <= m.min() and m.max() <= 1 for m in maps)
    assert np.allclose(cam, maps[int(probs.argmax())])  # None explains the predicted class


def test_a_version_whose_run_did_not_finish_has_no_heatmaps(small_project):
    vid = small_project.create_version(None, "baseline", "tiny", "layer4", 32, {})
    small_project.finish_version(vid, "cancelled")
    with pytest.raises(GradiaError, match=f"model v{vid} has no checkpoint"):
        Explainer(small_project, small_project.version(vid))
