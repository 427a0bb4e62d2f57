"""What a newcomer meets first on the command line: help with defaults, typos, quiet runs, next steps."""

from __future__ import annotations

import json

import pytest

from gradia_desktop.cli import main
from gradia_desktop.cli.progress_line import ProgressLine

from .cli_run import run


def test_help_shows_defaults_and_documents_the_seed(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert ("--epochs EPOCHS passes over the training split; the best epoch is kept (default: 30 for a run that "
            "starts again - guided from --from, or --start initial - and 8 otherwise)") in text
    assert "(default: 32; in mode guided 16 when an epoch would have fewer than 20 batches of 32" in text
    assert "(default: 0.001)" in text
    assert "--seed SEED random seed" in text and "(default: 0)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_a_typo_in_a_flag_gets_the_subcommands_usage_and_a_suggestion(small_project, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(small_project.root), "--epohcs", "3"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("usage: gradia train")
    assert "unrecognized arguments: --epohcs (did you mean --epochs?), 3" in err


def test_models_lists_every_architecture_and_unknown_ones_point_to_it(small_project, capsys):
    code, out, _ = run(capsys, "models", "--json")
    names = json.loads(out)["architectures"]
    assert code == 0 and names[0] == "tiny" and {"resnet18", "convnext_tiny", "efficientnet_b0"} <= set(names)
    code, out, _ = run(capsys, "models")
    assert out.startswith(f"{len(names)} architectures:") and "resnet152" in out
    code, _, err = run(capsys, "train", small_project.root, "--arch", "resnet19")
    assert code == 2 and "did you mean resnet18?" in err and f"`gradia models` lists all {len(names)}" in err


def test_quiet_silences_per_epoch_lines_but_not_errors(small_project, capsys):
    code, _, err = run(capsys, "train", small_project.root, "--epochs", 1, "--image-size", 32, "--device", "cpu",
                       "--quiet")
    assert code == 0 and err == ""
    code, _, err = run(capsys, "train", small_project.root, "--from", "v9", "--quiet")
    assert code == 2 and "no model version v9" in err


def test_warnings_pass_through_quiet():
    import io

    stream = io.StringIO()
    line = ProgressLine(stream, quiet=True)
    line("loading", 1, 2)
    line.message("epoch 1: loss 0.1")
    line.warn("gradia eval: read-only")
    assert stream.getvalue() == "gradia eval: read-only\n"


def test_init_says_what_to_do_next_and_counts_in_words(small_dataset, tmp_path, capsys):
    code, out, _ = run(capsys, "init", tmp_path / "p", "--images", small_dataset / "images", "--masks",
                       small_dataset / "masks")
    assert code == 0
    assert f"next: gradia train {tmp_path / 'p'} --mode baseline" in out and f"gradia-desktop {tmp_path / 'p'}" in out


def test_plural():
    from gradia_desktop.cli.commands import plural

    assert (plural(1, "mask"), plural(0, "mask"), plural(2, "image")) == ("1 mask", "0 masks", "2 images")
