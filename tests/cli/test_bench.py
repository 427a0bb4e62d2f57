"""`gradia bench` in each of its modes: the step cost, the GUI figures, GUI latency while training and
the export speed (figures are reported, never asserted as timings)."""

from __future__ import annotations

import json

import pytest

from .cli_run import run


def test_bench_json_has_the_documented_keys(capsys):
    code, out, err = run(capsys, "bench", "--arch", "tiny", "--image-size", 32, "--batch-size", 4, "--steps", 2,
                         "--device", "cpu", "--json")
    assert code == 0
    result = json.loads(out)
    assert {"plain_step_s", "gradia_step_s", "ratio", "cam_images_per_s", "device"} <= set(result)
    assert "benchmark steps" in err


def test_bench_gui_reports_the_workspace_figures(capsys):
    code, out, _ = run(capsys, "bench", "--gui", "--samples", 60, "--json", "--quiet")
    assert code == 0
    result = json.loads(out)
    for key in ("brush_p95_ms_4096_full_repaint", "switch_ms_1024_median", "open_to_first_paint_s",
                "max_gui_stall_ms_scrolling_with_thumbnails"):
        assert result[key] > 0, key
    assert result["project_samples"] == 60


def test_bench_export_on_a_few_masks(capsys):
    code, out, err = run(capsys, "bench", "--export", "--samples", 20, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["samples"] == 20 and r["png_s"] > 0 and r["coco_s"] > 0 and r["size"] == "512x512"


@pytest.mark.heavy
def test_bench_training_reports_gui_latency_and_the_evaluation_share(capsys):
    code, out, err = run(capsys, "bench", "--training", "--epochs", 1, "--device", "cpu", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["epochs"] == 1 and r["device"] == "cpu" and r["probes"] > 0
    assert 0 < r["gui_latency_ms_p50"] <= r["gui_latency_ms_p99"] <= r["gui_latency_ms_max"]
    assert 0 < r["eval_and_refresh_share"] < 1
    assert "GRADIA run with the GUI open" in err
