"""`gradia train`: a new model version, in this process or in every process of a torchrun launch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GradiaError, RunStopped
from .distributed_launch import add_launch_flags
from .options import add_output_flags
from .report_lines import fmt, split_line


def _weight(text: str) -> tuple[str, tuple[float, float]]:
    try:
        key, pair = text.split("=")
        a, b = (float(v) for v in pair.split(","))
        return key.strip(), (a, b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected QUADRANT=W_PRED,W_ATT, e.g. UA=0.4,1.6") from None


def add_train(sub) -> None:
    from ..core.cam_method_names import TRAINABLE
    from ..training.config import (ATTENTION_LOSSES, DEFAULT_BATCH, DEFAULT_EPOCHS, GUIDED_AVERAGE_EPOCHS,
                                   GUIDED_MIN_BATCHES, GUIDED_MOSAIC_SHARE, GUIDED_OUTSIDE_WEIGHT, GUIDED_SHARE,
                                   GUIDED_SMALL_BATCH, GUIDED_START, MODES, PLAIN_SHARE, RECOMMENDED_MODE,
                                   RESTART_EPOCHS, STARTS, TrainConfig)

    d = TrainConfig()
    p = sub.add_parser("train", help="train a new model version (baseline, guided, GRADIA, GRADIA on all masks)",
                       description="Train a new model version and print its metrics. The best epoch is chosen "
                                   "on the validation split (on its counterfactual copies where masked validation "
                                   "images exist); the test split is only reported.")
    p.add_argument("project", type=Path)
    first_setting = len(p._actions)
    p.add_argument("--mode", choices=MODES,
                   help=f"default: {RECOMMENDED_MODE} with --from (the recommended recipe: counterfactual "
                        "backgrounds behind the masked objects, GRADIA's attention loss and a penalty on evidence "
                        "outside the masks), baseline without it; gradia and gradia-all are the paper's losses, "
                        "exactly")
    p.add_argument("--from", dest="parent", metavar="VERSION",
                   help="start from this version (e.g. 1 or v1): its architecture, layer and image size")
    p.add_argument("--start", choices=STARTS,
                   help="with --from: 'parent' fine-tunes its learned weights, 'initial' starts again from the "
                        "weights its lineage began with (random, ImageNet or --weights-file), so no shortcut it "
                        f"learned is carried over (default: {GUIDED_START} in mode guided, parent otherwise)")
    p.add_argument("--arch", help="tiny (default; with --from: the parent's) or any torchvision "
                                  "classifier, e.g. resnet18, resnet50, efficientnet_b0; `gradia models` lists all")
    p.add_argument("--cam-layer", help="dotted module path for Grad-CAM (default: the last convolutional block; "
                                       "`gradia layers ARCH` lists them)")
    p.add_argument("--cam-method", choices=TRAINABLE, default=d.cam_method,
                   help="the CAM the attention loss compares with the masks (gradcam: the paper's)")
    p.add_argument("--image-size", type=int, help="input size in px (default 64 for tiny, 224 otherwise)")
    p.add_argument("--epochs", type=int,
                   help=f"passes over the training split; the best epoch is kept (default: {RESTART_EPOCHS} for a "
                        f"run that starts again - guided from --from, or --start initial - and {DEFAULT_EPOCHS} "
                        "otherwise)")
    p.add_argument("--batch-size", type=int,
                   help=f"images per optimisation step (default: {DEFAULT_BATCH}; in mode guided {GUIDED_SMALL_BATCH} "
                        f"when an epoch would have fewer than {GUIDED_MIN_BATCHES} batches of {DEFAULT_BATCH}, for "
                        "more optimiser steps; with torchrun, the global batch)")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    p.add_argument("--lambda", dest="lam", type=float, default=d.lam, help="weight of the attention loss")
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--seed", type=int, default=d.seed,
                   help="random seed for initial weights, shuffling, augmentation and counterfactuals: the same "
                        "seed, data and settings give the same model")
    p.add_argument("--counterfactual", action="store_true",
                   help="swap the background outside each expert mask for another masked image's background "
                        "(always on in mode guided)")
    p.add_argument("--counterfactual-share", type=float, metavar="SHARE",
                   help=f"share of each epoch drawn from the masked images when counterfactuals are on "
                        f"(default {GUIDED_SHARE} in mode guided, {PLAIN_SHARE} otherwise)")
    p.add_argument("--mosaic-share", type=float, metavar="SHARE",
                   help="share of counterfactual swaps whose background is a mosaic of 4 x 4 tiles from two "
                        f"masked images' backgrounds, the second at the first's mean colour (default "
                        f"{GUIDED_MOSAIC_SHARE} in mode guided, 0 otherwise)")
    p.add_argument("--average-epochs", type=float, metavar="EPOCHS",
                   help="validate, keep and propose masks with the weights averaged over the optimiser's steps, "
                        "with a time constant of EPOCHS epochs (an exponential moving average; 0: the live "
                        f"weights; default {GUIDED_AVERAGE_EPOCHS:g} in mode guided, 0 otherwise)")
    p.add_argument("--outside-weight", type=float, metavar="W",
                   help=f"weight of the penalty on decision evidence outside the masks (default "
                        f"{GUIDED_OUTSIDE_WEIGHT} in mode guided, 0 otherwise)")
    p.add_argument("--attention-loss", choices=ATTENTION_LOSSES, default=d.attention_loss,
                   help="the attention term: l1, the paper's distance to the mask; tolerant, only attention "
                        "outside the mask dilated and missing attention inside the mask eroded (by --tolerance) "
                        "count, for masks painted loosely or in a hurry")
    p.add_argument("--tolerance", type=float, default=d.tolerance, metavar="SHARE",
                   help=f"with --attention-loss tolerant: how far to dilate and erode, as a share of the image "
                        f"side (default {d.tolerance})")
    p.add_argument("--avoid-weight", type=float, default=d.avoid_weight, metavar="W",
                   help="weight of the penalty on attention inside the masks' \"don't look here\" layer "
                        f"(default {d.avoid_weight}; only masks that have that layer are concerned)")
    p.add_argument("--propagate-masks", action=argparse.BooleanOptionalAction,
                   help="part-way through the run, propose masks for the unmasked training images from the "
                        "model's own Grad-CAM and swap their backgrounds too (never used as attention targets; "
                        "needs counterfactuals; default: on in mode guided, off otherwise)")
    p.add_argument("--weight", dest="weights", type=_weight, action="append", default=[],
                   metavar="Q=WP,WA", help="override a row of the quadrant weight table, e.g. UA=0.4,1.6 "
                                           "(rows: UA UI RI RA masked unmasked)")
    p.add_argument("--differentiable-weights", action="store_true",
                   help="let the attention loss flow through Grad-CAM's channel weights too")
    p.add_argument("--weights-file", dest="init_weights", help="initial weights (.pt/.pth/.safetensors)")
    p.add_argument("--pretrained", action="store_true", help="ImageNet weights from torchvision's local cache")
    p.add_argument("--data", choices=("auto", "memory", "stream"), default=d.data,
                   help="hold the images in memory, or stream them from the project's pixel cache (PROJECT/cache: "
                        "each image decoded once at the input size, again only when its file changes); auto "
                        "streams projects too large to hold")
    p.add_argument("--loader-workers", type=int, default=d.loader_workers,
                   help="DataLoader worker processes reading a streamed split ahead of the training step "
                        "(default 0: threads of the training process read ahead, which is faster where the cache "
                        "sits in the page cache; processes may help where reading the project is slow)")
    p.add_argument("--compile", action="store_true",
                   help="compile the training step with torch.compile: faster steps once the first batches "
                        "have compiled it (a minute or more); on a CPU it needs a C++ compiler")
    settings = {a.dest: (a.default, a.option_strings[0]) for a in p._actions[first_setting:]}
    p.add_argument("--settings", type=Path, metavar="FILE",
                   help="train with the settings in FILE (a JSON object of training settings, e.g. "
                        '{"mode": "guided", "parent": 1, "epochs": 30}, as the app writes them) instead of the '
                        "setting flags above")
    add_launch_flags(p)
    add_output_flags(p)
    p.add_argument("--events", action="store_true",
                   help="report progress, batches, epochs and the result as JSON lines on stdout (one object per "
                        "line, with an 'event' key; in a distributed run, from the first process), for programs "
                        "that watch the run")
    p.set_defaults(handler=run_train, setting_defaults=settings)


def _config_from_flags(args):
    from ..training.config import RECOMMENDED_MODE, TrainConfig

    if args.start and args.parent is None:
        raise GradiaError(f"--start {args.start} needs --from VERSION: a first run starts from its own weights")
    mode = args.mode or (RECOMMENDED_MODE if args.parent is not None else "baseline")
    config = TrainConfig(mode=mode, parent=args.parent, arch=args.arch, cam_layer=args.cam_layer,
                         cam_method=args.cam_method,
                         image_size=args.image_size, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lam=args.lam,
                         device=args.device, seed=args.seed, counterfactual=args.counterfactual,
                         differentiable_weights=args.differentiable_weights, init_weights=args.init_weights,
                         pretrained=args.pretrained, counterfactual_share=args.counterfactual_share,
                         outside_weight=args.outside_weight, avoid_weight=args.avoid_weight,
                         mosaic_share=args.mosaic_share, average_epochs=args.average_epochs,
                         attention_loss=args.attention_loss, tolerance=args.tolerance, start=args.start,
                         propagate_masks=args.propagate_masks, data=args.data, loader_workers=args.loader_workers,
                         compile=args.compile)
    for key, pair in args.weights:
        if key not in config.weights:
            raise GradiaError(f"--weight {key}: unknown row (expected one of {', '.join(config.weights)})")
        config.weights[key] = pair
    return config


def _config_from_file(args):
    from ..training.config import TrainConfig

    given = [flag for dest, (default, flag) in args.setting_defaults.items() if getattr(args, dest) != default]
    if given:
        flag = given[0]
        raise GradiaError(f"--settings {args.settings} holds every setting: drop {flag} (or put it in the file)")
    return TrainConfig.read(args.settings)


def _where(device: str, ddp) -> str:
    """The device a run trains on, for the first line of its report ('CPU', 'CUDA 0: NVIDIA H100 ...')."""
    from ..training.device import device_label, gpu_count

    if ddp is None:
        return device_label(device)
    on_gpus = device in ("auto", "cuda") and gpu_count() > 0
    return f"{ddp.world} processes, one per {'GPU' if on_gpus else 'share of the CPU'}"


def _reporter(args, progress):
    """The callbacks of the process that reports: lines on stderr, or events on stdout (--events)."""
    from ..training.trainer import Callbacks

    class Report(Callbacks):
        def progress(self, stage, done, total):
            progress(stage, done, total)

        def epoch_end(self, epoch, m):
            progress.message(f"epoch {epoch}: loss {m.loss:.4f} (attention {m.attention:.4f}) "
                             f"train acc {m.train_accuracy:.3f} val acc {m.val_accuracy:.3f} "
                             f"val energy {fmt(m.val_energy)} val counterfactual acc "
                             f"{fmt(m.val_counterfactual_accuracy)} ({m.seconds:.1f}s)")

        def log(self, message):
            progress.message(message)

    if not args.events:
        return Report()
    from .train_events import EventStream

    return EventStream(sys.stdout)


def run_train(args, progress):
    from ..core.run_events import encode, result_event
    from ..core.store import Project
    from ..training.distributed import STOPPED, from_environment
    from ..training.distributed import stop as stop_distributed
    from ..training.trainer import Callbacks, train
    from .distributed_launch import launch, wants_launch

    if wants_launch(args) and from_environment() is None:
        return launch(args, args.argv, progress)
    config = _config_from_file(args) if args.settings is not None else _config_from_flags(args)
    ddp = from_environment()
    try:
        with Project.open(args.project, readonly=bool(ddp and not ddp.main)) as project:  # one process writes
            if config.parent is not None:
                config.parent = project.resolve_version(config.parent).id
            config.validate()
            if not args.events and (ddp is None or ddp.main):
                progress.message(f"training on {_where(config.device, ddp)}")
            result = train(project, config, _reporter(args, progress) if ddp is None or ddp.main else Callbacks(), ddp)
    except BaseException as exc:
        if ddp is not None:
            stop_distributed()
            if isinstance(exc, KeyboardInterrupt):  # Ctrl-C (or the app's cancel) reached every process:
                raise RunStopped(STOPPED) from None  # the launcher, or the first process's version, says so
        raise
    if result is None:  # another process of a distributed run reports
        return None, None
    resolved = config.resolved()
    out = {"version": result.version, "mode": config.mode, "parent": config.parent, "start": resolved.start,
           "epochs": resolved.epochs, "best_epoch": result.best_epoch,
           "selection_rule": result.selection_rule, "seconds": result.seconds, "warnings": result.warnings,
           **result.summaries}
    if args.events:
        print(encode(result_event(out)), flush=True)
        return None, None
    lines = [f"model version v{result.version} ({config.mode}), best epoch {result.best_epoch} of {resolved.epochs} "
             f"(by {result.selection_rule}), {result.seconds:.1f}s"]
    lines += [split_line(s, v) for s, v in result.summaries.items()] + result.warnings
    return out, "\n".join(lines)
