"""The product's promise on its own demo, end to end through the CLI (about a minute and a half on 2 cores).

The baseline must fall for the planted background shortcut; retraining guided by the expert masks
(15% of training images, loose as painted), fine-tuned from the baseline, must fix the decision and
move the attention onto the objects.
"""

from __future__ import annotations

import json

import pytest

from gradia_desktop.cli import main

pytestmark = pytest.mark.slow


def _json(capsys, *argv) -> dict:
    assert main([str(a) for a in argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_guided_retraining_fixes_the_planted_shortcut(tmp_path, capsys):
    _json(capsys, "demo", tmp_path / "data", "--seed", 0, "--quiet", "--json")
    init = _json(capsys, "init", tmp_path / "p", "--images", tmp_path / "data/images",
                 "--masks", tmp_path / "data/masks", "--quiet", "--json")
    train_masked = 2 * round(400 * 0.15)
    assert train_masked / init["splits"]["train"] <= 0.20

    base = _json(capsys, "train", tmp_path / "p", "--epochs", 6, "--device", "cpu", "--quiet", "--json")
    assert base["train"]["accuracy"] >= 0.95
    assert base["test"]["accuracy"] <= 0.65
    assert base["val"]["matrix"]["UA"] > base["val"]["matrix"]["RA"]  # right answers for the wrong reason

    guided = _json(capsys, "train", tmp_path / "p", "--mode", "gradia-all", "--counterfactual", "--from", base["version"],
                   "--epochs", 12, "--device", "cpu", "--quiet", "--json")  # 0.955 at 12 epochs, 0.99 at 20
    assert guided["parent"] == base["version"]
    assert guided["test"]["accuracy"] >= 0.85
    assert guided["test"]["iou"] >= 2 * base["test"]["iou"]
    assert guided["test"]["energy"] > base["test"]["energy"]
    assert base["seconds"] + guided["seconds"] <= 600  # the target is 300 s; CI machines are shared
