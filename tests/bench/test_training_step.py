"""The step-cost benchmark behind `gradia bench` (figures are reported, never asserted as timings)."""

from __future__ import annotations

import pytest
import torch

from gradia_desktop.bench.training_step import run_bench


def test_bench_reports_both_steps_and_cam_throughput():
    r = run_bench("tiny", 32, 4, "cpu", steps=2, warmup=1, reference=True)
    for key in ("plain_step_s", "gradia_step_s", "ratio", "cam_images_per_s", "reference_step_s"):
        assert r[key] > 0, key
    assert r["ratio"] == pytest.approx(r["gradia_step_s"] / r["plain_step_s"], rel=1e-2)
    assert r["device"] == "cpu" and r["cam_layer"] == "layer4"


def test_bench_times_the_compiled_steps_that_train_compile_runs(monkeypatch):
    from gradia_desktop.training import trainer

    monkeypatch.setattr(trainer, "COMPILE_BACKEND", "aot_eager")
    r = run_bench("tiny", 32, 4, "cpu", steps=1, warmup=1, compile=True)
    assert r["compiled"] and r["plain_step_s"] > 0 and r["gradia_step_s"] > 0


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bench_on_cuda():
    r = run_bench("resnet18", 224, 16, "cuda", steps=3, warmup=2)
    assert r["device"].startswith("cuda") and r["ratio"] > 0 and "gpu" in r
