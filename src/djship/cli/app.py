"""The `djship` command group and what every command shares: the output, the --env option,
the project around the current directory. Commands live in modules of their own, by area."""

from __future__ import annotations

from pathlib import Path

import click

from djship import __version__
from djship.console import Output
from djship.engine.compose import Compose
from djship.project.layout import find_project

ENV_OPTION = click.option(
    "--env",
    "environment",
    metavar="ENV",
    help="Environment to use (a directory under environments/); default: the one .env selects.",
)

# The ports a new or adopted project's proxy publishes: checked here, before .env gets them.
PORT_OPTION = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="HTTP port the proxy publishes.",
)
HTTPS_PORT_OPTION = click.option(
    "--https-port",
    type=click.IntRange(1, 65535),
    default=8443,
    show_default=True,
    help="HTTPS port (prod).",
)


def output() -> Output:
    return click.get_current_context().find_object(Output) or Output()


def current_compose(environment: str | None) -> Compose:
    """The project around the current directory, in the requested (or default) environment."""
    project = find_project(Path.cwd())
    return Compose(project, project.resolve_environment(environment), output().plain)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--plain", is_flag=True, help="Plain output: no colours or live lines (CI logs).")
@click.version_option(__version__, prog_name="djship")
@click.pass_context
def cli(ctx: click.Context, plain: bool) -> None:
    """Container setup for Django projects: generate it, run it, ship it."""
    ctx.obj = Output(plain=True if plain else None)
