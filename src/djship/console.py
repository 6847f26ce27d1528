"""Terminal output: rich when a person watches, plain lines for CI and `--plain`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property


class Output:
    """Messages, progress and errors, in one place so that plain mode is honoured everywhere."""

    def __init__(self, plain: bool | None = None) -> None:
        if plain is None:
            plain = bool(os.environ.get("CI")) or not sys.stderr.isatty()
        self.plain = plain

    @cached_property
    def console(self):
        """rich's Console, created on first use: most commands never print through it."""
        from rich.console import Console

        return Console(
            stderr=True,
            highlight=False,
            no_color=self.plain or None,
            force_terminal=False if self.plain else None,
            soft_wrap=self.plain,  # CI logs: one message, one line, greppable
        )

    def info(self, message: str) -> None:
        if self.plain:
            _plain(message)
        else:
            self.console.print(message, markup=False)

    def step(self, message: str) -> None:
        """A stage of a long command ("Building images", ...)."""
        if self.plain:
            _plain(f"==> {message}")
        else:
            self.console.print(f"[bold cyan]==>[/] [bold]{_escape(message)}[/]")

    def success(self, message: str) -> None:
        if self.plain:
            _plain(message)
        else:
            self.console.print(f"[bold green]{_escape(message)}[/]")

    def warning(self, message: str) -> None:
        """Something works, but not as asked (a fallback was taken): say what and why."""
        if self.plain:
            _plain(f"warning: {message}")
        else:
            self.console.print(f"[bold yellow]warning:[/] {_escape(message)}")

    def error(self, message: str, hint: str | None = None) -> None:
        if self.plain:
            _plain(f"error: {message}")
            if hint:
                _plain(f"hint: {hint}")
            return
        self.console.print(f"[bold red]error:[/] {_escape(message)}")
        if hint:
            self.console.print(f"[yellow]hint:[/] {_escape(hint)}")

    @contextmanager
    def status(self, message: str) -> Iterator[StatusLine]:
        """A live line (spinner) updated while waiting; plain mode prints each new state once."""
        line = StatusLine(message)
        if self.plain:
            _plain(f"... {message}")
            yield line
            return
        with self.console.status(_escape(message)) as live:
            line.live = live
            yield line


def _plain(text: str) -> None:
    """Plain mode: a line on stderr as it is (no rich: fast, and nothing wrapped or styled)."""
    print(text, file=sys.stderr, flush=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class StatusLine:
    """The text of a running status: set it as things change; plain mode prints changes only."""

    def __init__(self, message: str) -> None:
        self.last = message
        self.live = None

    def update(self, message: str) -> None:
        if message == self.last:
            return
        self.last = message
        if self.live is not None:
            self.live.update(_escape(message))
        else:
            _plain(f"... {message}")
