"""The PySide6 desktop GUI (entry point: ``gradia-desktop``, see ``app.main``)."""
