"""Every benchmark harness behind ``gradia bench``, kept apart from the product: the GRADIA step
against a plain step (``training_step``), mask export speed (``export``) and the GUI figures
(``gui``: canvas strokes, image switches in the real window, a 10,000-row browser, GUI latency
while training). It may import anything in the package; no product module imports it."""
