"""The `gradia` command line: every step of the product, headless.

Each command reports progress on stderr and, with --json, prints one JSON object on stdout.
Bad input ends with one line on stderr naming the thing and the problem, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .. import __version__
from ..errors import Cancelled, GradiaError
from . import commands
from .progress_line import ProgressLine


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradia", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gradia {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in commands.REGISTRY:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = ProgressLine(quiet=getattr(args, "quiet", False))
    try:
        result, text, *status = args.handler(args, progress)  # a handler may add an exit status
    except GradiaError as exc:
        progress.message(f"gradia {args.command}: error: {exc}")
        return 2
    except Cancelled as exc:
        progress.message(f"gradia {args.command}: {exc}")
        return 130
    except KeyboardInterrupt:
        progress.message(f"gradia {args.command}: interrupted")
        return 130
    if getattr(args, "json", False):
        print(json.dumps(result, default=str))
    else:
        print(text)
    return status[0] if status else 0


if __name__ == "__main__":
    sys.exit(main())
