"""How the command-line tests run `gradia`: in this process, with its exit status and both streams."""

from __future__ import annotations

from gradia_desktop.cli import main

QUICK_TRAIN = ("--epochs", "1", "--image-size", "32", "--batch-size", "8", "--device", "cpu", "--quiet")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
