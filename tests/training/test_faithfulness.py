"""training/faithfulness.py: deletion and insertion AUC follow what the model really uses."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gradia_desktop.training.faithfulness import _auc, _curves, blurred, measure_faithfulness


class LooksTopLeft(nn.Module):
    """Decides by the texture of the top-left quarter only (what a faithful map must point at): much
    detail there is class 0."""

    def forward(self, x):
        s = (x[:, :, :16, :16].std(dim=(1, 2, 3)) - 0.5) * 10
        return torch.stack([s, -s], dim=1)


def test_a_map_on_the_evidence_deletes_fast_and_inserts_fast_a_map_elsewhere_does_not():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 32, 32) * 0.2
    x[:, :, :16, :16] = torch.randn(4, 3, 16, 16)  # a strong texture where the model looks: class 0
    model = LooksTopLeft()
    on = torch.zeros(4, 32, 32)
    on[:, :16, :16] = 1
    target = torch.zeros(4, dtype=torch.long)
    with torch.no_grad():
        del_on, ins_on = _curves(model, x, on + 0.01 * torch.rand(4, 32, 32), target, 16, torch.device("cpu"))
        del_off, ins_off = _curves(model, x, (1 - on) + 0.01 * torch.rand(4, 32, 32), target, 16, torch.device("cpu"))
    assert bool((_auc(del_on) < _auc(del_off) - 0.2).all())
    assert bool((_auc(ins_on) > _auc(ins_off) + 0.2).all())
    # every curve starts from the whole image (deletion) or the removed one (insertion) and ends at the other
    torch.testing.assert_close(del_on[:, 0], ins_on[:, -1])
    torch.testing.assert_close(del_on[:, -1], ins_on[:, 0])


def test_the_removed_image_keeps_the_colours_and_drops_the_detail():
    x = torch.rand(2, 3, 48, 48)
    x[:, 0] += 1.0
    soft = blurred(x)
    torch.testing.assert_close(soft.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=0.03, rtol=0)
    assert float(soft.std(dim=(2, 3)).max()) < 0.25 * float(x.std(dim=(2, 3)).min())


def test_a_splits_faithfulness_is_measured_per_image(small_project):
    from gradia_desktop.training.config import TrainConfig
    from gradia_desktop.training.data import load_split
    from gradia_desktop.training.explain import Explainer
    from gradia_desktop.training.trainer import train

    result = train(small_project, TrainConfig(epochs=1, batch_size=8, image_size=32, device="cpu"))
    explainer = Explainer(small_project, small_project.version(result.version))
    data = load_split(small_project, "val", 32)
    done = measure_faithfulness(explainer.model, explainer.layer, data, torch.device("cpu"), steps=8, batch_size=3)
    assert done.deletion.shape == done.insertion.shape == (len(data),)
    assert ((0 <= done.deletion) & (done.deletion <= 1) & (0 <= done.insertion) & (done.insertion <= 1)).all()
    again = measure_faithfulness(explainer.model, explainer.layer, data, torch.device("cpu"), steps=8, batch_size=5)
    np.testing.assert_allclose(again.deletion, done.deletion, atol=1e-5)  # batching changes nothing
    assert set(done.means()) == {"deletion_auc", "insertion_auc"}
