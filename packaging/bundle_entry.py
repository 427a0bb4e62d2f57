"""The bundle's one executable: `gradia-desktop` opens the app; called through the `gradia` link beside
it, the command line runs instead (the bundle's launcher makes that link)."""

import sys
from pathlib import Path

if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # DataLoader workers and other children start this executable again
    if Path(sys.argv[0]).name.startswith("gradia") and not Path(sys.argv[0]).name.startswith("gradia-desktop"):
        from gradia_desktop.cli import main as cli_main
    else:
        from gradia_desktop.qt.window.app import main as cli_main
    sys.exit(cli_main())
