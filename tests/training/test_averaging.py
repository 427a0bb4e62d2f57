"""training/averaging.py: the moving average of a run's weights, and fit() validating and saving it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradia_desktop.training import epoch_loop
from gradia_desktop.training.averaging import WARM_UP, WeightAverage, step_decay
from gradia_desktop.training.config import GUIDED_AVERAGE_EPOCHS, TrainConfig
from gradia_desktop.training.data import load_split
from gradia_desktop.training.epoch_loop import RunInputs, fit
from gradia_desktop.training.models import build_model, find_cam_layer, get_layer
from gradia_desktop.training.trainer import Callbacks


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def test_the_decay_gives_a_time_constant_of_the_named_epochs():
    assert step_decay(5, 20) == pytest.approx(0.99)
    assert step_decay(0.01, 3) == 0.0  # a time constant under one step: the last weights


def test_the_average_follows_each_step_with_the_warmed_up_decay():
    net = _net()
    first = net[0].weight.detach().clone()
    average = WeightAverage(net, decay=0.9)
    expected = first.clone()
    for step in range(1, 31):
        with torch.no_grad():
            net[0].weight.add_(1.0)
        average.update()
        keep = min(0.9, (1 + step) / (WARM_UP + step))
        expected = keep * expected + (1 - keep) * net[0].weight.detach()
    assert torch.allclose(average.average["0.weight"], expected, atol=1e-5)
    assert not torch.allclose(average.average["0.weight"], net[0].weight)  # lags the live weights


def test_batchnorm_statistics_are_averaged_and_its_counter_copied():
    net = _net()
    average = WeightAverage(net, decay=0.5)
    net.train()
    for _ in range(3):
        net(torch.randn(8, 3) * 5 + 3)
        average.update()
    assert average.average["1.num_batches_tracked"].item() == 3
    mean = average.average["1.running_mean"]
    assert not torch.equal(mean, torch.zeros(2)) and not torch.equal(mean, net[1].running_mean)


def test_swapping_puts_the_average_in_the_same_tensors_and_the_live_weights_back():
    net = _net()
    weight = net[0].weight
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    average = WeightAverage(net, decay=0.9)
    for _ in range(5):
        optimizer.zero_grad()
        net(torch.randn(4, 3)).sum().backward()
        optimizer.step()
        average.update()
    live = {k: v.clone() for k, v in net.state_dict().items()}
    average.swap_in()
    assert net[0].weight is weight and torch.equal(weight, average.average["0.weight"])
    average.swap_in()  # twice is once
    with pytest.raises(RuntimeError, match="swap_out"):
        average.update()
    average.swap_out()
    assert all(torch.equal(v, live[k]) for k, v in net.state_dict().items())
    assert optimizer.param_groups[0]["params"][0] is weight


def test_a_decay_outside_0_to_1_is_refused():
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(_net(), decay=1.0)


def test_guided_runs_average_by_default_and_the_paper_exact_modes_do_not():
    assert TrainConfig(mode="guided", parent=1).resolved().average_epochs == GUIDED_AVERAGE_EPOCHS
    assert TrainConfig(mode="gradia", parent=1).resolved().average_epochs == 0.0
    assert TrainConfig(mode="baseline").resolved().average_epochs == 0.0
    assert TrainConfig(mode="guided", parent=1, average_epochs=0).resolved().average_epochs == 0


def _fit(project, average_epochs, monkeypatch):
    made = []

    class Recorded(WeightAverage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(epoch_loop, "WeightAverage", Recorded)
    config = TrainConfig(mode="baseline", epochs=3, batch_size=8, image_size=32, device="cpu",
                         average_epochs=average_epochs)
    torch.manual_seed(0)
    model = build_model("tiny", len(project.classes))
    train_data, val_data = load_split(project, "train", 32), load_split(project, "val", 32)
    n = len(train_data)
    saved = []

    def save(epoch):
        average = made[0] if made else None
        saved.append((epoch, {k: v.clone() for k, v in model.state_dict().items()},
                      average and {k: v.clone() for k, v in average.average.items()}, average and average.live))

    fit(RunInputs(
        model=model, cam_layer=get_layer(model, find_cam_layer(model, 32)), config=config,
        device=torch.device("cpu"), train_data=train_data, val_data=val_data, mask_grids=torch.zeros((n, 4, 4)),
        w_pred=torch.ones(n), w_att=torch.zeros(n), counterfactuals=None, generator=torch.Generator().manual_seed(0),
        callbacks=Callbacks(), save_checkpoint=save, record_epoch=lambda m: None))
    return made, saved


def test_fit_validates_and_saves_the_average_and_trains_on_from_the_live_weights(small_project, monkeypatch):
    made, saved = _fit(small_project, 2.0, monkeypatch)
    assert len(made) == 1
    batches = -(-len(small_project.samples(split="train")) // 8)
    assert made[0].decay == pytest.approx(step_decay(2.0, batches)) and made[0].steps == 3 * batches
    assert [e for e, *_ in saved] == [1, 2, 3]
    for _, state, average, live in saved:
        assert live is not None  # the live weights were set aside while the average was saved
        assert all(torch.equal(state[k], average[k]) for k in state)
        assert any(not torch.equal(state[k], live[k]) for k in state if state[k].is_floating_point())


def test_fit_without_averaging_saves_the_live_weights(small_project, monkeypatch):
    made, saved = _fit(small_project, 0.0, monkeypatch)
    assert made == [] and [e for e, *_ in saved] == [1, 2, 3]
    assert all(average is None for _, _, average, _ in saved)
