"""`djship doctor`: audit the setup in the current directory."""

from __future__ import annotations

from pathlib import Path

import click

from djship import __version__
from djship.cli.app import ENV_OPTION, cli, output


@cli.command()
@ENV_OPTION
@click.option("--json", "as_json", is_flag=True, help="Findings as JSON on stdout.")
@click.option("--sarif", is_flag=True, help="Findings as SARIF 2.1.0 on stdout (code scanning).")
@click.option("--fix", is_flag=True, help="Repair what is safe to repair in .env, and say what.")
def doctor(environment: str | None, as_json: bool, sarif: bool, fix: bool) -> None:
    """Audit the Docker + Django setup here (made by djship or not): what is wrong, where,
    why it matters, how to fix it. Exit code: 0 clean, 1 warnings, 2 errors."""
    from djship.doctor.audit import audit, find_setup, repair_env
    from djship.doctor.findings import as_json as findings_json
    from djship.doctor.findings import as_sarif, as_text, exit_code

    setup = find_setup(Path.cwd(), environment)
    if fix:
        for change in repair_env(setup):
            output().info(f"fixed .env: {change}")
    findings = audit(setup)
    if sarif:
        click.echo(as_sarif(findings, __version__))
    elif as_json:
        click.echo(findings_json(findings))
    else:
        click.echo(as_text(findings))
    raise SystemExit(exit_code(findings))
