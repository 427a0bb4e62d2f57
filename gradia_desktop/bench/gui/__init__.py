"""GUI benchmarks (``gradia bench --gui`` and ``--training``); they need a QApplication and run
offscreen. ``run`` gathers the workspace figures; each other module times one thing."""
