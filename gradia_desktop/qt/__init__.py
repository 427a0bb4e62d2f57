"""The PySide6 desktop GUI, one sub-package per room: ``window`` (entry point ``gradia-desktop``,
see ``window.app.main``), ``canvas``, ``browser``, ``models`` and ``transfer``. The GUI computes
nothing itself: it calls ``core`` and ``training``, the same functions as the CLI."""
