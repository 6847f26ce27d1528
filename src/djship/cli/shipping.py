"""Commands that ship: release, releases, deploy, rollback, and the database's backups."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from djship.cli.app import ENV_OPTION, cli, output
from djship.engine.compose import Compose, stdin_is_tty
from djship.engine.preflight import check_engine
from djship.errors import DjshipError
from djship.project.layout import DEFAULT_ENVIRONMENT, find_project

TARGET_OPTION = click.option(
    "--target",
    type=click.Choice(("host", "swarm", "kubernetes")),
    help="Where releases run (default: DEPLOY_TARGET in .env, else host).",
)
TIMEOUT_OPTION = click.option(
    "--timeout",
    type=float,
    help="Seconds a release may take to become healthy (default: from its healthcheck).",
)


def shipping_compose(environment: str | None) -> Compose:
    from djship.shipping.targets import shipping_environment

    project = find_project(Path.cwd())
    return Compose(project, shipping_environment(project, environment), output().plain)


def open_target(compose: Compose, target: str | None, timeout: float | None = None):
    from djship.shipping.host import HostTarget
    from djship.shipping.targets import KUBERNETES, SWARM, target_name

    name = target_name(compose.project, target)
    if name == KUBERNETES:
        raise DjshipError(
            "on Kubernetes, djship deploys releases only (the cluster keeps the rest)",
            hint="Go back with `djship deploy --target kubernetes VERSION`, or "
            "`kubectl rollout undo`; back up with your storage's snapshots.",
        )
    check_engine()
    if name == SWARM:
        from djship.shipping.swarm import SwarmTarget

        return SwarmTarget(compose, output(), timeout)
    return HostTarget(compose, output(), timeout)


def known_version(target, version: str | None) -> str:
    """`version`, checked against the ledger; by default the newest release."""
    from djship.shipping.deploy import events
    from djship.shipping.ledger import released

    releases = released(events(target.ledger))
    if not releases:
        raise DjshipError("no release yet on this target", hint="Make one: `djship release`.")
    newest = max(releases.values(), key=lambda event: event.at).version
    chosen = version or newest
    if chosen not in releases:
        raise DjshipError(
            f"unknown release {chosen!r}",
            hint=f"Known releases (newest first): {', '.join(sorted_versions(releases))}.",
        )
    return chosen


def sorted_versions(releases: dict) -> list[str]:
    return [e.version for e in sorted(releases.values(), key=lambda e: e.at, reverse=True)]


@cli.command()
@ENV_OPTION
@TARGET_OPTION
def release(environment: str | None, target: str | None) -> None:
    """Build the production image as a release with an immutable version (the git commit)."""
    from djship.shipping.publish import make_release
    from djship.shipping.targets import ledger_for, target_name

    compose = shipping_compose(environment)
    check_engine()
    name = target_name(compose.project, target)
    event = make_release(compose, ledger_for(compose.project, name), name, output())
    click.echo(event.version)


@cli.command()
@TARGET_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def releases(target: str | None, as_json: bool) -> None:
    """List the releases: version, image, migrations, which is live, which failed or were
    rolled back, and when."""
    from djship.shipping.deploy import events
    from djship.shipping.ledger import summarize
    from djship.shipping.targets import ledger_for, target_name

    project = find_project(Path.cwd())
    check_engine()
    rows = summarize(events(ledger_for(project, target_name(project, target))))
    if as_json:
        click.echo(json.dumps([asdict(row) for row in rows], indent=2))
        return
    if not rows:
        output().info("No release yet: make one with `djship release`.")
        return
    show_releases(rows)


def show_releases(rows) -> None:
    out = output()
    header = ("version", "image", "released", "status", "when", "migrations")
    lines = [
        (
            row.version,
            row.image_id[7:19],
            row.released_at[:19],
            row.status or "-",
            row.status_at[:19] or "-",
            ", ".join(f"{app} {name}" for app, name in row.migrations.items()) or "-",
        )
        for row in rows
    ]
    if out.plain:
        for line in (header, *lines):
            click.echo("  ".join(line))
        return
    from rich.table import Table

    table = Table(*header, box=None)
    for line in lines:
        table.add_row(*line, style="bold green" if line[3] == "live" else None)
    out.console.print(table)


@cli.command()
@click.argument("version", required=False)
@ENV_OPTION
@TARGET_OPTION
@TIMEOUT_OPTION
def deploy(
    version: str | None, environment: str | None, target: str | None, timeout: float | None
) -> None:
    """Ship a release (default: the newest) with no failed request: migrations once, after a
    backup; traffic moves once the release is healthy."""
    from djship.shipping.deploy import deploy as ship_release
    from djship.shipping.targets import KUBERNETES, target_name

    compose = shipping_compose(environment)
    if target_name(compose.project, target) == KUBERNETES:
        from djship.export.cluster import deploy_kubernetes

        deploy_kubernetes(compose, version, output())
        return
    destination = open_target(compose, target, timeout)
    ship_release(destination, known_version(destination, version))


@cli.command()
@click.argument("version", required=False)
@ENV_OPTION
@TARGET_OPTION
@TIMEOUT_OPTION
@click.option(
    "--migrate",
    is_flag=True,
    help="Reverse the migrations the target release lacks first (with the live code).",
)
def rollback(
    version: str | None,
    environment: str | None,
    target: str | None,
    timeout: float | None,
    migrate: bool,
) -> None:
    """Go back to an earlier release (default: the previous live one)."""
    from djship.shipping.deploy import events
    from djship.shipping.deploy import rollback as roll_back
    from djship.shipping.ledger import previous_live

    destination = open_target(shipping_compose(environment), target, timeout)
    if version is None:
        version = previous_live(events(destination.ledger))
        if version is None:
            raise DjshipError("no earlier live release to roll back to (see `djship releases`)")
    roll_back(destination, known_version(destination, version), migrate=migrate)


@cli.command()
@click.argument("version", required=False)
@ENV_OPTION
def stack(version: str | None, environment: str | None) -> None:
    """Print the Swarm stack file derived from the Compose files (what a swarm deploy uses)."""
    from djship.engine.running import prepare
    from djship.shipping.release import registry_image
    from djship.shipping.stackfile import stack_yaml
    from djship.shipping.swarm import stack_for

    compose = shipping_compose(environment)
    project = compose.project
    registry = project.env.get("REGISTRY", "")
    version = version or "VERSION"
    image = (
        registry_image(registry, project.name, version)
        if registry
        else f"{project.name}-web:{version}"
    )
    check_engine()
    click.echo(stack_yaml(stack_for(compose, prepare(compose), version, image, None)), nl=False)


# --- the database --------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Back up and restore the database (PostgreSQL custom-format dumps in backups/)."""


def db_target(environment: str | None, target: str | None):
    project = find_project(Path.cwd())
    compose = Compose(project, project.resolve_environment(environment), output().plain)
    return open_target(compose, target)


@db.command()
@ENV_OPTION
@TARGET_OPTION
def backup(environment: str | None, target: str | None) -> None:
    """Dump the database into backups/ now."""
    from djship.shipping.deploy import take_backup

    path = take_backup(db_target(environment, target), "manual", "Backup requested")
    click.echo(path)


@db.command()
def backups() -> None:
    """List the backups, newest first."""
    from djship.shipping.backups import list_backups

    found = list_backups(find_project(Path.cwd()).root)
    if not found:
        output().info("No backup yet: `djship db backup` makes one (deploys do before migrating).")
    for item in found:
        click.echo(
            f"{item.path.name}  {item.environment}  {item.taken_at:%Y-%m-%d %H:%M:%S}Z  "
            f"{item.label}  {item.size} bytes"
        )


@db.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ENV_OPTION
@TARGET_OPTION
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Allow restoring outside the dev environment.")
def restore(
    file: Path, environment: str | None, target: str | None, yes: bool, force: bool
) -> None:
    """Replace the database's content with a backup (asks first; --force outside dev)."""
    destination = db_target(environment, target)
    if destination.environment != DEFAULT_ENVIRONMENT and not force:
        raise DjshipError(
            f"refusing to restore over the {destination.environment} database",
            hint="That replaces its data with the backup's. Add --force if you mean it.",
        )
    if not yes:
        if not stdin_is_tty():
            raise DjshipError("restoring replaces the database's content: confirm with --yes")
        click.confirm(
            f"Replace the {destination.environment} database with {file.name}?", abort=True
        )
    output().step(f"Restoring {file.name} into the {destination.environment} database")
    destination.restore(file)
    output().success(f"Restored {file.name}.")
