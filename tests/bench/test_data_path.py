"""bench/data_path.py (`gradia bench --data`): both data paths measured on a small synthetic project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradia_desktop.bench import data_path
from gradia_desktop.bench.data_path import ChildPeaks
from gradia_desktop.cli import main


def test_the_data_bench_measures_both_paths(capsys):
    code = main(["bench", "--data", "--samples", "120", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert [run["samples"] for run in result["runs"]] == [120]
    for run in result["runs"]:
        for mode in ("memory", "stream", "stream-workers"):
            m = run[mode]
            assert m["images"] == run["samples"] and m["images_per_s"] > 0 and m["peak_rss_mb"] > 0
            assert m["masked"] == -(-run["samples"] // 50)  # every 50th carries a mask
            assert m["images_per_s_runs"] == [m["images_per_s"]]
        assert run["stream-workers"]["workers"] >= 1 and run["cache_build_s"] > 0
        assert run["memory"]["workers"] == run["stream"]["workers"] == 0
    assert "stream_rss_growth" not in result  # a ratio needs two sizes
    assert "writing synthetic photographs" in err


def test_the_data_bench_refuses_tiny_and_malformed_sizes(capsys):
    assert main(["bench", "--data", "--samples", "50"]) == 2
    assert "at least 100" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--data", "--samples", "2000,lots"])
    assert "numbers separated by commas" in capsys.readouterr().err


def test_rounds_take_every_path_in_turn_and_report_the_median_pace_and_highest_peak(monkeypatch):
    calls = []
    paces = iter([700, 500, 300, 600, 800, 200, 650, 450, 100])

    def fake_measure(_project_dir, mode):
        calls.append(mode)
        peak = 100.0 * len(calls)
        return {"mode": mode, "images_per_s": next(paces), "peak_rss_mb": peak, "worker_peak_rss_mb": 0.0,
                "total_peak_rss_mb": peak}

    monkeypatch.setattr(data_path, "_measure", fake_measure)
    monkeypatch.setattr(data_path, "_build_cache", lambda _project_dir: 0.0)
    run = data_path.run_data_bench([100], repeats=3)["runs"][0]
    assert calls == list(data_path.MODES) * 3
    assert run["memory"]["images_per_s_runs"] == [700, 600, 650] and run["memory"]["images_per_s"] == 650
    assert run["stream"]["images_per_s_runs"] == [500, 800, 450] and run["stream"]["images_per_s"] == 500
    assert run["stream"]["total_peak_rss_mb"] == 800.0


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc")
def test_a_worker_peak_is_the_workers_own_not_the_size_of_the_parent_it_was_forked_from():
    ballast = np.ones(300 << 20, np.uint8)  # the measuring process is large when the child starts
    grow = "import numpy, time; a = numpy.ones(120 << 20, numpy.uint8); time.sleep(0.3)"
    with ChildPeaks() as children:
        subprocess.run([sys.executable, "-c", grow], check=True)
    assert ballast[-1] == 1
    assert 120 <= children.peak_kb / 1024 < 300  # ru_maxrss of the children would say >= 300
