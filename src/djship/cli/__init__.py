"""The `djship` command line: parses arguments, then asks the deciding modules what to run
and the engine layer to run it. No Docker logic lives here."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from djship.cli import adopt, dependencies, develop, doctor, export, security, shipping  # noqa: F401
from djship.cli.app import cli
from djship.console import Output
from djship.errors import DjshipError


def main(argv: list[str] | None = None) -> None:
    """Entry point: DjshipError becomes one readable message and its exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        code = cli.main(args=args, prog_name="djship", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        Output(plain="--plain" in args or None).error("aborted")
        sys.exit(1)
    except DjshipError as error:
        Output(plain="--plain" in args or None).error(error.message, error.hint)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except (OSError, UnicodeDecodeError) as error:
        # What the machine refused (a directory not writable, a file that is no text): the
        # user's to fix, in one line, as any other failure of theirs.
        Output(plain="--plain" in args or None).error(system_error_message(error))
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def system_error_message(error: OSError | UnicodeDecodeError) -> str:
    """One line for an error the operating system or a file's bytes raised."""
    if isinstance(error, UnicodeDecodeError):
        where = decoded_path(error)
        return (
            f"{where or 'a file'} is not UTF-8 text (byte {error.object[error.start]:#04x} at "
            f"offset {error.start}): save it as UTF-8"
        )
    names = [str(name) for name in (error.filename, error.filename2) if name is not None]
    reason = error.strerror or str(error)
    return f"{reason}: {' -> '.join(names)}" if names else reason


def decoded_path(error: UnicodeDecodeError) -> Path | None:
    """The file being read when the bytes failed to decode: the Path whose read_text (or
    open) is the innermost frame that has one, as pathlib reads it for djship."""
    found = None
    for frame, _ in traceback.walk_tb(error.__traceback__):
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Path):
            found = candidate
    return found
