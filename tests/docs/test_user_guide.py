"""docs/user-guide: every key of the app's cheat sheet (F1) is on the shortcuts page, every `gradia`
command on the command-line page, every walkthrough picture the app makes is shown, and every
relative link leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from gradia_desktop.cli import build_parser
from gradia_desktop.qt.window.dialogs import SHORTCUTS
from gradia_desktop.qt.window.guide_tour import SHOTS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "user-guide"
PAGES = ("README.md", "install.md", "walkthrough.md", "shortcuts.md", "cli.md", "own-data.md", "file-formats.md",
         "troubleshooting.md")


def test_every_page_is_there_and_the_index_links_each():
    index = (GUIDE / "README.md").read_text()
    for page in PAGES:
        assert (GUIDE / page).is_file(), page
        assert page == "README.md" or f"]({page})" in index, page


def test_every_cheat_sheet_key_is_on_the_shortcuts_page():
    text = (GUIDE / "shortcuts.md").read_text()
    for _group, keys in SHORTCUTS:
        for keys_text, what in keys:
            for key in re.split(r" / |, ", keys_text):
                assert key.strip() in text, f"{key!r} ({what})"


def test_every_command_is_on_the_command_line_page():
    text = (GUIDE / "cli.md").read_text()
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in commands:
        assert re.search(rf"^#+ (`?gradia )?{re.escape(name)}`?$", text, re.M), name


def test_the_walkthrough_shows_every_picture_the_app_makes_for_it():
    text = (GUIDE / "walkthrough.md").read_text()
    for shot in SHOTS:
        assert f"(images/{shot})" in text, shot
        assert (GUIDE / "images" / shot).is_file(), shot


def test_every_relative_link_leads_somewhere():
    for page in GUIDE.glob("*.md"):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: {target}"
