"""A run that streams its images from the pixel cache trains exactly as one that holds them in memory."""

from __future__ import annotations

import torch
from safetensors.torch import load_file

from gradia_desktop.training.config import TrainConfig
from gradia_desktop.training.trainer import Callbacks, train

FAST = dict(epochs=2, batch_size=4, image_size=32, device="cpu", seed=5)


class Log(Callbacks):
    def __init__(self):
        self.lines = []

    def log(self, message):
        self.lines.append(message)


def _weights(project, result):
    return load_file(str(project.root / project.version(result.version).checkpoint))


def test_streamed_and_in_memory_runs_give_the_same_weights_and_metrics(small_project):
    config = dict(mode="gradia-all", counterfactual=True, **FAST)
    memory = train(small_project, TrainConfig(data="memory", **config))
    log = Log()
    streamed = train(small_project, TrainConfig(data="stream", loader_workers=2, **config), log)
    assert any("pixel cache" in line for line in log.lines)
    a, b = _weights(small_project, memory), _weights(small_project, streamed)
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=1e-5)
    for x, y in zip(memory.epochs, streamed.epochs):
        assert abs(x.loss - y.loss) < 1e-5 and x.val_accuracy == y.val_accuracy
    assert memory.summaries["test"]["accuracy"] == streamed.summaries["test"]["accuracy"]
    assert [v.id for v in small_project.versions()] == [memory.version, streamed.version]
    scratch = small_project.root / "cache" / "scratch"
    assert scratch.is_dir() and not any(scratch.iterdir())  # the bank's scratch files went with the run
