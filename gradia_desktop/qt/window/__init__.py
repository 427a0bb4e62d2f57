"""The window shell: the ``gradia-desktop`` entry point (``app``), the main window that owns the
project and hosts the canvas, browser and model docks, its menus and status bar, the welcome page,
recent projects, the new/open project dialogs, the modal progress dialog, and About / keys help."""
