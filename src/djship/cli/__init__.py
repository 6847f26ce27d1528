"""The `djship` command line: parses arguments, then asks the deciding modules what to run
and the engine layer to run it. No Docker logic lives here."""

from __future__ import annotations

import sys

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
    sys.exit(code if isinstance(code, int) else 0)
