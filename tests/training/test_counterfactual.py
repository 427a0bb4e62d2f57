"""Counterfactual backgrounds: tight object regions inside loose masks, clean plates, swapped batches."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from gradia_desktop.core.demo import loose_mask
from gradia_desktop.training.counterfactual import (CounterfactualBank, background_plate, object_region,
                                                    tighten_mask)


def _scene(seed: int, hue_bgr: tuple[int, int, int], size: int = 64):
    rng = np.random.default_rng(seed)
    rgb = np.clip(np.array(hue_bgr, np.float32) + rng.normal(0, 10, (size, size, 3)), 0, 255).astype(np.uint8)
    exact = np.zeros((size, size), np.uint8)
    cv2.circle(exact, (30 + seed % 5, 28), 11, 1, -1)
    rgb[exact > 0] = (20, 20, 20)
    return rgb, exact.astype(bool), loose_mask(rng, exact.astype(bool))


def test_tighten_mask_finds_the_object_inside_a_loose_mask():
    rgb, exact, loose = _scene(0, (200, 120, 40))
    assert loose.sum() > 1.4 * exact.sum()  # the painted mask really is loose
    tight = tighten_mask(rgb, loose)
    assert not (tight & ~loose).any()
    iou = (tight & exact).sum() / (tight | exact).sum()
    assert iou > 0.9


def test_object_region_keeps_the_whole_object_and_no_background():
    rgb, exact, loose = _scene(1, (40, 160, 200))
    keep = object_region(rgb, loose) > 0
    assert (keep & exact).sum() >= 0.97 * exact.sum()  # not thinned: a thinner object is another object
    assert (keep & ~exact).sum() <= 0.02 * exact.sum()


def test_object_region_falls_back_to_the_eroded_mask_where_grabcut_finds_nothing():
    rgb = np.full((64, 64, 3), 128, np.uint8)  # nothing to tell object from background
    mask = np.zeros((64, 64), bool)
    mask[20:40, 20:40] = True
    keep = object_region(rgb, mask) > 0
    assert keep.sum() <= mask.sum() and not (keep & ~mask).any()
    assert keep[21:39, 21:39].all() and not keep[20, 20:40].any()  # the rim is dropped, the inside kept


def test_background_plate_removes_the_object_and_keeps_the_texture():
    rgb, exact, loose = _scene(2, (60, 200, 90))
    plate = background_plate(rgb, loose, np.random.default_rng(0))
    dark = (plate.astype(int).sum(axis=2) < 150)
    assert not dark.any()  # the dark disc is gone
    hole = cv2.dilate(loose.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0  # the mask grown by 2 px
    assert (plate[~hole] == rgb[~hole]).all()  # outside the hole nothing moved
    filled = plate[loose].astype(np.float32)
    assert filled.std(axis=0).mean() > 5  # noisy like the background, not a smooth inpainted blob


def test_bank_swaps_backgrounds_with_another_class_and_keeps_objects():
    """``other-class`` donors, as the shortcut probe uses them."""
    scenes = [_scene(i, (200, 120, 40) if i % 2 == 0 else (40, 120, 200)) for i in range(4)]
    images = torch.from_numpy(np.stack([s[0] for s in scenes])).permute(0, 3, 1, 2).contiguous()
    masks = torch.from_numpy(np.stack([s[2] for s in scenes]))
    labels = torch.tensor([0, 1, 0, 1])
    has_mask = torch.tensor([True, True, True, False])
    bank = CounterfactualBank(images, labels, masks, has_mask)
    assert len(bank) == 3
    idx = torch.tensor([0, 3])
    out = bank.apply(idx, images[idx], torch.Generator().manual_seed(0), donors="other-class")
    assert torch.equal(out[1], images[3])  # unmasked samples pass through untouched
    keep = bank.keep[0][0] > 0
    assert torch.equal(out[0][:, keep], images[0][:, keep])  # the object is kept exactly
    outside = ~torch.from_numpy(scenes[0][2])
    mean_bgr = out[0][:, outside].float().mean(dim=1)
    assert mean_bgr[2] > mean_bgr[0] + 60  # the background now comes from the other class (blue-ish)


def test_training_donors_are_drawn_from_every_other_masked_image_so_the_background_says_nothing():
    scenes = [_scene(i, (200, 120, 40) if i % 2 == 0 else (40, 120, 200)) for i in range(6)]
    images = torch.from_numpy(np.stack([s[0] for s in scenes])).permute(0, 3, 1, 2).contiguous()
    masks = torch.from_numpy(np.stack([s[2] for s in scenes]))
    labels = torch.tensor([0, 1, 0, 1, 0, 1])
    bank = CounterfactualBank(images, labels, masks, torch.ones(6, dtype=torch.bool))
    generator = torch.Generator().manual_seed(0)
    outside = ~torch.from_numpy(scenes[0][2])
    blue = []
    for _ in range(60):
        out = bank.apply(torch.tensor([0]), images[:1], generator)  # default: any donor
        mean_bgr = out[0][:, outside].float().mean(dim=1)
        blue.append(bool(mean_bgr[2] > mean_bgr[0]))  # a class-1 background
    assert 0.35 < np.mean(blue) < 0.85  # 3 of the 5 other images are class 1: about 0.6, never all one class
    for _ in range(20):
        out = bank.apply(torch.tensor([0]), images[:1], generator, donors="other-class")
        mean_bgr = out[0][:, outside].float().mean(dim=1)
        assert mean_bgr[2] > mean_bgr[0]


def test_adopted_images_keep_the_object_inside_their_proposal_and_take_an_expert_masked_background():
    scenes = [_scene(i, (200, 120, 40) if i % 2 == 0 else (40, 120, 200)) for i in range(5)]
    images = torch.from_numpy(np.stack([s[0] for s in scenes])).permute(0, 3, 1, 2).contiguous()
    masks = torch.from_numpy(np.stack([s[2] for s in scenes]))
    labels = torch.tensor([0, 1, 0, 1, 0])
    bank = CounterfactualBank(images, labels, masks, torch.tensor([True, True, False, False, False]))
    plates = bank.plates[:].clone()
    proposal = scenes[2][2] | np.roll(scenes[2][2], 6, axis=1)  # the object and some background beside it
    assert bank.adopt(images, labels, {2: proposal, 0: scenes[0][2]}) == 1  # 0 is already in the bank
    assert bank.adopt(images, labels, {2: proposal}) == 0
    assert len(bank) == 3 and bank.index.tolist() == [0, 1, 2] and torch.equal(bank.plates[:], plates)
    keep = bank.keep[2][0] > 0
    assert keep.any() and not (keep & ~torch.from_numpy(scenes[2][1])).any()  # GrabCut dropped the spill
    generator = torch.Generator().manual_seed(0)
    outside = ~torch.from_numpy(proposal)
    for _ in range(10):
        out = bank.apply(torch.tensor([2]), images[2:3], generator, donors="other-class")
        assert torch.equal(out[0][:, keep], images[2][:, keep])
        mean_bgr = out[0][:, outside].float().mean(dim=1)
        assert mean_bgr[2] > mean_bgr[0] + 60  # image 1's (blue) background, the only other-class plate
    for _ in range(10):  # any donor: one of the two expert-masked images, never its own background
        out = bank.apply(torch.tensor([2]), images[2:3], generator)
        assert not torch.equal(out[0], images[2])


def test_a_batch_is_copied_only_when_a_background_is_swapped_and_never_changed_in_place():
    scenes = [_scene(i, (200, 120, 40) if i % 2 == 0 else (40, 120, 200)) for i in range(4)]
    images = torch.from_numpy(np.stack([s[0] for s in scenes])).permute(0, 3, 1, 2).contiguous()
    masks = torch.from_numpy(np.stack([s[2] for s in scenes]))
    bank = CounterfactualBank(images, torch.tensor([0, 1, 0, 1]), masks, torch.tensor([True, True, True, False]))
    unmasked = images[3:4].clone()
    assert bank.apply(torch.tensor([3]), unmasked, torch.Generator().manual_seed(0)) is unmasked
    batch = images[[0, 3]].clone()
    out = bank.apply(torch.tensor([0, 3]), batch, torch.Generator().manual_seed(0))
    assert out is not batch and torch.equal(batch, images[[0, 3]]) and not torch.equal(out[0], batch[0])


def _bank_of(n: int) -> tuple[CounterfactualBank, torch.Tensor, list]:
    scenes = [_scene(i, (200, 120, 40) if i % 2 == 0 else (40, 120, 200)) for i in range(n)]
    images = torch.from_numpy(np.stack([s[0] for s in scenes])).permute(0, 3, 1, 2).contiguous()
    masks = torch.from_numpy(np.stack([s[2] for s in scenes]))
    labels = torch.arange(n) % 2
    return CounterfactualBank(images, labels, masks, torch.ones(n, dtype=torch.bool)), images, scenes


def test_a_process_given_some_rows_of_a_batch_swaps_them_as_a_single_process_would():
    bank, images, _ = _bank_of(6)
    whole = bank.apply(torch.arange(6), images, torch.Generator().manual_seed(3))
    rows = torch.tensor([1, 4])
    mine = bank.apply(torch.arange(6), images[rows], torch.Generator().manual_seed(3), rows=rows)
    assert torch.equal(mine, whole[rows])
