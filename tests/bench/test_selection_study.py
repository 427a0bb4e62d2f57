"""The selection study: per-epoch test accuracy of one run, and what each rule's pick scores on it."""

from __future__ import annotations

import json

from gradia_desktop.bench.efficacy.selection_study import RULES, markdown
from gradia_desktop.cli import main
from gradia_desktop.core.training_metrics import EpochMetrics


def _epoch(epoch: int, val: float, cf: float) -> EpochMetrics:
    return EpochMetrics(epoch=epoch, loss=1.0, ce=1.0, attention=0.0, train_accuracy=0.5, val_accuracy=val,
                        val_iou=None, val_energy=0.3, val_pointing=None, seconds=1.0, val_masked_accuracy=val,
                        val_counterfactual_accuracy=cf)


def test_the_rules_differ_where_an_early_epoch_reads_the_shortcut():
    epochs = [_epoch(1, 1.00, 0.10), _epoch(2, 0.99, 0.40), _epoch(3, 0.85, 0.90), _epoch(4, 0.80, 0.80)]
    pick = {name: rule(epochs, 2) for name, rule in RULES.items()}
    assert pick["current rule"] == 3  # (0.85 + 0.90) / 2
    assert pick["2026-12-05: lower of val and CF val"] == 3  # 0.85
    assert pick["before 2026-12: CF within 0.05 of best val"] == 2  # 1 and 2 lie within 0.05
    assert pick["CF within 0.15 of best val"] == 3
    assert pick["worse of masked val and its copies"] == 3 and pick["mean of val and CF val"] == 3
    assert pick["validation accuracy"] == 1 and pick["last epoch"] == 4
    # The last epoch's estimate, (0.80 + 0.80) / 2, lies 0.075 below epoch 3's: the best stays.
    assert pick["averaged runs' rule: last epoch unless 0.05 below the best"] == 3


def test_only_the_current_rule_passes_over_an_epoch_that_learnt_nothing():
    epochs = [_epoch(1, 0.50, 0.50), _epoch(2, 1.00, 0.05), _epoch(3, 1.00, 0.10)]
    assert RULES["current rule"](epochs, 2) == 3
    assert RULES["2026-12-05: lower of val and CF val"](epochs, 2) == 1


def test_the_table_scores_each_pick_on_the_same_run():
    results = [{"cell": "tint/x", "seed": 0, "test_by_epoch": {1: 0.5, 2: 0.6, 3: 0.9, 4: 0.8},
                "picks": {**dict.fromkeys(RULES, 4), "current rule": 3, "2026-12-05: lower of val and CF val": 3,
                          "before 2026-12: CF within 0.05 of best val": 2, "validation accuracy": 1}}]
    text = markdown(results, "gradia bench --efficacy --selection-study")
    assert "| tint/x | 0 | 0.900 (ep 3) | 0.900 (ep 3) | 0.600 (ep 2) | 0.800 (ep 4) | 0.800 (ep 4) | 0.800 (ep 4) | 0.500 (ep 1) " \
           "| 0.800 (ep 4) | 0.800 (ep 4) | 0.900 (ep 3) |" in text
    assert "| current rule | 0.900 | 0.000 | 0.900 |" in text
    assert "| before 2026-12: CF within 0.05 of best val | 0.600 | 0.300 | 0.600 |" in text


def test_gradia_bench_runs_the_study_on_a_small_cell(tmp_path, capsys):
    out = tmp_path / "selection.md"
    code = main(["bench", "--efficacy", "--selection-study", "--cells", "1", "--seeds", "1", "--quick",
                 "--out", str(out), "--json", "--quiet"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and len(result["runs"]) == 1
    run = result["runs"][0]
    assert sorted(int(e) for e in run["test_by_epoch"]) == [1, 2, 3]  # the quick cut's three guided epochs
    assert all(0.0 <= a <= 1.0 for a in run["test_by_epoch"].values())
    assert set(run["picks"]) == set(RULES) and all(1 <= e <= 3 for e in run["picks"].values())
    assert "gradia bench --efficacy --selection-study --seeds 1 --cells 1 --quick" in out.read_text()


def test_recipe_variants_scores_every_rule_on_traced_runs(tmp_path, capsys):
    from tests.bench.recipe_variants import selection

    trace = [{"epoch": k, "val_accuracy": v, "val_masked_accuracy": v, "val_counterfactual_accuracy": cf,
              "val_energy": 0.3, "test_accuracy": t}
             for k, v, cf, t in [(1, 1.00, 0.10, 0.5), (2, 0.99, 0.40, 0.6), (3, 0.85, 0.90, 0.95), (4, 0.80, 0.80, 0.8)]]
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"cell_no": 10, "cell": "tint/x", "seed": 11, "recipe": "product", "trace": trace}) + "\n"
                    + json.dumps({"cell_no": 10, "cell": "tint/x", "seed": 11, "recipe": "baseline"}) + "\n")
    selection(path)
    out = capsys.readouterr().out
    assert "| 10 tint/x | 11 | product | 0.950 (3) | 0.950 (3) | 0.600 (2) | 0.950 (3) |" in out
    assert "| current rule | 0.950 | 0.950 | 1 / 1 | 0.000 |" in out
    assert "| before 2026-12: CF within 0.05 of best val | 0.600 | 0.600 | 0 / 1 | 0.350 |" in out
