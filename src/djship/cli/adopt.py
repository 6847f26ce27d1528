"""`djship init`: djship's container setup for an existing Django project. Parses the
arguments, asks what detection could not decide (on a terminal only), prints what was
found and why; deciding and writing live in djship.adopt."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import click

from djship.cli.app import HTTPS_PORT_OPTION, PORT_OPTION, cli, output
from djship.cli.develop import BASES
from djship.errors import DjshipError


@cli.command()
@click.argument(
    "directory",
    required=False,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
)
@click.option("--settings", help="Settings module of development (dotted), when unclear.")
@click.option("--prod-settings", help="Settings module of production (dotted), when unclear.")
@click.option("--wsgi", help="WSGI application as module:callable (e.g. config.wsgi:application).")
@click.option("--python", "python_version", help="Python version (3.12), when no file says.")
@click.option("--requirements", help="The requirements file production installs, when unclear.")
@click.option("--app-dir", help="The directory holding manage.py, when there are several.")
@click.option("--extra", "extras", multiple=True, help="setup.py/setup.cfg extra to install.")
@click.option("--name", help="Compose project name (default: from the directory's name).")
@PORT_OPTION
@HTTPS_PORT_OPTION
@click.option(
    "--base", type=click.Choice(BASES), default="debian", show_default=True, help="Image family."
)
@click.option(
    "--append-env/--no-append-env",
    default=None,
    help="An existing .env: append djship's keys to it (asked on a terminal; default: no, "
    "they go to environments/djship.env).",
)
@click.option("--no-lock", is_flag=True, help="Write the files without making a missing lock.")
@click.option("--dry-run", is_flag=True, help="Print what was found and the files, write nothing.")
def init(
    directory: Path | None,
    settings: str | None,
    prod_settings: str | None,
    wsgi: str | None,
    python_version: str | None,
    requirements: str | None,
    app_dir: str | None,
    extras: tuple[str, ...],
    name: str | None,
    port: int,
    https_port: int,
    base: str,
    append_env: bool | None,
    no_lock: bool,
    dry_run: bool,
) -> None:
    """Give an existing Django project djship's container setup, beside its own files.

    Nothing of the project is overwritten or edited: djship's settings module imports the
    project's settings and sets what the containers decide (database, hosts, secrets,
    static files, HTTPS).
    """
    from djship.adopt.detect import Choices, detect
    from djship.adopt.plan import Inputs, plan
    from djship.adopt.tree import Tree
    from djship.adopt.write import adopt
    from djship.scaffold.render import new_secret

    target = (directory or Path.cwd()).absolute()
    tree = Tree.from_dir(target)
    choices = Choices(settings, prod_settings, wsgi, python_version, requirements, app_dir, extras)
    findings = detect(tree, choices)
    while findings.questions and not findings.blockers:
        question = findings.questions[0]
        answer = _ask(question)
        if question.field == "app_dir" and answer == ".":
            answer = ""
        choices = dataclasses.replace(choices, **{question.field: answer})
        findings = detect(tree, choices)
    if findings.blockers:
        raise DjshipError(
            "cannot adopt this project: " + "; ".join(findings.blockers),
            hint="Nothing was written.",
        )
    out = output()
    root = target / findings.root
    if append_env is None and findings.existing.has_env:
        append_env = sys.stdin.isatty() and click.confirm(
            ".env exists: append the keys djship needs to it (your lines stay as they are)?",
            default=True,
        )
    inputs = Inputs(
        name=name or "",
        directory_name=root.name,
        secret_key=new_secret(),
        db_password=new_secret(24),
        uid=os.getuid(),
        gid=os.getgid(),
        http_port=port,
        https_port=https_port,
        base=base,
        environ=dict(os.environ),
        append_env=bool(append_env),
    )
    adoption = plan(findings, inputs, tree)
    out.step(f"Found in {target}")
    for decision in findings.decisions + adoption.decisions:
        out.info(f"{decision.topic}: {decision.value}\n    why: {decision.reason}")
    for note in findings.notes + adoption.notes:
        out.info(f"- {note}")
    if dry_run:
        out.step(f"Would write in {root}")
        for path in sorted(adoption.files):
            out.info(f"  {path}")
        if adoption.env_append:
            out.info("  .env (appended)")
        return
    adopt(target, adoption, out, lock=not no_lock)
    out.success(f"Adopted {adoption.options.name}: {len(adoption.files)} files written in {root}.")
    out.info(
        f"Next: cd {root} && djship up && djship manage migrate  (production: djship "
        "certificate && djship up --env prod)"
    )


def _ask(question) -> str:
    """A question on the terminal; without one, the flag that answers it is the error."""
    choices = ", ".join(question.candidates)
    if not sys.stdin.isatty():
        raise DjshipError(
            f"{question.prompt}" + (f" Candidates: {choices}." if choices else ""),
            hint=f"Run init again with {question.flag} VALUE (no terminal to ask on).",
        )
    if question.candidates:
        return click.prompt(question.prompt, type=click.Choice(list(question.candidates)))
    return click.prompt(question.prompt)
