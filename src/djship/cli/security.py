"""Security patches: `djship audit` (host, engine and the live release's image) and
`djship refresh` (the live release rebuilt on fresh OS packages, then shipped)."""

from __future__ import annotations

from pathlib import Path

import click

from djship.cli.app import ENV_OPTION, cli, output
from djship.cli.shipping import (
    TARGET_OPTION,
    TIMEOUT_OPTION,
    known_version,
    open_target,
    shipping_compose,
)
from djship.engine.preflight import check_engine
from djship.errors import DjshipError
from djship.project.layout import find_project


@cli.command()
@ENV_OPTION
@TARGET_OPTION
@click.option("--image", metavar="IMAGE", help="Audit this image instead of the live release.")
@click.option("--host-only", is_flag=True, help="Only the host and its engine, no image.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON on stdout (CI).")
def audit(
    environment: str | None, target: str | None, image: str | None, host_only: bool, as_json: bool
) -> None:
    """Security patches: the kernel, Docker engine, containerd and runc against known escape
    and engine vulnerabilities; the engine's settings; bare metal or VM; the live release's
    pending OS security updates, base image age and Python advisories.
    Exit code: 0 clean, 1 warnings (or not checked), 2 errors."""
    from djship.security.audit import audit as run_audit
    from djship.security.report import as_json as report_json
    from djship.security.report import as_text

    try:
        project = find_project(Path.cwd())
    except DjshipError:
        project = None  # the host alone, or the image named with --image
    report = run_audit(
        output(),
        project,
        image=image,
        environment=environment,
        target=target,
        host_only=host_only,
    )
    click.echo(report_json(report) if as_json else as_text(report))
    raise SystemExit(report.exit_code)


@cli.command()
@ENV_OPTION
@TARGET_OPTION
@TIMEOUT_OPTION
@click.option(
    "--force", is_flag=True, help="Ship the rebuild even when no package changed version."
)
def refresh(
    environment: str | None, target: str | None, timeout: float | None, force: bool
) -> None:
    """Rebuild the live release with a fresh base image and OS packages (no layer cache),
    show which packages changed version, and ship it with the zero-downtime deploy."""
    from djship.security.refresh import refresh as run_refresh
    from djship.shipping.deploy import deploy as ship_release
    from djship.shipping.targets import KUBERNETES, ledger_for, target_name

    compose = shipping_compose(environment)
    check_engine()
    name = target_name(compose.project, target)
    outcome = run_refresh(compose, ledger_for(compose.project, name), name, output(), force=force)
    if outcome.version is None:
        return
    if name == KUBERNETES:
        from djship.export.cluster import deploy_kubernetes

        deploy_kubernetes(compose, outcome.version, output())
    else:
        destination = open_target(compose, target, timeout)
        ship_release(destination, known_version(destination, outcome.version))
    click.echo(outcome.version)
