"""``gradia-desktop [PROJECT] [--demo] [--screenshot OUT.png | --screenshot-training OUT.png]``: the GUI.

Also ``--guide-screenshots DIR`` (the user guide's pictures, guide_tour.py), ``--install-desktop`` (the
launcher, icons and project file type, as ``gradia desktop install`` does: a bundle has no ``gradia``
on the PATH) and ``--version``. PROJECT is a project folder or the project.sqlite inside one (what a
file manager passes)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QtMsgType, QTimer, qInstallMessageHandler
from PySide6.QtGui import QIcon, QImageWriter
from PySide6.QtWidgets import QApplication, QMessageBox

from ... import __version__
from ...core.desktop_integration import icon_svg
from ...core.schema import DB_NAME
from ...errors import Cancelled, GradiaError

ORGANIZATION = "GRADIA"
APPLICATION = "gradia-desktop"
WINDOW_SIZE = (1440, 900)
SCREENSHOT_DELAY_MS = 300  # lets the first layout and paint settle before grabbing
ICON = icon_svg()  # shipped in the package (wheel and bundle alike)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradia-desktop", description="GRADIA Desktop: review Grad-CAM "
                                     "heatmaps and paint attention masks.")
    parser.add_argument("--version", action="version", version=f"gradia-desktop {__version__}")
    parser.add_argument("project", nargs="?", help=f"project folder to open (or the {DB_NAME} in it)")
    parser.add_argument("--demo", action="store_true",
                        help="open the built-in demo project (created on first use)")
    parser.add_argument("--screenshot", metavar="OUT.png", type=Path,
                        help="show the window, save a picture of it to OUT.png and exit")
    parser.add_argument("--screenshot-training", metavar="OUT.png", type=Path,
                        help="start a short GRADIA run, save a picture mid-training to OUT.png, cancel and exit")
    parser.add_argument("--guide-screenshots", metavar="DIR", type=Path,
                        help="play the user guide's walkthrough on a fresh demo project in a temporary folder "
                             "and save one picture per step in DIR (a few minutes), then exit")
    parser.add_argument("--install-desktop", action="store_true",
                        help="add this copy of the app to the desktop's menus and file manager (your "
                             "~/.local/share), as `gradia desktop install` does, and exit")
    return parser


def _error(message: str) -> None:
    """One line on stderr; a dialog when there is no console (e.g. the Windows GUI launcher)."""
    if sys.stderr is not None:
        print(f"gradia-desktop: {message}", file=sys.stderr)
    else:
        _application()
        QMessageBox.critical(None, "GRADIA Desktop", message)


def _application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    if ICON.is_file():
        app.setWindowIcon(QIcon(str(ICON)))
    return app


def _drop_offscreen_noise(mode: QtMsgType, context, message: str) -> None:
    # The offscreen platform (headless screenshots, CI) warns about this on every window; harmless.
    if message != "This plugin does not support propagateSizeHints()":
        print(message, file=sys.stderr)


def _save_problem(out: Path) -> str:
    if not out.parent.is_dir():
        return f"{out}: cannot save the screenshot (folder {out.parent} does not exist)"
    formats = {bytes(f).decode() for f in QImageWriter.supportedImageFormats()}
    if out.suffix.lower().lstrip(".") not in formats:
        return f"{out}: cannot save the screenshot (unknown image type {out.suffix or '(no suffix)'}, use .png)"
    return f"{out}: cannot save the screenshot (not writable)"


def open_start_project(window, folder: str | Path, scripted: bool) -> bool:
    """Show ``folder`` in ``window`` at start-up. A project another process holds is offered
    read-only (a ``scripted`` run - a screenshot - opens it read-only without asking). When it cannot
    be shown, the reason goes to stderr as one line and the window stays on the welcome page, which
    says it too; returns False then."""
    from .project_opening import open_project

    try:
        project = open_project(window, folder, ask=not scripted)
    except Cancelled:
        return False
    except GradiaError as exc:
        window.welcome.show_error(str(exc))
        _say(str(exc))
        return False
    if not window.set_project(project, dialog=False):
        _say(window.welcome.error())
        return False
    return True


def _say(message: str) -> None:
    """One line on stderr, when there is one (the window shows the message anyway)."""
    if sys.stderr is not None and message:
        print(f"gradia-desktop: {message}", file=sys.stderr)


def _install_desktop() -> int:
    from ...core import desktop_integration

    try:
        report = desktop_integration.install()
    except GradiaError as exc:
        _error(str(exc))
        return 2
    print(f"installed GRADIA Desktop's launcher, icons, metainfo and project file type in {report.data_dir}")
    return 0


def project_folder(path: str) -> Path:
    """The project folder named by ``path``: the folder itself, or the folder around its database."""
    folder = Path(path).expanduser()
    return folder.parent if folder.name == DB_NAME and folder.is_file() else folder


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.install_desktop:
        return _install_desktop()
    if args.project and (args.demo or args.guide_screenshots):
        _error("give a project folder, --demo or --guide-screenshots, not two of them")
        return 2
    scripted = args.screenshot is not None or args.screenshot_training is not None

    app = _application()
    if app.platformName() == "offscreen" and sys.stderr is not None:
        qInstallMessageHandler(_drop_offscreen_noise)
    if args.guide_screenshots is not None:
        from .guide_tour import run_guide_screenshots

        return run_guide_screenshots(app, args.guide_screenshots.expanduser().resolve(), _error)
    from .main_window import MainWindow  # after QApplication: widgets need it
    from .progress_dialog import ensure_demo_project

    folder = project_folder(args.project) if args.project else None
    if args.demo:
        try:
            folder = ensure_demo_project()
        except Cancelled:
            return 1
        except GradiaError as exc:
            _error(str(exc))
            return 2

    window = MainWindow()
    if folder and not open_start_project(window, folder, scripted) and scripted:
        window.close()
        return 2  # a scripted run has nobody to read the welcome page
    window.resize(*WINDOW_SIZE)
    window.show()
    if args.demo and window.project is not None:
        window.offer.start_if_offered()  # the first launch: the window is usable while the baseline trains
    if args.screenshot is not None:
        out = args.screenshot.expanduser().resolve()

        def shoot() -> None:
            ok = window.grab().save(str(out))
            if not ok:
                _error(_save_problem(out))
            window.close()
            app.exit(0 if ok else 1)

        _after_baseline(window, shoot)
    elif args.screenshot_training is not None:
        from ..models.training_screenshot import shoot_while_training

        out = args.screenshot_training.expanduser().resolve()

        def finished(ok: bool) -> None:
            if not ok:
                _error(_save_problem(out) if window.version else "no model version to fine-tune: train one first")
            window.close()
            app.exit(0 if ok else 1)

        _after_baseline(window, lambda: shoot_while_training(window, out, finished))
    return app.exec()


def _after_baseline(window, action) -> None:
    """Run ``action`` shortly, or, on a first launch whose baseline is training, once it has finished."""
    if window.offer.worker is not None:
        window.offer.finished.connect(lambda: QTimer.singleShot(SCREENSHOT_DELAY_MS, action))
    else:
        QTimer.singleShot(SCREENSHOT_DELAY_MS, action)


if __name__ == "__main__":
    sys.exit(main())
