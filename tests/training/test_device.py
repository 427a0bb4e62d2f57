"""Device choice: cuda > mps > cpu, one-line errors for devices that are not there, labels for people."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from gradia_desktop.errors import GradiaError
from gradia_desktop.training import device as device_module
from gradia_desktop.training.device import describe_devices, device_label, pick_device


def fake_machine(monkeypatch, cuda: int = 0, mps: bool = False):
    """Pretend this machine has ``cuda`` CUDA devices and (or not) Apple MPS."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda i: SimpleNamespace(name=f"Fake GPU {i}", total_memory=80 * 2**30))
    monkeypatch.setattr(device_module, "_mps_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, expected", [(0, False, "cpu"), (0, True, "mps"), (2, True, "cuda"), (1, False, "cuda")])
def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    fake_machine(monkeypatch, cuda=cuda, mps=mps)
    assert pick_device("auto").type == expected
    assert pick_device("cpu").type == "cpu"


def test_auto_on_this_machine_is_a_real_device():
    assert pick_device("auto").type in ("cuda", "mps", "cpu")


def test_missing_cuda_is_a_one_line_error(monkeypatch):
    fake_machine(monkeypatch, cuda=0)
    with pytest.raises(GradiaError, match="not available") as err:
        pick_device("cuda")
    assert "\n" not in str(err.value)


def test_a_cuda_index_past_the_last_device_is_an_error(monkeypatch):
    fake_machine(monkeypatch, cuda=2)
    assert pick_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(GradiaError, match="only 2 CUDA device"):
        pick_device("cuda:2")


def test_missing_mps_is_an_error(monkeypatch):
    fake_machine(monkeypatch, cuda=0, mps=False)
    with pytest.raises(GradiaError, match="no Apple MPS"):
        pick_device("mps")


def test_unknown_device_is_an_error():
    with pytest.raises(GradiaError, match="unknown device 'tpu'"):
        pick_device("tpu")


def test_describe_devices_lists_the_cpu_first_then_each_gpu(monkeypatch):
    assert describe_devices()[0]["name"] == "cpu"
    fake_machine(monkeypatch, cuda=2, mps=False)
    names = [d["name"] for d in describe_devices()]
    assert names == ["cpu", "cuda:0", "cuda:1"]
    assert describe_devices()[1] == {"name": "cuda:0", "label": "Fake GPU 0", "memory_gb": 80.0}


@pytest.mark.parametrize("cuda, mps, expected", [(0, False, "CPU"), (0, True, "Apple MPS"),
                                                 (1, True, "CUDA 0: Fake GPU 0 (80.0 GB)")])
def test_device_label_names_what_auto_resolves_to(monkeypatch, cuda, mps, expected):
    fake_machine(monkeypatch, cuda=cuda, mps=mps)
    assert device_label("auto") == expected
    assert device_label("cpu") == "CPU"
