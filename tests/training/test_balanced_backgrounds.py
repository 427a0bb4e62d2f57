"""Balanced plates: over an epoch, every class's objects are seen as often in front of every class's backgrounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradia_desktop.training.counterfactual import CounterfactualBank

TINTS = ((200, 120, 40), (40, 120, 200), (40, 200, 120))


def _split(labels: list[int], masked: list[bool], size: int = 32):
    """Images of one flat tint per class with a dark square in the middle; masks on the square."""
    images = np.zeros((len(labels), size, size, 3), np.uint8)
    masks = np.zeros((len(labels), size, size), bool)
    for i, c in enumerate(labels):
        images[i] = TINTS[c]
        images[i, 10:22, 10:22] = 20
        masks[i, 8:24, 8:24] = True
    bank = CounterfactualBank(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.tensor(labels),
                              torch.from_numpy(masks), torch.tensor(masked))
    return bank, torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def _background_class(image: torch.Tensor) -> int:
    corner = image[:, :4, :4].float().mean(dim=(1, 2))
    return int(torch.argmin(((torch.tensor(TINTS, dtype=torch.float32) - corner) ** 2).sum(dim=1)))


def test_with_two_classes_the_swaps_favour_the_other_class_as_much_as_the_unswapped_images_favour_their_own():
    labels = [0, 1] * 10
    bank, _ = _split(labels, [True] * 8 + [False] * 12)
    order = torch.cat([torch.arange(8).repeat(4), torch.arange(8, 20)])  # 32 swaps and 12 unswapped, half of each a class
    bank.balance(order, torch.tensor(labels))
    # per class 16 swaps, 6 unswapped: p = (16 - 6) / (16 * 2)
    assert bank.same_class_share == {0: pytest.approx(10 / 32), 1: pytest.approx(10 / 32)}


def test_balanced_draws_show_each_class_s_objects_on_every_class_s_background_equally_often():
    labels = [0, 1, 2] * 12
    masked = [i < 24 for i in range(36)]
    bank, images = _split(labels, masked)
    order = torch.cat([torch.arange(24).repeat(3), torch.arange(24, 36)])  # 72 swaps, 12 unswapped
    bank.balance(order, torch.tensor(labels))
    generator = torch.Generator().manual_seed(0)
    seen = np.zeros((3, 3))  # object class x background class
    for _ in range(40):
        out = bank.apply(order, images[order], generator)
        for j, i in enumerate(order.tolist()):
            seen[labels[i], _background_class(out[j])] += 1
    shares = seen / seen.sum(axis=1, keepdims=True)
    assert np.allclose(shares, 1 / 3, atol=0.03), shares
    assert np.allclose(out[:, :, 10:22, 10:22], images[order][:, :, 10:22, 10:22])  # the objects stay


def test_where_the_unswapped_images_outweigh_the_swaps_no_swap_takes_its_own_class_s_background():
    labels = [0, 1, 2] * 4
    bank, images = _split(labels, [i < 3 for i in range(12)])
    order = torch.arange(12)
    bank.balance(order, torch.tensor(labels))
    assert bank.same_class_share == {0: 0.0, 1: 0.0, 2: 0.0}
    generator = torch.Generator().manual_seed(1)
    for _ in range(30):
        out = bank.apply(torch.arange(3), images[:3], generator)
        assert all(_background_class(out[j]) != labels[j] for j in range(3))


def test_without_a_second_class_of_plates_the_draw_stays_as_it_was():
    labels = [0, 0, 0, 1]
    bank, images = _split(labels, [True, True, True, False])
    bank.balance(torch.arange(4), torch.tensor(labels))
    assert bank.same_class_share is None
    plain, _ = _split(labels, [True, True, True, False])
    assert torch.equal(bank.apply(torch.arange(4), images, torch.Generator().manual_seed(2)),
                       plain.apply(torch.arange(4), images, torch.Generator().manual_seed(2)))
