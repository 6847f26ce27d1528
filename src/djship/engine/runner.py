"""The one layer that runs external commands: it streams their output and turns failures
into DjshipError. Everything else decides *what* to run and hands a Command here."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import PIPE

from djship.errors import DjshipError


@dataclass(frozen=True)
class Command:
    """An argv to run, where, with which extra environment: plain data, easy to assert on."""

    argv: list[str]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return shlex.join(self.argv)


def _environ(command: Command) -> dict[str, str]:
    return {**os.environ, **command.env}


def _not_installed(command: Command) -> DjshipError:
    program = command.argv[0]
    if program == "docker":
        return DjshipError(
            "Docker is not installed (no `docker` command on PATH)",
            hint="Install Docker Engine or Docker Desktop: https://docs.docker.com/get-docker/",
        )
    return DjshipError(f"`{program}` is not installed (not found on PATH)")


def _run(command: Command, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run in the command's directory and environment; a missing program is a
    DjshipError that says so."""
    try:
        return subprocess.run(command.argv, cwd=command.cwd, env=_environ(command), **kwargs)
    except FileNotFoundError:
        raise _not_installed(command) from None


def capture(
    command: Command, *, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run quietly and return the output; on failure raise with the command's own words.

    `stdin`, when given, is the command's input (a Compose override read with `-f -`, say).
    """
    feeding = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    result = _run(command, capture_output=True, text=True, **feeding)
    if check and result.returncode != 0:
        raise DjshipError(f"`{command}` failed: {last_lines(result.stderr or result.stdout)}")
    return result


def stream(command: Command, *, what: str | None = None) -> None:
    """Run with the output shown live; raise a DjshipError naming the step when it fails."""
    code = interactive(command)
    if code != 0:
        raise DjshipError(f"{what or f'`{command}`'} failed (exit code {code})")


def interactive(command: Command) -> int:
    """Run attached to the terminal (stdin included) and return the exit code."""
    return _run(command).returncode


def lines(command: Command) -> Iterator[str]:
    """The command's output, line by line as it comes (`logs --follow` never ends on its own);
    raise with its own words when it fails. Its stderr goes to a temporary file, read at the
    end: a pipe left unread would stall a command that writes much there before it is done."""
    with tempfile.TemporaryFile(mode="w+", errors="replace") as errors:
        try:
            process = subprocess.Popen(
                command.argv,
                cwd=command.cwd,
                env=_environ(command),
                stdout=PIPE,
                stderr=errors,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
            )
        except FileNotFoundError:
            raise _not_installed(command) from None
        with process:
            assert process.stdout is not None
            yield from process.stdout
        if process.returncode != 0:
            errors.seek(0)
            raise DjshipError(f"`{command}` failed: {last_lines(errors.read())}")


def feed(command: Command, data: bytes, *, what: str | None = None) -> None:
    """Run with `data` on stdin (a tar stream, say); raise with the command's words on failure."""
    result = _run(command, input=data, capture_output=True)
    if result.returncode != 0:
        raise DjshipError(f"{what or f'`{command}`'} failed: {_reason(result)}")


def last_lines(text: str, count: int = 5) -> str:
    """The end of an error output: where tools put the reason."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:]) if lines else "no output"


def _reason(result: subprocess.CompletedProcess[bytes]) -> str:
    return last_lines(result.stderr.decode(errors="replace"))


def to_file(command: Command, path: Path, *, what: str) -> None:
    """Run with stdout written to `path` (a database dump, say); on failure the partial file
    is removed, so a file that exists is a complete one."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            result = _run(command, stdout=out, stderr=PIPE)
    except DjshipError:
        partial.unlink(missing_ok=True)
        raise
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise DjshipError(f"{what} failed: {_reason(result)}")
    partial.rename(path)


def from_file(command: Command, path: Path, *, what: str) -> str:
    """Run with `path` on stdin (a dump to restore); returns stdout, raises on failure."""
    with path.open("rb") as data:
        result = _run(command, stdin=data, capture_output=True)
    if result.returncode != 0:
        raise DjshipError(f"{what} failed: {_reason(result)}")
    return result.stdout.decode(errors="replace")
