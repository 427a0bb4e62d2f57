"""Whole-epoch pace of `gradia train` on a synthetic photo project (a script, not collected by pytest).

    python tests/bench/epoch_pace.py --images 5000 --device cuda --runs gradia-all:stream,baseline:stream,gradia-all:memory

Writes ``--images`` synthetic 224 px photographs (the data bench's generator, masks on 2%) into a
temporary project, then runs `gradia train` once per ``MODE:DATA`` in ``--runs`` (resnet50, batch
64, two epochs) and prints, per run, each epoch's training images/s (its ``train_seconds``, without
validation) as one JSON line. Set beside `gradia bench`'s step pace, it says whether the trainer
keeps a GPU fed: the README's "Speed of a GRADIA step" holds the H200 figures it produced.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradia_desktop.bench.data_path import make_photo_project


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=5000)
    p.add_argument("--device", default="cuda")
    p.add_argument("--arch", default="resnet50")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--runs", default="gradia-all:stream,baseline:stream,gradia-all:memory")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        make_photo_project(Path(tmp), args.images).close()
        project = Path(tmp) / "project"
        for spec in args.runs.split(","):
            mode, data = spec.split(":")
            cmd = [sys.executable, "-m", "gradia_desktop.cli", "train", str(project), "--mode", mode,
                   "--arch", args.arch, "--epochs", str(args.epochs), "--batch-size", "64", "--device", args.device,
                   "--data", data, "--json", "--quiet"]
            started = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                print(json.dumps({"run": spec, "rc": done.returncode, "error": done.stderr.strip()[-2000:]}))
                continue
            version = json.loads(done.stdout)["version"]
            with sqlite3.connect(project / "project.sqlite") as db:
                epochs = [json.loads(m) for (m,) in db.execute(
                    "SELECT metrics FROM epochs WHERE version_id = ? ORDER BY epoch", (version,))]
            print(json.dumps({"run": spec, "wall_s": round(time.perf_counter() - started, 1),
                              "train_seconds": [e["train_seconds"] for e in epochs],
                              "images_per_s": [round(args.images / e["train_seconds"], 1) for e in epochs]}),
                  flush=True)


if __name__ == "__main__":
    main()
