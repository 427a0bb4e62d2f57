"""bench/data_path.py (`gradia bench --data`): both data paths measured on a small synthetic project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradia_desktop.bench.data_path import ChildPeaks
from gradia_desktop.cli import main


def test_the_data_bench_measures_both_paths(capsys):
    code = main(["bench", "--data", "--samples", "120", "--repeats", "2", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert [run["samples"] for run in result["runs"]] == [120]
    for run in result["runs"]:
        for mode in ("memory", "stream", "stream-workers"):
            m = run[mode]
            assert m["images"] == run["samples"] and m["images_per_s"] > 0 and m["peak_rss_mb"] > 0
            assert m["masked"] == -(-run["samples"] // 50)  # every 50th carries a mask
            assert len(m["images_per_s_runs"]) == 2
            assert m["images_per_s"] == pytest.approx(sum(m["images_per_s_runs"]) / 2, abs=0.1)  # the median of two
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


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc")
def test_a_worker_peak_is_the_workers_own_not_the_size_of_the_parent_it_was_forked_from():
    ballast = np.ones(300 << 20, np.uint8)  # the measuring process is large when the child starts
    grow = "import numpy, time; a = numpy.ones(120 << 20, numpy.uint8); time.sleep(0.3)"
    with ChildPeaks() as children:
        subprocess.run([sys.executable, "-c", grow], check=True)
    assert ballast[-1] == 1
    assert 120 <= children.peak_kb / 1024 < 300  # ru_maxrss of the children would say >= 300
