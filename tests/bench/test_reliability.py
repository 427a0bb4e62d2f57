"""The reliability harness (gradia_desktop/bench/reliability) on the product, with few trials; the
200-kill runs are marked slow. `gradia bench --reliability --trials 200 --out docs/RELIABILITY.md`
runs the same functions and writes the document.

The first group checks the harness itself: that each judge says "fail" where it must (a harness
that cannot fail proves nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from gradia_desktop.bench.reliability import report as report_module
from gradia_desktop.bench.reliability.corpus import REFUSAL, KINDS, Expected, check_loaded, kind_by_name, skip_reason
from gradia_desktop.bench.reliability.crash_trials import (
    CrashSummary,
    Operation,
    State,
    TrialResult,
    allowed_values,
    compare,
    run_mask_trials,
)
from gradia_desktop.bench.reliability.damage import DAMAGES, HOSTILE_IMPORTS
from gradia_desktop.bench.reliability.damage_probes import permission_bound_prefix, run_damage_probes
from gradia_desktop.bench.reliability.hostile_runs import INIT, MASK_KIND, STRICT_INIT, CorpusJudge, run_hostile_corpus
from gradia_desktop.bench.reliability.probe_rows import ProbeRow, ProbeSummary
from gradia_desktop.bench.reliability.process_kills import run_export_trials, run_training_trials
from gradia_desktop.bench.reliability.step_runner import StepOutcome, classify
from gradia_desktop.cli import main


def _failures(summary) -> str:
    if isinstance(summary, CrashSummary):
        return "\n".join(f"kill after {t.delay_s:.3f}s: {f}" for t in summary.failed for f in t.failures)
    return "\n".join(f"{r.subject} / {r.stage} (item {r.item}): {r.status}: {r.detail}" for r in summary.failed)


# ---- the judges can fail ------------------------------------------------------------------------
def test_a_mask_that_was_never_announced_is_caught():
    ops = [Operation(1, "mask", 5, "aaa"), Operation(2, "mask", 5, "bbb"), Operation(3, "mask", 5, "ccc")]
    assert allowed_values("old", ops, acked={2}) == {"bbb", "ccc"}  # acknowledged, or in flight after it
    assert allowed_values("old", ops, acked=set()) == {"old", "aaa", "bbb", "ccc"}
    before = State({5: "old"}, {5: "none"})
    assert compare(before, State({5: "ccc"}, {5: "none"}), ops, {2}) == []
    assert compare(before, State({5: "aaa"}, {5: "none"}), ops, {2})  # older than the acknowledged one: lost write
    assert compare(before, State({5: "old"}, {5: "1"}), ops, set())  # a judgement nobody made


def test_only_a_one_line_refusal_counts_as_refused():
    step = {"op": "cli", "argv": ["init", "x"]}
    assert classify(step, {"code": 2, "stderr": "gradia init: error: x: bad\n"})[0] == "refused"
    assert classify(step, {"code": 2, "stderr": "Traceback (most recent call last):\ngradia init: error: x\n"})[0] \
        == "messy refusal"
    assert classify(step, {"code": 2, "stderr": "gradia init: error: a\ngradia init: error: b\n"})[0] == "messy refusal"
    assert classify(step, {"error": "traceback", "message": "ValueError: boom"})[0] == "traceback"
    assert classify(step, {"code": 1, "stderr": "oops\n"})[0] == "failed"
    assert classify({"op": "load"}, {"code": 0, "problem": "loaded as 56x32"})[0] == "wrong load"


def _outcome(status, stderr="", detail=""):
    return StepOutcome({}, status, detail, raw={"stderr": stderr})


def test_init_judges_catch_a_blocked_folder_a_silent_leave_out_and_a_lax_strict():
    """A plain init must never be blocked by one file, must name what it leaves out, and must leave out
    what only a refusal fits; --strict must refuse, naming the file, exactly where init left it out."""
    bad, good = kind_by_name("truncated PNG"), kind_by_name("WebP")  # only a refusal is right / either
    warned = _outcome("handled", f"gradia init: warning: left out /x/{bad.file_name}: not a readable image\n")
    strict_refusal = _outcome("refused", f"gradia init: /x/{bad.file_name}: not a readable image\n"
                                         "gradia init: error: /x: 1 entry not images or not readable\n")

    def rows(kind, *stages):
        judge = CorpusJudge()
        return [judge(kind, kind.name, kind.item, stage, outcome, kind.outcomes == REFUSAL).ok
                for stage, outcome in stages]

    assert rows(bad, (INIT, warned), ("load after init", _outcome("left out")), (STRICT_INIT, strict_refusal)) \
        == [True, True, True]
    assert rows(bad, (INIT, _outcome("refused", detail="gradia init: error: x"))) == [False]  # one file blocked all
    assert rows(bad, (INIT, _outcome("handled"))) == [False]  # taken where only a refusal is right
    assert rows(bad, (INIT, warned), (STRICT_INIT, _outcome("handled"))) == [True, False]  # strict let it through
    assert rows(bad, (INIT, warned), (STRICT_INIT, _outcome("refused", "gradia init: error: /x: 1 entry\n"))) \
        == [True, False]  # refused without naming the file
    assert rows(good, (INIT, _outcome("handled")), ("load after init", _outcome("left out"))) \
        == [True, False]  # left out without a warning
    assert rows(good, (INIT, _outcome("handled")), (STRICT_INIT, strict_refusal)) == [True, False]
    assert classify({"op": "load"}, {"code": 0, "left_out": True})[0] == "left out"


def test_silent_alterations_are_caught_by_the_load_check():
    truth = np.arange(24 * 32 * 3, dtype=np.uint8).reshape(24, 32, 3) // 4 + 40
    expected = Expected(truth.shape, truth, tolerance=1.0)
    assert check_loaded(expected, truth) is None
    stretched = ((truth - truth.min()) * (255 / (truth.max() - truth.min()))).astype(np.uint8)  # min-max "normalised"
    assert "differ" in check_loaded(expected, stretched)
    assert "expected" in check_loaded(expected, np.ascontiguousarray(np.rot90(truth)))  # EXIF ignored
    assert "only a refusal" in check_loaded(None, truth)


def test_the_report_names_the_command_the_machine_and_every_failure():
    crash = CrashSummary("mask save / clear / judgement", [TrialResult(0.01, 3, 1, failures=["sample 2: lost"])],
                         True, 1.0)
    probes = ProbeSummary("hostile images", [ProbeRow("FIFO named .png", "6", "init", "hang", "no answer", False),
                                             ProbeRow("WebP", "12", "init", "handled", "", True)])
    result = report_module.Reliability(1, [crash], [probes], 2.0)
    text = report_module.markdown(result, "gradia bench --reliability --trials 1")
    assert "`gradia bench --reliability --trials 1`" in text.splitlines()[2]
    assert "CPU cores" in text and "2 failures" in text and "| 1 | mask saved under the wrong sample" in text
    assert "sample 2: lost" in text and "FIFO named .png / init (item 6): hang" in text
    assert "| 3, 8, 11 | mask save / clear / judgement killed at random | kill trials | 1 | 0 of 1 passed |" in text
    assert "| 6 | FIFO hangs, /dev/zero, link loops | 1 input or situation | 1 | 0 of 1 passed |" in text
    assert "| 12 | silent alterations and unreadable files | 1 input or situation | 1 | 1 of 1 passed |" in text


def test_gradia_bench_reliability_writes_the_document(tmp_path, monkeypatch, capsys):
    """The CLI mode's wiring (the harness itself is replaced by a stub here: it is tested below)."""
    calls = []

    def fake_run(trials, workdir, progress):
        calls.append(trials)
        return report_module.Reliability(trials, [], [ProbeSummary("hostile images", [
            ProbeRow("WebP", "12", "init", "handled", "", True)])], 0.5)

    monkeypatch.setattr(report_module, "run_reliability", fake_run)
    out = tmp_path / "RELIABILITY.md"
    assert main(["bench", "--reliability", "--trials", "7", "--out", str(out), "--json"]) == 0
    assert calls == [7]
    text = out.read_text()
    assert f"gradia bench --reliability --trials 7 --out {out.as_posix()}" in text and "No failures" in text
    assert '"failures": []' in capsys.readouterr().out
    assert main(["bench", "--reliability", "--trials", "0"]) == 2


# ---- the product under the harness --------------------------------------------------------------
def _mask_trials(tmp_path, trials):
    summary = run_mask_trials(tmp_path, trials, seed=11)
    assert summary.check_available, "core.project_check is missing: the integrity part was not checked"
    assert not summary.failed, _failures(summary)
    assert sum(t.killed for t in summary.trials) >= trials * 0.8  # the kills landed while it worked
    assert sum(t.unacknowledged > 0 for t in summary.trials) >= trials // 3  # ... and with writes in flight


def test_mask_saves_clears_and_judgements_survive_random_kills(tmp_path):
    _mask_trials(tmp_path, 25)


@pytest.mark.heavy
def test_mask_saves_clears_and_judgements_survive_200_random_kills(tmp_path):
    _mask_trials(tmp_path, 200)


@pytest.mark.parametrize("trials", [3, pytest.param(10, marks=pytest.mark.heavy)])
def test_training_killed_at_random_leaves_a_sound_project(tmp_path, trials):
    summary = run_training_trials(tmp_path, trials, seed=5)
    assert summary.check_available and not summary.failed, _failures(summary)


@pytest.mark.parametrize("trials", [4, pytest.param(20, marks=pytest.mark.slow)])
def test_export_killed_at_random_leaves_nothing_half_made(tmp_path, trials):
    summary = run_export_trials(tmp_path, trials, seed=5)
    assert not summary.failed, _failures(summary)


def test_hostile_images_are_handled_or_refused_in_one_line(tmp_path):
    summary = run_hostile_corpus(tmp_path)
    assert not summary.failed, _failures(summary)
    expected = {k.name for k in KINDS if skip_reason(k) is None} | {MASK_KIND}
    assert {r.subject for r in summary.rows} == expected


def test_damaged_locked_and_full_projects_and_hostile_imports(tmp_path):
    summary = run_damage_probes(tmp_path)
    assert not summary.failed, _failures(summary)
    subjects = {r.subject for r in summary.rows}
    assert set(DAMAGES) <= subjects and {f"COCO import: {name}" for name in HOSTILE_IMPORTS} <= subjects
    assert {"8", "10"} <= {r.item for r in summary.rows}
    if permission_bound_prefix() is not None:  # as root, only where setpriv can take root's bypass away
        assert {r.stage for r in summary.rows if r.item == "4"} == {"open", "eval", "export", "check"}
