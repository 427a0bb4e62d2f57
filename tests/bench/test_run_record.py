"""The efficacy suite's run record: a stopped suite goes on where it stopped, and nothing else is reused."""

from __future__ import annotations

import json

import pytest

from gradia_desktop.bench.efficacy import suite
from gradia_desktop.bench.efficacy.datasets import Cell
from gradia_desktop.bench.efficacy.run_record import RunRecord
from gradia_desktop.cli import main
from gradia_desktop.errors import GradiaError

CELLS = [Cell(counts=(6, 4, 4)), Cell(shortcut="mark", counts=(6, 4, 4))]


def test_recorded_pairs_are_reused_and_only_the_rest_run(tmp_path, monkeypatch):
    path = tmp_path / "runs.jsonl"
    first = suite.run_suite(CELLS[:1], seeds=1, epochs=(1, 1), record=RunRecord(path))
    assert len(path.read_text().splitlines()) == 2  # the header and one pair

    ran = []
    real = suite._run_task
    monkeypatch.setattr(suite, "_run_task", lambda cell, seed, *a, **k: ran.append((cell.name, seed)) or
                        real(cell, seed, *a, **k))
    both = suite.run_suite(CELLS, seeds=1, epochs=(1, 1), record=RunRecord(path))
    assert ran == [(CELLS[1].name, 0)]  # the recorded pair was not run again
    assert both[:len(first)] == first and len(both) == 2 * len(first)

    ran.clear()
    suite.run_suite(CELLS[:1], seeds=1, epochs=(1, 2), record=RunRecord(path))  # other settings: run again
    assert ran == [(CELLS[0].name, 0)]


def test_a_line_cut_short_runs_that_pair_again(tmp_path, monkeypatch):
    path = tmp_path / "runs.jsonl"
    suite.run_suite(CELLS[:1], seeds=1, epochs=(1, 1), record=RunRecord(path))
    path.write_text(path.read_text()[:-40])  # a crash in the middle of the last line
    assert RunRecord(path).done == {}
    rows = suite.run_suite(CELLS[:1], seeds=1, epochs=(1, 1), record=RunRecord(path))
    assert len(rows) == 4 and len(RunRecord(path).done) == 1
    assert all(json.loads(line) for line in path.read_text().splitlines()[2:])  # the new line starts afresh


def test_a_file_that_is_not_a_record_is_refused_and_kept(tmp_path):
    path = tmp_path / "notes-runs.jsonl"
    path.write_text("my own notes\n")
    with pytest.raises(GradiaError, match="not a run record"):
        RunRecord(path)
    assert path.read_text() == "my own notes\n"


@pytest.mark.heavy
def test_the_command_records_beside_its_output_and_fresh_starts_over(tmp_path, capsys):
    out = tmp_path / "efficacy.md"
    args = ["bench", "--efficacy", "--cells", "3", "--seeds", "1", "--quick", "--out", str(out), "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    record = tmp_path / "efficacy-runs.jsonl"
    assert len(record.read_text().splitlines()) == 2
    assert main(args) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["runs"] == first["runs"] and "reusing the runs recorded" in captured.err
    assert main(args + ["--fresh"]) == 0
    assert "reusing" not in capsys.readouterr().err and len(record.read_text().splitlines()) == 2


def test_a_pair_recorded_before_the_code_changed_runs_again(tmp_path, monkeypatch):
    path = tmp_path / "runs.jsonl"
    suite.run_suite(CELLS[:1], seeds=1, epochs=(1, 1), record=RunRecord(path))
    ran = []
    real = suite._run_task
    monkeypatch.setattr(suite, "_run_task", lambda cell, seed, *a, **k: ran.append(seed) or real(cell, seed, *a, **k))
    monkeypatch.setattr(suite, "code_signature", lambda: "another version of the training code")
    suite.run_suite(CELLS[:1], seeds=1, epochs=(1, 1), record=RunRecord(path))
    assert ran == [0]
