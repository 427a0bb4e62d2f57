"""Counterfactual backgrounds: tight object regions inside loose masks, clean plates, swapped batches."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from gradia_desktop.core.demo import loose_mask
from gradia_desktop.training import counterfactual
from gradia_desktop.training.counterfactual import (MOSAIC_TILES, CounterfactualBank, _mosaic, background_plate,
                                                    drop_background_colours, object_region, tighten_mask)


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


def _faint_letter(seed: int, size: int = 64):
    """A grey "B" of 3-pixel strokes, faint against a noisy blue background, with a loose mask over it."""
    rng = np.random.default_rng(seed)
    rgb = np.clip(np.array((60, 90, 200), np.float32) + rng.normal(0, 14, (size, size, 3)), 0, 255)
    exact = np.zeros((size, size), np.uint8)
    cv2.putText(exact, "B", (18, 46), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 1, 3)
    rgb[exact > 0] = np.clip(120 + rng.normal(0, 14, (int(exact.sum()), 3)), 0, 255)
    return rgb.astype(np.uint8), exact.astype(bool), loose_mask(rng, exact.astype(bool))


def test_object_region_leaves_out_a_letters_counters():
    """GrabCut's smoothness fills the two holes of a "B" with the object; their blue is background,
    and kept it would carry the background's cue into every counterfactual."""
    for seed in range(3):
        rgb, exact, loose = _faint_letter(seed)
        assert (tighten_mask(rgb, loose) & ~exact).sum() >= 40  # the cut alone keeps the counters
        keep = object_region(rgb, loose) > 0
        assert (keep & ~exact).sum() <= 6
        assert (keep & exact).sum() >= 0.97 * exact.sum()


def test_drop_background_colours_keeps_the_region_when_colours_do_not_separate():
    rng = np.random.default_rng(0)
    rgb = np.clip(128 + rng.normal(0, 20, (64, 64, 3)), 0, 255).astype(np.uint8)  # object and background alike
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    keep = mask.copy()
    keep[16:20] = False
    assert (drop_background_colours(rgb, mask, keep) == keep).all()
    rgb[28:36, 28:36] = 30  # a small dark spot in a kept region that otherwise is the background itself
    assert (drop_background_colours(rgb, mask, keep) == keep).all()  # its own model explains it as well


def test_drop_background_colours_never_takes_more_than_half_of_the_region(monkeypatch):
    rgb, exact, loose = _faint_letter(0)
    keep = tighten_mask(rgb, loose)
    monkeypatch.setattr(counterfactual, "BACKGROUND_MARGIN", -1e9)  # every pixel "looks like background"
    assert (drop_background_colours(rgb, loose, keep) == keep).all()


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


def test_a_mosaic_plate_takes_whole_tiles_from_each_plate_the_second_at_the_first_s_mean_colour():
    plate = torch.full((3, 64, 64), 100.0) + torch.arange(64.0)  # a ramp: two plates never agree by chance
    other = torch.stack([torch.full((64, 64), v) for v in (30.0, 60.0, 90.0)]) + torch.rand(3, 64, 64) * 4
    tiles = torch.zeros(MOSAIC_TILES, MOSAIC_TILES, dtype=torch.bool)
    tiles[0, 0] = tiles[2, 1] = True
    out = _mosaic(plate, other, tiles)
    side = 64 // MOSAIC_TILES
    assert torch.equal(out[:, :side, :side], plate[:, :side, :side])
    assert torch.equal(out[:, 2 * side:3 * side, side:2 * side], plate[:, 2 * side:3 * side, side:2 * side])
    shifted = other - other.mean(dim=(1, 2), keepdim=True) + plate.mean(dim=(1, 2), keepdim=True)
    assert torch.allclose(out[:, side:, 2 * side:], shifted[:, side:, 2 * side:])
    assert abs(float(out[:, :, 2 * side:].mean()) - float(plate.mean())) < 8  # no tile another brightness


def _source_plate(tile: torch.Tensor, plates: list[torch.Tensor], box: tuple[slice, slice]) -> int | None:
    """Which plate (either way round) ``tile`` was cut from, up to a constant colour shift."""
    for p, plate in enumerate(plates):
        for candidate in (plate, plate.flip(-1)):
            offset = tile.float() - candidate[:, box[0], box[1]].float()
            if float((offset - offset.mean(dim=(1, 2), keepdim=True)).abs().max()) <= 1.0:  # rounding only
                return p
    return None


def test_with_a_mosaic_share_the_background_is_cut_from_two_plates_and_the_object_stays():
    bank, images, _ = _bank_of(6)
    bank.mosaic_share = 1.0
    mixed = bank.apply(torch.arange(6), images, torch.Generator().manual_seed(1))
    plates = [torch.as_tensor(bank.plates[p]) for p in range(len(bank.plates))]
    side, two_sources = 64 // MOSAIC_TILES, 0
    for i in range(6):
        keep = torch.as_tensor(bank.keep[i]).bool().reshape(64, 64)
        assert torch.equal(mixed[i][:, keep], images[i][:, keep])  # the object itself is never touched
        sources = set()
        for ty in range(MOSAIC_TILES):
            for tx in range(MOSAIC_TILES):
                box = (slice(ty * side, (ty + 1) * side), slice(tx * side, (tx + 1) * side))
                if keep[box].any():
                    continue
                source = _source_plate(mixed[i][:, box[0], box[1]], plates, box)
                assert source is not None and source != i  # whole tiles of other images' plates
                sources.add(source)
        two_sources += len(sources) >= 2
    assert two_sources >= 3  # a mosaic is drawn from two plates (the second may repeat the first)


def test_mosaic_draws_keep_processes_in_step_and_a_share_of_0_draws_nothing_more():
    bank, images, _ = _bank_of(6)
    bank.mosaic_share = 0.5
    whole = bank.apply(torch.arange(6), images, torch.Generator().manual_seed(3))
    rows = torch.tensor([1, 4])
    mine = bank.apply(torch.arange(6), images[rows], torch.Generator().manual_seed(3), rows=rows)
    assert torch.equal(mine, whole[rows])
    bank.mosaic_share = 0.0
    generator = torch.Generator().manual_seed(3)
    bank.apply(torch.arange(6), images, generator)
    assert int(torch.randint(10**9, (1,), generator=generator)) == _after_plain_draws(6, 3)


def _after_plain_draws(n: int, seed: int) -> int:
    """The next draw after a plain swap of ``n`` masked images: a donor and a flip each."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(n):
        torch.randint(n - 1, (1,), generator=generator)
        torch.rand(1, generator=generator)
    return int(torch.randint(10**9, (1,), generator=generator))
