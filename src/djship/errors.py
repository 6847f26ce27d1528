"""The one exception type the CLI turns into a readable message and a non-zero exit."""

from __future__ import annotations


class DjshipError(Exception):
    """A failure the user can act on.

    The CLI prints `message` (and `hint`, the next thing to try) and exits with `exit_code`,
    never a traceback: anything else escaping is a bug in djship.
    """

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
