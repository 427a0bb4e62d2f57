"""The shortcut probe: counterfactual copies of masked images tell a model that reads the background
from one that reads the object, with no shortcut-free test set; and the trainer stores it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gradia_desktop.errors import Cancelled
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.data import SplitData
from gradia_desktop.training.selection import PROBE_RULE
from gradia_desktop.training.shortcut_probe import build_probe, measure_reliance
from gradia_desktop.training.trainer import train

S = 32


def shortcut_split(n_per_class: int = 6, masked: int | None = None) -> SplitData:
    """Class 0: a bright square on a red background; class 1: a dark square on a blue one."""
    rng = np.random.default_rng(0)
    images, labels, masks = [], [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            img = rng.integers(0, 30, (S, S, 3)).astype(np.uint8)
            img[..., 0 if label == 0 else 2] += 170  # the background cue
            y, x = rng.integers(4, S - 16, 2)
            img[y:y + 12, x:x + 12] = 235 if label == 0 else 60  # the object
            mask = np.zeros((S, S), bool)
            mask[y:y + 12, x:x + 12] = True
            images.append(img); labels.append(label); masks.append(mask)
    has = torch.ones(len(labels), dtype=torch.bool)
    if masked is not None:
        has[masked:] = False
    mask_t = torch.from_numpy(np.stack(masks)) & has[:, None, None]
    return SplitData([None] * len(labels), torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(),
                     torch.tensor(labels), mask_t, has)


class ReadsTheBackground(nn.Module):
    """Red border: class 0; blue border: class 1 (inputs are ImageNet-normalised, which keeps the order)."""

    def forward(self, x):
        border = torch.cat([x[..., :2, :].flatten(2), x[..., -2:, :].flatten(2)], dim=2).mean(2)
        red_minus_blue = border[:, 0] - border[:, 2]
        return torch.stack([red_minus_blue, -red_minus_blue], dim=1)


class ReadsTheObject(nn.Module):
    """The brightest 12x12 window: bright means class 0, dark class 1."""

    def forward(self, x):
        grey = x.mean(1, keepdim=True)
        peak = nn.functional.max_pool2d(grey, 12, stride=1).flatten(1).max(1).values
        return torch.stack([peak - 1.0, 1.0 - peak], dim=1)


def test_a_background_reader_loses_its_accuracy_on_the_copies_and_an_object_reader_keeps_it():
    probe = build_probe(shortcut_split())
    assert probe is not None and len(probe) == 12 and len(probe.counterfactuals) == 12 * probe.copies
    cpu = torch.device("cpu")
    background = measure_reliance(ReadsTheBackground(), probe, cpu)
    obj = measure_reliance(ReadsTheObject(), probe, cpu)
    assert background.original_accuracy == 1.0 and background.counterfactual_accuracy <= 0.2
    assert background.score >= 0.8
    assert obj.original_accuracy == 1.0 and obj.counterfactual_accuracy == 1.0 and obj.score == 0.0
    assert background.summary() == {"n_counterfactual": 12, "masked_accuracy": 1.0,
                                     "counterfactual_accuracy": background.counterfactual_accuracy,
                                     "shortcut_reliance": background.score}


def test_predictions_already_made_for_the_split_stand_in_for_the_originals():
    data = shortcut_split(masked=8)
    probe = build_probe(data)
    model, cpu = ReadsTheBackground(), torch.device("cpu")
    measured = measure_reliance(model, probe, cpu)
    wrong_for_unmasked = torch.cat([data.labels[:8], 1 - data.labels[8:]])  # rows the probe must not read
    assert measure_reliance(model, probe, cpu, split_predictions=wrong_for_unmasked.numpy()) == measured
    flipped = measure_reliance(model, probe, cpu, split_predictions=(1 - data.labels).numpy())
    assert flipped.original_accuracy == 0.0 and flipped.counterfactual_accuracy == measured.counterfactual_accuracy


def test_the_probe_is_seeded_and_only_uses_masked_images():
    data = shortcut_split(masked=8)  # 6 of class 0 and 2 of class 1 carry masks
    a, b = build_probe(data), build_probe(data)
    assert len(a) == 8 and torch.equal(a.counterfactuals, b.counterfactuals)
    assert not torch.equal(a.counterfactuals[:8], a.originals)  # the backgrounds were swapped


def test_no_probe_without_two_masked_images():
    assert build_probe(shortcut_split(masked=1)) is None


def test_building_and_measuring_hear_cancel():
    with pytest.raises(Cancelled):
        build_probe(shortcut_split(), cancelled=lambda: True)
    probe = build_probe(shortcut_split())
    with pytest.raises(Cancelled):
        measure_reliance(ReadsTheObject(), probe, torch.device("cpu"), cancelled=lambda: True)


def test_a_run_stores_the_probe_per_epoch_and_per_version_and_names_its_selection_rule(small_project):
    result = train(small_project, TrainConfig(epochs=2, batch_size=8, image_size=32, device="cpu"))
    assert result.selection_rule == PROBE_RULE
    for epoch in small_project.epochs(result.version):
        assert 0 <= epoch.val_counterfactual_accuracy <= 1 and 0 <= epoch.val_masked_accuracy <= 1
    version = small_project.version(result.version)
    assert version.metrics["selection_rule"] == result.selection_rule
    for split in ("val", "test"):  # the demo masks every val and test image
        s = version.metrics[split]
        assert s["n_counterfactual"] == s["n_masked"] > 0
        assert s["shortcut_reliance"] == pytest.approx(s["masked_accuracy"] - s["counterfactual_accuracy"])
    assert "n_counterfactual" not in version.metrics["train"]


def test_a_split_with_many_masked_images_is_probed_on_a_seeded_share(monkeypatch):
    from gradia_desktop.training import shortcut_probe

    monkeypatch.setattr(shortcut_probe, "MAX_MASKED", 4)
    n = 10
    images = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8)
    masks = torch.zeros((n, 16, 16), dtype=torch.bool)
    masks[:, 4:12, 4:12] = True
    data = SplitData([None] * n, images, torch.arange(n) % 2, masks, torch.ones(n, dtype=torch.bool))
    a, b = build_probe(data), build_probe(data)
    assert len(a) == 4 and torch.equal(a.index, b.index) and torch.equal(a.counterfactuals, b.counterfactuals)
