"""`gradia weights fetch|where ARCH`: torchvision's ImageNet weights, downloaded only when asked."""

from __future__ import annotations

from .options import add_output_flags


def add_weights(sub) -> None:
    p = sub.add_parser("weights", help="download an architecture's ImageNet weights (or say where they go)",
                       description="fetch: download torchvision's ImageNet weights for ARCH into its cache, with "
                                   "a hash check (needs a connection; offline, it says which file to copy where). "
                                   "where: where the file goes and whether it is there. Training with "
                                   "--pretrained reads them from there and never downloads.")
    p.add_argument("action", choices=("fetch", "where"))
    p.add_argument("arch", help="e.g. resnet18, resnet50, efficientnet_b0 (`gradia models` lists all)")
    p.add_argument("--url", help="download from this address instead of torchvision's (a mirror)")
    add_output_flags(p)
    p.set_defaults(handler=run_weights)


def run_weights(args, progress):
    from ..training.weights_fetch import fetch_weights, weights_file

    if args.action == "fetch":
        had = weights_file(args.arch).present
        found = fetch_weights(args.arch, progress, url=args.url)
        text = f"{args.arch}: {'already in' if had else 'downloaded to'} {found.path}"
    else:
        found = weights_file(args.arch)
        text = (f"{args.arch}: {found.path} ({'present' if found.present else 'missing'}); from {found.url}")
    return {"arch": args.arch, "path": str(found.path), "present": found.present, "url": found.url}, text
