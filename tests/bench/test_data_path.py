"""bench/data_path.py (`gradia bench --data`): both data paths measured on a small synthetic project."""

from __future__ import annotations

import json

import pytest

from gradia_desktop.cli import main


def test_the_data_bench_measures_both_paths(capsys):
    code = main(["bench", "--data", "--samples", "120", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert [run["samples"] for run in result["runs"]] == [120]
    for run in result["runs"]:
        for mode in ("memory", "stream"):
            m = run[mode]
            assert m["images"] == run["samples"] and m["images_per_s"] > 0 and m["peak_rss_mb"] > 0
            assert m["masked"] == -(-run["samples"] // 50)  # every 50th carries a mask
        assert run["stream"]["workers"] >= 1 and run["memory"]["workers"] == 0 and run["cache_build_s"] > 0
    assert "stream_rss_growth" not in result  # a ratio needs two sizes
    assert "writing synthetic photographs" in err


def test_the_data_bench_refuses_tiny_and_malformed_sizes(capsys):
    assert main(["bench", "--data", "--samples", "50"]) == 2
    assert "at least 100" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--data", "--samples", "2000,lots"])
    assert "numbers separated by commas" in capsys.readouterr().err
