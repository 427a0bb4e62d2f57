"""The `gradia` command line: every step of the product, headless.

Each command reports progress on stderr and, with --json, prints one JSON object on stdout.
Bad input ends with one line on stderr naming the thing and the problem, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .. import __version__
from ..errors import Cancelled, GradiaError, RunStopped
from . import commands
from .options import CommandParser
from .progress_line import ProgressLine


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradia", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gradia {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)
    for register in commands.REGISTRY:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # a command may start itself again (torchrun)
    if extras:  # a typo belongs to the sub-command: its usage, and the flag it was probably meant to be
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        subparsers.choices[args.command].reject_unknown(extras)
    progress = ProgressLine(quiet=getattr(args, "quiet", False))
    try:
        result, text, *status = args.handler(args, progress)  # a handler may add an exit status
        if result is None and text is None:  # printed elsewhere (another process) or nothing to print
            return status[0] if status else 0
    except RunStopped:  # one process of a distributed run, stopped because another ended: the launcher says why
        return 2
    except GradiaError as exc:
        progress.warn(f"gradia {args.command}: error: {exc}")
        return 2
    except Cancelled as exc:
        progress.warn(f"gradia {args.command}: {exc}")
        return 130
    except KeyboardInterrupt:
        progress.warn(f"gradia {args.command}: interrupted")
        return 130
    if getattr(args, "json", False):
        print(json.dumps(result, default=str))
    else:
        print(text)
    return status[0] if status else 0


if __name__ == "__main__":
    sys.exit(main())
