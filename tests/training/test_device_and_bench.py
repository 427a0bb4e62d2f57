"""Device choice and the step-cost benchmark (figures are reported, never asserted as timings)."""

from __future__ import annotations

import pytest
import torch

from gradia_desktop.errors import GradiaError
from gradia_desktop.training.bench import run_bench
from gradia_desktop.training.device import describe_devices, pick_device


def test_auto_picks_cuda_then_mps_then_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps"
    assert pick_device("auto").type == expected
    assert pick_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_missing_cuda_is_a_one_line_error():
    with pytest.raises(GradiaError, match="not available") as err:
        pick_device("cuda")
    assert "\n" not in str(err.value)


def test_unknown_device_is_an_error():
    with pytest.raises(GradiaError, match="unknown device 'tpu'"):
        pick_device("tpu")


def test_describe_devices_always_lists_the_cpu():
    assert describe_devices()[0]["name"] == "cpu"


def test_bench_reports_both_steps_and_cam_throughput():
    r = run_bench("tiny", 32, 4, "cpu", steps=2, warmup=1, reference=True)
    for key in ("plain_step_s", "gradia_step_s", "ratio", "cam_images_per_s", "reference_step_s"):
        assert r[key] > 0, key
    assert r["ratio"] == pytest.approx(r["gradia_step_s"] / r["plain_step_s"], rel=1e-2)
    assert r["device"] == "cpu" and r["cam_layer"] == "layer4"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bench_on_cuda():
    r = run_bench("resnet18", 224, 16, "cuda", steps=3, warmup=2)
    assert r["device"].startswith("cuda") and r["ratio"] > 0 and "gpu" in r


def test_device_label_names_what_auto_resolves_to():
    from gradia_desktop.training.device import device_label

    assert device_label("cpu") == "CPU"
    expected = "CUDA 0" if torch.cuda.is_available() else ("Apple MPS" if device_label("auto") == "Apple MPS" else "CPU")
    assert device_label("auto").startswith(expected)
