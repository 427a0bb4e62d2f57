"""training/mask_propagation.py and its place in a guided run: which proposals are taken, when they are
made, and how an epoch is drawn once the bank holds most of the training images."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from gradia_desktop.training import mask_propagation
from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.epoch_loop import _epoch_order, propagation_epochs
from gradia_desktop.training.mask_propagation import propose_masks
from gradia_desktop.training.trainer import Callbacks, train


def test_a_proposal_is_taken_only_where_the_model_is_right_and_its_cam_region_is_compact(monkeypatch):
    size = 16
    cams = torch.zeros(4, size, size)
    cams[0, 4:8, 4:8] = 1.0  # right, compact: taken
    cams[1, 4:8, 4:8] = 1.0  # compact but the model predicts the other class
    cams[2] = 1.0  # right but everywhere
    cams[3, 0, 0] = 1.0  # right but a single pixel
    labels = torch.tensor([0, 1, 0, 1])
    logits = torch.tensor([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [0.0, 2.0]])

    def fake_cam(model, layer, x, targets, out_size):
        assert torch.equal(targets.cpu(), labels[: len(x)]) and out_size == (size, size)  # the true class's CAM
        return logits[: len(x)], None, cams[: len(x)]

    monkeypatch.setattr(mask_propagation, "inference_cam", fake_cam)
    data = SimpleNamespace(images=torch.zeros(4, 3, size, size, dtype=torch.uint8), labels=labels)
    model = torch.nn.Linear(1, 1)
    out = propose_masks(model, None, data, torch.arange(4), torch.device("cpu"))
    assert list(out) == [0]
    assert out[0].dtype == bool and out[0].sum() == 16 and out[0][4:8, 4:8].all()
    assert model.training  # the model is put back as it was


def test_proposals_are_made_a_third_and_two_thirds_of_the_way_through_a_run():
    on = TrainConfig(mode="guided", epochs=30).resolved()
    assert propagation_epochs(on) == (11, 21)
    assert propagation_epochs(TrainConfig(mode="guided", epochs=2).resolved()) == ()
    assert propagation_epochs(TrainConfig(mode="guided", epochs=30, propagate_masks=False).resolved()) == ()
    assert propagation_epochs(TrainConfig(mode="gradia-all", epochs=30).resolved()) == ()


class Bank(SimpleNamespace):
    def __init__(self, index):
        super().__init__(index=index)

    def __len__(self):
        return len(self.index)


def test_images_left_without_a_swapped_background_are_never_drawn_more_than_in_a_plain_epoch():
    n, generator = 100, torch.Generator().manual_seed(0)
    counts = torch.zeros(n)
    for banked, share in ((10, 0.8), (70, 0.8), (95, 0.5)):
        bank = Bank(torch.arange(banked))
        counts.zero_()
        for _ in range(200):
            counts += torch.bincount(_epoch_order(n, bank, share, generator), minlength=n)
        per_epoch = counts / 200
        assert per_epoch[banked:].mean() <= 1.05  # at most once per epoch on average
        assert per_epoch[:banked].sum() >= min(share * n, banked) * 0.95  # the bank still gets its share


class Log(Callbacks):
    def __init__(self):
        self.lines = []

    def log(self, message):
        self.lines.append(message)


def test_a_guided_run_proposes_masks_for_its_unmasked_images_and_says_so(small_project):
    log = Log()
    base = train(small_project, TrainConfig(epochs=1, batch_size=8, image_size=32, device="cpu"))
    train(small_project, TrainConfig(mode="guided", parent=base.version, epochs=4, batch_size=8, device="cpu"), log)
    unmasked = sum(1 for s in small_project.samples(split="train") if not s.has_mask)
    proposed = [line for line in log.lines if line.startswith("proposed masks for")]
    assert len(proposed) == 2  # before epochs 2 and 3
    assert proposed[0].split()[5] == str(unmasked)  # "proposed masks for K of N unmasked ..."
    off = Log()
    train(small_project, TrainConfig(mode="guided", parent=base.version, epochs=4, batch_size=8, device="cpu",
                                     propagate_masks=False), off)
    assert not any(line.startswith("proposed masks") for line in off.lines)
