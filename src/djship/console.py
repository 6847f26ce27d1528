"""Terminal output: rich when a person watches, plain lines for CI and `--plain`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape as _escape


class Output:
    """Messages, progress and errors, in one place so that plain mode is honoured everywhere."""

    def __init__(self, plain: bool | None = None) -> None:
        if plain is None:
            plain = bool(os.environ.get("CI")) or not sys.stderr.isatty()
        self.plain = plain
        self.console = Console(
            stderr=True,
            highlight=False,
            no_color=plain or None,
            force_terminal=False if plain else None,
            soft_wrap=plain,  # CI logs: one message, one line, greppable
        )

    def info(self, message: str) -> None:
        self.console.print(message, markup=False)

    def step(self, message: str) -> None:
        """A stage of a long command ("Building images", ...)."""
        if self.plain:
            self.console.print(f"==> {message}", markup=False)
        else:
            self.console.print(f"[bold cyan]==>[/] [bold]{_escape(message)}[/]")

    def success(self, message: str) -> None:
        if self.plain:
            self.console.print(message, markup=False)
        else:
            self.console.print(f"[bold green]{_escape(message)}[/]")

    def error(self, message: str, hint: str | None = None) -> None:
        if self.plain:
            self.console.print(f"error: {message}", markup=False)
            if hint:
                self.console.print(f"hint: {hint}", markup=False)
            return
        self.console.print(f"[bold red]error:[/] {_escape(message)}")
        if hint:
            self.console.print(f"[yellow]hint:[/] {_escape(hint)}")

    @contextmanager
    def status(self, message: str) -> Iterator[StatusLine]:
        """A live line (spinner) updated while waiting; plain mode prints each new state once."""
        line = StatusLine(self, message)
        if self.plain:
            self.console.print(f"... {message}", markup=False)
            yield line
            return
        with self.console.status(_escape(message)) as live:
            line.live = live
            yield line


class StatusLine:
    """The text of a running status: set it as things change; plain mode prints changes only."""

    def __init__(self, output: Output, message: str) -> None:
        self.output = output
        self.last = message
        self.live = None

    def update(self, message: str) -> None:
        if message == self.last:
            return
        self.last = message
        if self.live is not None:
            self.live.update(_escape(message))
        else:
            self.output.console.print(f"... {message}", markup=False)
