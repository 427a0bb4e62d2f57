"""`gradia eval --faithfulness`: deletion / insertion AUC per image and for the split, recorded with the version."""

from __future__ import annotations

import json

from gradia_desktop.cli import main
from gradia_desktop.core.store import Project


def test_eval_measures_faithfulness_per_image_and_records_the_split(small_project, capsys):
    root = small_project.root
    small_project.close()
    assert main(["train", str(root), "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--device", "cpu",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", str(root), "--split", "val", "--faithfulness", "--steps", "6", "--json", "--quiet"]) == 0
    got = json.loads(capsys.readouterr().out)
    rows = got["faithfulness"]
    with Project.open(root, readonly=True) as project:
        val = project.samples(split="val")
        recorded = project.version(1).metrics["val"]
    assert [r["path"] for r in rows] == [s.path for s in val]
    assert all(0 <= r["deletion_auc"] <= 1 and 0 <= r["insertion_auc"] <= 1 for r in rows)
    mean = sum(r["deletion_auc"] for r in rows) / len(rows)
    assert abs(got["deletion_auc"] - mean) < 1e-5 and abs(recorded["deletion_auc"] - got["deletion_auc"]) < 1e-12
    assert recorded["faithfulness_steps"] == 6 and recorded["accuracy"] == got["accuracy"]  # merged, not replaced
    assert main(["train", str(root), "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--device", "cpu",
                 "--seed", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["compare", str(root), "1", "2", "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert json.dumps(compared).count("deletion_auc") >= 1 and str(recorded["deletion_auc"])[:6] in json.dumps(compared)
    assert main(["eval", str(root), "--faithfulness", "--steps", "1"]) == 2
    assert "--steps 1: at least 2" in capsys.readouterr().err
