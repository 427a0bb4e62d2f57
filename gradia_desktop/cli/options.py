"""Flags every `gradia` command shares, and the parser class that prints their defaults."""

from __future__ import annotations

import argparse
import difflib


class HelpWithDefaults(argparse.HelpFormatter):
    """Each option's help ends with its default, where it has a meaningful one (not None, False or [])."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or not action.option_strings or default is argparse.SUPPRESS
                or default is None or default is False or default == []):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


class CommandParser(argparse.ArgumentParser):
    """A sub-command's parser: defaults in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpWithDefaults)
        super().__init__(*args, **kwargs)

    def reject_unknown(self, extras: list[str]) -> None:
        """Exit 2 with this command's usage, naming each unknown argument and the closest known flag."""
        flags = [s for action in self._actions for s in action.option_strings]
        named = []
        for extra in extras:
            flag = extra.split("=", 1)[0]
            close = difflib.get_close_matches(flag, flags, n=1, cutoff=0.6) if flag.startswith("-") else []
            named.append(f"{extra} (did you mean {close[0]}?)" if close else extra)
        self.error(f"unrecognized arguments: {', '.join(named)}")


def add_output_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress or per-step lines on stderr (warnings and "
                                                        "errors still)")
