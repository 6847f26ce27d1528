"""`djship deps`: which wheels fit the image, which system packages each dependency needs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from djship.cli.app import cli, output
from djship.cli.develop import BASES
from djship.project.layout import find_project

ARCHITECTURES = ("x86_64", "aarch64")  # djship.dependencies.platforms.ARCHITECTURES


@cli.command()
@click.option("--base", type=click.Choice(BASES), help="Image family (default: the project's).")
@click.option("--arch", type=click.Choice(ARCHITECTURES), default="x86_64", show_default=True)
@click.option("--offline", is_flag=True, help="Use only the index cache, never the network.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def deps(base: str | None, arch: str, offline: bool, as_json: bool) -> None:
    """Which wheels fit the image and which system packages each dependency needs."""
    from djship.dependencies.platforms import target_for
    from djship.dependencies.report import project_report, report_as_data, unknown_hint

    project = find_project(Path.cwd())
    target = target_for(base or project.base, arch)
    report = project_report(project, target, offline=offline)
    if as_json:
        click.echo(json.dumps(report_as_data(report), indent=2))
    else:
        show_report(report)
    if report.unknown:
        output().error(
            "some dependencies build from source with no known system packages",
            unknown_hint(report),
        )


def show_report(report) -> None:
    """The report as a table (a person) or as lines (--plain)."""
    out = output()
    out.step(f"Dependencies on {report.target.describe()}")
    rows = [
        (
            d.name,
            d.version,
            "wheel" if d.wheel else "source",
            " ".join(d.build) or "-",
            " ".join(d.runtime) or "-",
            d.reason if (d.build or d.runtime or d.unknown) else "",
        )
        for d in report.decisions
    ]
    if out.plain:
        for row in rows:
            out.info("  ".join(row).rstrip())
    else:
        from rich.table import Table

        table = Table(
            "distribution", "version", "installs from", "build stage", "runtime", "why", box=None
        )
        for row in rows:
            table.add_row(*row)
        out.console.print(table)
    out.info(f"build stage: {' '.join(report.build_packages) or '(nothing)'}")
    out.info(f"runtime:     {' '.join(report.runtime_packages) or '(nothing)'}")
