"""`gradia bench`: the only door from the product into the benchmark harnesses (gradia_desktop.bench).

Each mode imports its harness lazily, so the rest of the CLI never loads benchmark code (or Qt).
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
from pathlib import Path

from ..core.atomic import atomic_write_text
from ..errors import GradiaError
from .options import add_output_flags


def add_bench(sub) -> None:
    p = sub.add_parser("bench", help="time a GRADIA training step against a plain one, and Grad-CAM throughput",
                       description="Median seconds per training step, plain cross-entropy vs GRADIA (attention "
                                   "loss on every sample), on the same model and batch; Grad-CAM images/s.")
    p.add_argument("--arch", default="resnet18", help="model to time (`gradia models` lists all)")
    p.add_argument("--image-size", type=int, default=224, help="input size in px")
    p.add_argument("--batch-size", type=int, default=16, help="images per timed step")
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--steps", type=int, default=10, help="timed steps per variant (the median is reported)")
    p.add_argument("--reference", action="store_true", help="also time a per-sample loop like the authors' code")
    p.add_argument("--compile", action="store_true",
                   help="time the steps as `gradia train --compile` runs them (torch.compile; use --warmup 3 or "
                        "more, the first steps compile)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per variant before the timed ones")
    p.add_argument("--gui", action="store_true",
                   help="instead: the GUI's figures (brush latency on a 4096x4096 image, image switch, "
                        "opening and scrolling a 10,000-image project, longest GUI-thread stall)")
    p.add_argument("--export", action="store_true",
                   help="instead: seconds to export --samples masks of 512x512 px as PNG and as COCO RLE")
    p.add_argument("--training", action="store_true",
                   help="instead: GUI event-loop latency while a GRADIA run trains on the demo (--epochs), and "
                        "the per-epoch evaluation and live refresh as a share of the epoch's training time")
    p.add_argument("--efficacy", action="store_true",
                   help="instead: the efficacy suite - generated shortcut datasets varied one axis at a time; a "
                        "baseline and each guided recipe per cell and seed; writes a Markdown table (--out)")
    p.add_argument("--reliability", action="store_true",
                   help="instead: the reliability harness - random-kill trials of mask saves, training and export, "
                        "the hostile-image corpus, damaged, read-only and locked projects; writes a Markdown "
                        "report (--out, e.g. docs/RELIABILITY.md)")
    p.add_argument("--trials", type=int, default=200,
                   help="with --reliability: random kills of the mask/judgement writer (training gets one per 20, "
                        "at least 3; export one per 10, at least 4)")
    p.add_argument("--seeds", type=int, default=3, help="with --efficacy: seeds per cell; with --avoid: seeds")
    p.add_argument("--cells", default="all",
                   help="with --efficacy: 'all', or a comma-separated list of cell numbers (1-based, see --list-cells)")
    p.add_argument("--list-cells", action="store_true", help="with --efficacy: print the cells and exit")
    p.add_argument("--fresh", action="store_true",
                   help="with --efficacy --out: run every cell again instead of reusing the runs recorded next to "
                        "the output (OUT-runs.jsonl, written as each cell and seed finishes)")
    p.add_argument("--selection-study", action="store_true",
                   help="with --efficacy: instead of the suite, the recommended recipe on the chosen cells with "
                        "test accuracy after every epoch, and the test accuracy of each epoch-selection rule's pick")
    p.add_argument("--quick", action="store_true",
                   help="with --efficacy: a few images and epochs per cell - checks the pipeline, measures nothing")
    p.add_argument("--out", type=Path, help="with --efficacy or --reliability: write the Markdown here")
    p.add_argument("--jobs", type=int, default=1,
                   help="with --efficacy: run this many cells at once in worker processes (the figures do not "
                        "change; the times do, as the runs share the cores)")
    p.add_argument("--epochs", type=int, default=3, help="with --training: epochs of the run")
    p.add_argument("--annotate", action="store_true",
                   help="instead: interactions per mask - a simulated annotator (each next click at the largest "
                        "error) counts clicks to IoU 0.85 / 0.90 with click-to-mask and brush strokes without "
                        "it, on the demo's validation images and three harder generated sets")
    p.add_argument("--avoid", action="store_true",
                   help="instead: does \"don't look here\" work - on a generated set where a small tag gives the "
                        "class away in training and not in test, a baseline, a baseline as long as a guided run, "
                        "and a guided run whose only masks mark the tag as \"don't look here\" on 5%% of the "
                        "training images: test accuracy and the heatmap's share on the tag (--seeds; --quick "
                        "checks the pipeline only)")
    p.add_argument("--images", type=int, default=None,
                   help="with --annotate: images per set (default: all, 200 each)")
    p.add_argument("--data", action="store_true",
                   help="instead: the training data path - peak memory and images/s of an epoch's input pipeline, "
                        "held in memory and streamed from the pixel cache, over --samples synthetic 224 px "
                        "photographs (e.g. --samples 2000,50000)")
    p.add_argument("--repeats", type=int, default=1,
                   help="with --data: rounds of every path in turn; the median pace is reported")
    p.add_argument("--samples", type=_counts, default=[10_000],
                   help="with --gui: project size for the browser figures; with --export: number of masks; with "
                        "--data: training images, or several sizes separated by commas")
    add_output_flags(p)
    p.set_defaults(handler=run_bench)


def run_bench(args, progress):
    from ..bench.training_step import run_bench as bench

    if args.gui:
        return _run_gui_bench(args, progress)
    if args.export:
        return _run_export_bench(args, progress)
    if args.training:
        return _run_training_gui_bench(args, progress)
    if args.efficacy:
        return _run_efficacy(args, progress)
    if args.reliability:
        return _run_reliability(args, progress)
    if args.data:
        return _run_data_bench(args, progress)
    if args.annotate:
        return _run_annotation_bench(args, progress)
    if args.avoid:
        return _run_avoid_study(args, progress)
    if args.steps < 1 or args.batch_size < 1 or args.warmup < 0:
        raise GradiaError("--steps and --batch-size must be at least 1, --warmup at least 0")
    r = bench(args.arch, args.image_size, args.batch_size, args.device, args.steps, args.warmup,
              reference=args.reference, compile=args.compile, progress=progress)
    text = (f"{r['arch']} {r['image_size']}px batch {r['batch_size']} on {r['device']}"
            f"{' (compiled)' if r['compiled'] else ''}: plain step "
            f"{r['plain_step_s']:.3f}s, GRADIA step {r['gradia_step_s']:.3f}s, ratio {r['ratio']:.3f}; "
            f"Grad-CAM {r['cam_images_per_s']:.1f} images/s")
    if "reference_ratio" in r:
        text += f"; per-sample loop {r['reference_step_s']:.3f}s (ratio {r['reference_ratio']:.2f})"
    return r, text


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or numbers separated by commas, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"counts must be at least 1, got {text!r}")
    return counts


def _one_count(args) -> int:
    if len(args.samples) != 1:
        raise GradiaError("--samples takes one number here (several only with --data)")
    return args.samples[0]


def _run_data_bench(args, progress):
    from ..bench.data_path import MODES, run_data_bench

    if min(args.samples) < 100:
        raise GradiaError("--samples must be at least 100 with --data")
    if args.repeats < 1:
        raise GradiaError("--repeats must be at least 1")
    r = run_data_bench(args.samples, progress, args.repeats)
    lines = []
    for run in r["runs"]:
        for mode in MODES:
            m = run[mode]
            if m is None:
                lines.append(f"N={run['samples']} {mode}: not measured (would hold "
                             f"{run['samples'] * 224 * 224 * 3 / 2**30:.1f} GiB)")
                continue
            workers = (f" + {m['workers']} worker processes of at most {_mb(m['worker_peak_rss_mb'])}"
                       if m["workers"] else "")
            spread = (f" (rounds: {', '.join(f'{v:.0f}' for v in m['images_per_s_runs'])})"
                      if len(m["images_per_s_runs"]) > 1 else "")
            lines.append(f"N={run['samples']} {mode}: {m['images_per_s']:.0f} images/s{spread}, peak RSS "
                         f"{_mb(m['total_peak_rss_mb'])} (process {_mb(m['peak_rss_mb'])}{workers}), "
                         f"load {m['load_s']}s")
        lines.append(f"N={run['samples']}: pixel cache built in {run['cache_build_s']}s")
    if "stream_rss_growth" in r:
        lines.append(f"streamed peak RSS, largest N / smallest N: {r['stream_rss_growth']:.3f}")
    return r, "\n".join(lines)


def _mb(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0f} MB"


def _run_annotation_bench(args, progress):
    from ..bench.annotation import markdown, run_annotation_bench

    if args.images is not None and args.images < 1:
        raise GradiaError("--images must be at least 1")
    r = run_annotation_bench(args.images, progress)
    return r, markdown(r)


def _run_avoid_study(args, progress):
    from dataclasses import asdict

    from ..bench.efficacy.avoid_study import markdown, run_study

    if args.seeds < 1:
        raise GradiaError("--seeds must be at least 1")
    rows = run_study(args.seeds, args.device, args.quick, progress)
    command = f"gradia bench --avoid --seeds {args.seeds}" + (" --quick" if args.quick else "")
    return {"runs": [asdict(r) for r in rows]}, markdown(rows, command)


def _run_gui_bench(args, progress):
    samples = _one_count(args)
    if samples < 10:
        raise GradiaError("--samples must be at least 10")
    from ..bench.gui.run import run_gui_bench  # Qt only here: the rest of the CLI stays headless

    r = run_gui_bench(samples, progress)
    lines = [f"{key}: {value}" for key, value in r.items()]
    return r, "\n".join(lines)


def _run_training_gui_bench(args, progress):
    if args.epochs < 1:
        raise GradiaError("--epochs must be at least 1")
    from ..bench.gui.training import run_training_gui_bench  # Qt only here

    r = run_training_gui_bench(args.epochs, args.device, progress)
    return r, "\n".join(f"{key}: {value}" for key, value in r.items())


def _run_export_bench(args, progress):
    from ..bench.export import run_export_bench as bench

    samples = _one_count(args)
    if samples < 1:
        raise GradiaError("--samples must be at least 1")
    r = bench(samples, progress)
    text = (f"export of {r['samples']} masks of {r['size']} px on {r['cpus']} CPUs ({r['threads']} threads): "
            f"PNG {r['png_s']:.1f}s ({r['png_masks_per_s']:.0f} masks/s, {r['png_mb']} MB), "
            f"COCO {r['coco_s']:.1f}s ({r['coco_masks_per_s']:.0f} masks/s, {r['coco_mb']} MB)")
    return r, text


def _run_efficacy(args, progress):
    from ..bench.efficacy.run_record import RunRecord
    from ..bench.efficacy.suite import full_suite, markdown_table, run_suite, summarise

    suite = full_suite()
    if args.list_cells:
        listing = {str(k): c.name for k, c in enumerate(suite, 1)}
        return listing, "\n".join(f"{k:>3}  {name}" for k, name in listing.items())
    cells = suite
    if args.cells != "all":
        try:
            picked = [int(x) for x in args.cells.split(",") if x.strip()]
            if not picked or not all(1 <= k <= len(suite) for k in picked):
                raise ValueError
            cells = [suite[k - 1] for k in picked]
        except ValueError:
            raise GradiaError(f"--cells {args.cells!r}: expected 'all' or numbers from 1 to {len(suite)}") from None
    if args.seeds < 1:
        raise GradiaError("--seeds must be at least 1")
    if args.jobs < 1:
        raise GradiaError("--jobs must be at least 1")
    if args.selection_study:
        return _run_selection_study(args, cells, progress)
    record = None
    if args.out:
        record_path = args.out.with_name(args.out.stem + "-runs.jsonl")
        if args.fresh:
            record_path.unlink(missing_ok=True)
        record = RunRecord(record_path)
        if record.done:
            progress.message(f"reusing the runs recorded in {record_path} that match these settings "
                             "(--fresh runs everything again)")
    rows = run_suite(cells, args.seeds, args.device, progress, quick=args.quick, jobs=args.jobs, record=record)
    summary = summarise(rows)
    command = f"gradia bench --efficacy --seeds {args.seeds} --cells {args.cells}" + (" --quick" if args.quick else "") \
        + (f" --jobs {args.jobs}" if args.jobs > 1 else "") \
        + (f" --out {shlex.quote(args.out.as_posix())}" if args.out else "")
    table = markdown_table(summary, command, rows, cells)
    if args.out:
        atomic_write_text(args.out, table)
    return {"summary": summary, "runs": [dataclasses.asdict(r) for r in rows]}, table


def _run_selection_study(args, cells, progress):
    from ..bench.efficacy.selection_study import markdown, run_study
    from ..bench.efficacy.suite import QUICK

    lengths = {k: v for k, v in QUICK.items() if k != "counts"} if args.quick else {}
    if args.quick:
        cells = [c.with_(counts=QUICK["counts"]) for c in cells]
    results = run_study(cells, args.seeds, progress, args.device, **lengths)
    command = f"gradia bench --efficacy --selection-study --seeds {args.seeds} --cells {args.cells}" \
        + (" --quick" if args.quick else "") + (f" --out {shlex.quote(args.out.as_posix())}" if args.out else "")
    text = markdown(results, command)
    if args.out:
        atomic_write_text(args.out, text)
    return {"runs": results}, text


def _run_reliability(args, progress):
    import tempfile

    from ..bench.reliability.report import markdown, run_reliability

    if args.trials < 1:
        raise GradiaError("--trials must be at least 1")
    command = f"gradia bench --reliability --trials {args.trials}" \
        + (f" --out {shlex.quote(args.out.as_posix())}" if args.out else "")
    with tempfile.TemporaryDirectory(prefix="gradia-reliability-") as work:
        result = run_reliability(args.trials, Path(work), progress)
    text = markdown(result, command)
    if args.out:
        atomic_write_text(args.out, text)
    summary = {"trials": args.trials, "seconds": round(result.seconds, 1), "failures": result.failures,
               "kill_trials": {s.fault: {"trials": len(s.trials), "failed": len(s.failed)} for s in result.crash},
               "probes": {s.name: {"checks": len(s.rows), "failed": len(s.failed)} for s in result.probes}}
    return summary, text
