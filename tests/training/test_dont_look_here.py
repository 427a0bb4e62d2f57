"""Three-state masks in training: the "don't look here" layer's loss terms, its counterfactual refill,
its loading, and a run whose only guidance is that layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.counterfactual import CounterfactualBank
from gradia_desktop.training.data import load_split
from gradia_desktop.training.epoch_loop import augment_batch
from gradia_desktop.training.loss import avoid_attention, gradia_loss, known_cells, outside_evidence
from gradia_desktop.training.trainer import train

FAST = dict(epochs=2, batch_size=8, image_size=32, device="cpu")


def test_unmarked_cells_of_a_three_state_mask_never_count_and_two_state_masks_count_everywhere():
    grid = torch.zeros(2, 4, 4)
    grid[:, 0, 0] = 1.0
    avoid = torch.zeros(2, 4, 4)
    avoid[0, 3, 3] = 1.0  # sample 0 is three-state, sample 1 two-state
    known = known_cells(grid, avoid)
    assert known[0].sum() == 2 and known[0, 0, 0] == 1 and known[0, 3, 3] == 1 and known[1].sum() == 16
    assert known_cells(grid, None) is None
    cam = torch.zeros(2, 4, 4)
    cam[:, 1, 1] = 1.0  # attention on an unmarked cell
    logits, y = torch.zeros(2, 2), torch.tensor([0, 1])
    w = torch.ones(2)
    three_state = gradia_loss(logits, y, cam[:1], grid[:1], w[:1], w[:1], 1.0, known[:1]).attention
    paper = gradia_loss(logits, y, cam[:1], grid[:1], w[:1], w[:1], 1.0).attention
    assert float(three_state) == pytest.approx(0.5)  # only (0, 0) and (3, 3) count: |0 - 1| and |0 - 0|
    assert float(paper) == pytest.approx(2 / 16)  # every cell: (0, 0) and (1, 1) are wrong
    evidence = torch.ones(2, 4, 4)
    # outside the mask only where marked: sample 0's one "don't look here" cell; sample 1's fifteen
    assert float(outside_evidence(evidence, grid, torch.tensor([True, True]), known)) == pytest.approx((1 + 15) / 16 / 2)


def test_the_avoid_penalty_is_the_normalised_attention_on_the_ruled_out_cells():
    cam = torch.zeros(2, 4, 4)
    cam[0, 0, 0], cam[0, 2, 2] = 2.0, 4.0  # min-max: 0.5 at (0, 0)
    cam[1, 1, 1] = 2.0
    cam.requires_grad_(True)
    avoid = torch.zeros(2, 4, 4)
    avoid[0, 0, 0] = 1.0
    avoid[1, 3, 3] = 1.0
    value = avoid_attention(cam, avoid, torch.tensor([True, True]))
    assert float(value.detach()) == pytest.approx((0.5 + 0.0) / 2, abs=1e-5)
    assert float(avoid_attention(cam, avoid, torch.tensor([False, False])).detach()) == 0.0
    value.backward()
    assert cam.grad[0, 0, 0] > 0 > cam.grad[0, 2, 2]  # lower attention there, raise the peak elsewhere


def test_an_image_that_only_says_dont_look_here_is_refilled_there_and_kept_elsewhere():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 255, (3, 3, 32, 32), dtype=np.uint8))
    images[2, :, 10:14, 10:14] = 255  # the mark
    masks = torch.zeros(3, 32, 32, dtype=torch.bool)
    masks[0, 8:20, 8:20] = masks[1, 8:20, 8:20] = True
    avoid = torch.zeros(3, 32, 32, dtype=torch.bool)
    avoid[2, 10:14, 10:14] = True
    bank = CounterfactualBank(images, torch.tensor([0, 1, 0]), masks, masks.flatten(1).any(1),
                              avoid=avoid, has_avoid=torch.tensor([False, False, True]))
    assert len(bank) == 3 and len(bank.plates) == 2  # its background is no donor plate
    out = bank.apply(torch.tensor([2]), images[2:], torch.Generator().manual_seed(0))[0]
    assert not (out[:, 10:14, 10:14] == 255).all()  # the mark is gone
    far = torch.ones(32, 32, dtype=torch.bool)
    far[6:18, 6:18] = False
    assert torch.equal(out[:, far], images[2][:, far])  # the rest is the image's own


def test_a_ruled_out_region_gets_what_another_image_has_in_its_own():
    """Two images whose masks mark only a tag, each tag the colour of its class: each one's tag region
    gets the other's tag, so across the counterfactuals the tag says nothing about the class."""
    images = torch.full((2, 3, 32, 32), 100, dtype=torch.uint8)
    images[0, :, 4:10, 4:10] = torch.tensor([235, 215, 30]).view(3, 1, 1)
    images[1, :, 20:28, 12:20] = torch.tensor([200, 40, 210]).view(3, 1, 1)
    avoid = torch.zeros(2, 32, 32, dtype=torch.bool)
    avoid[0, 4:10, 4:10] = True
    avoid[1, 20:28, 12:20] = True
    bank = CounterfactualBank(images, torch.tensor([0, 1]), torch.zeros(2, 32, 32, dtype=torch.bool),
                              torch.zeros(2, dtype=torch.bool), avoid=avoid, has_avoid=torch.ones(2, dtype=torch.bool))
    out = bank.apply(torch.tensor([0, 1]), images, torch.Generator().manual_seed(0))
    assert (out[0, :, 4:10, 4:10] == torch.tensor([200, 40, 210]).view(3, 1, 1)).all()  # the other's tag, fitted
    assert (out[1, :, 20:28, 12:20] == torch.tensor([235, 215, 30]).view(3, 1, 1)).all()
    assert (out[0, :, 20:, :] == 100).all()  # the rest of the image is its own


def test_flips_move_both_layers_together():
    grids = torch.zeros(1, 2, 2, 4)
    grids[0, 0, 0, 0], grids[0, 1, 1, 0] = 1.0, 1.0
    images = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    for seed in range(8):  # a flip happens for some seed
        _, out = augment_batch(torch.tensor([0]), images, grids, None, torch.Generator().manual_seed(seed), True)
        assert out[0, 0].nonzero().tolist() in ([[0, 0]], [[0, 3]])
        assert (out[0, 0, 0, 0] == 1) == (out[0, 1, 1, 0] == 1)


def test_a_run_guided_by_dont_look_here_alone_trains_and_a_baseline_ignores_the_layer(small_project):
    for sample in small_project.samples(split="train"):  # replace every mask by a "don't look here" corner
        if sample.has_mask:
            avoid = np.zeros((sample.height, sample.width), bool)
            avoid[:4, :4] = True
            small_project.write_mask(sample, np.zeros_like(avoid), avoid=avoid)
    data = load_split(small_project, "train", 32)
    assert not data.has_mask.any() and data.avoid_rows().sum() > 0
    first = data.avoid[int(torch.nonzero(data.avoid_rows())[0])]
    assert first[:2, :2].all() and not first[8:].any()  # the corner, at 32 px
    base = train(small_project, TrainConfig(mode="baseline", **FAST))
    assert all(e.loss == pytest.approx(e.ce) for e in base.epochs)
    parent = base.version
    result = train(small_project, TrainConfig(mode="guided", parent=parent, **FAST))
    assert small_project.version(result.version).status == "done"
    assert all(e.attention == 0 for e in result.epochs)  # no "look here" target: GRADIA's L1 never ran
    assert all(e.loss > e.ce for e in result.epochs)  # the "don't look here" terms did


def test_a_run_with_the_boundary_tolerant_loss_trains_and_records_it(small_project):
    parent = train(small_project, TrainConfig(mode="baseline", **FAST)).version
    result = train(small_project, TrainConfig(mode="gradia-all", parent=parent, attention_loss="tolerant",
                                              tolerance=0.1, **FAST))
    config = small_project.version(result.version).config
    assert config["attention_loss"] == "tolerant" and config["tolerance"] == 0.1
    assert all(e.attention >= 0 for e in result.epochs)
    with pytest.raises(Exception, match="unknown attention loss"):
        train(small_project, TrainConfig(mode="gradia-all", parent=parent, attention_loss="l2", **FAST))
