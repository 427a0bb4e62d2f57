"""The one exception type that means "the user gave us something we cannot use".

Its message is a single line that names the file or setting and the problem; the CLI prints it
to stderr and exits with status 2, the GUI shows it in a dialog.
"""


class GradiaError(Exception):
    """Bad input or an impossible request, explained in one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class Cancelled(Exception):
    """A long task was cancelled by the user; nothing partial was kept."""


class RunStopped(GradiaError):
    """A process of a distributed run was stopped because another one ended; the launcher says why."""
