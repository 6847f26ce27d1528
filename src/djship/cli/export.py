"""`djship export kubernetes`: the production stack as Kubernetes manifests (a kustomize
layout), derived from the Compose files and .env by djship.export.kubernetes, written to a
directory of the project, with the secrets beside them in git-ignored files."""

from __future__ import annotations

from pathlib import Path

import click

from djship.cli.app import ENV_OPTION, cli, output
from djship.cli.shipping import shipping_compose
from djship.export.writing import DEFAULT_DIRECTORY


@cli.group()
def export() -> None:
    """Hand the production setup to another platform, derived from the Compose files."""


@export.command()
@ENV_OPTION
@click.option(
    "--output",
    "-o",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Where to write the manifests (default: {DEFAULT_DIRECTORY}/ in the project).",
)
@click.option(
    "--release",
    "version",
    metavar="VERSION",
    help="The release whose image the manifests run (default: the newest one).",
)
def kubernetes(environment: str | None, directory: Path | None, version: str | None) -> None:
    """Write Kubernetes manifests for an environment (default: prod): base/, the database
    component, and overlays/ENV/ that `kubectl apply -k` accepts."""
    from djship.export.cluster import plan_of, render

    compose = shipping_compose(environment)
    out = output()
    result, root, version = render(compose, version, directory, out)
    out.success(f"Wrote the {compose.environment} manifests of release {version} to {root}.")
    out.info("A release is applied in this order (`djship deploy --target kubernetes` does it):")
    for step in plan_of(compose.project, result, root):
        click.echo(f"  {step.command}")
