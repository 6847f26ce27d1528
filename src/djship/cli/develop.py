"""Commands of the development and single-host loop: create a project, run it, reach into
it, lock its dependencies, build its image, hotfix it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from djship.cli.app import (
    ENV_OPTION,
    HTTPS_PORT_OPTION,
    PORT_OPTION,
    cli,
    current_compose,
    output,
)
from djship.engine.compose import WEB_SERVICE, Compose, for_lock, forwarded_variables, stdin_is_tty
from djship.engine.logs import matches, merged, parse_all, render
from djship.engine.preflight import (
    check_engine,
    check_ownership,
    check_ports,
    ports_of_project,
)
from djship.engine.runner import capture, interactive, lines, stream
from djship.engine.running import (
    image_size_suffix,
    prepare,
    proxy_url,
    start_failure,
    wait_until_healthy,
)
from djship.errors import DjshipError
from djship.project.layout import DEFAULT_ENVIRONMENT, find_project
from djship.project.locking import TOOLS
from djship.project.tls import check_tls_files, tls_paths

# Modules behind a single command (templates, cryptography, wheel tags) are imported by that
# command only: `djship ps` or `djship manage` must start fast.
BASES = ("alpine", "debian")  # djship.dependencies.platforms.TARGETS (checked by the tests)


@cli.command()
@click.argument("name")
@click.option(
    "--directory",
    "-d",
    type=click.Path(path_type=Path),
    help="Where to create it (default: ./NAME).",
)
@click.option(
    "--lock",
    "lock_tool",
    type=click.Choice(sorted(TOOLS)),
    default="uv",
    show_default=True,
    help="Lock tool for the dependencies.",
)
@PORT_OPTION
@HTTPS_PORT_OPTION
@click.option(
    "--base",
    type=click.Choice(BASES),
    default="debian",
    show_default=True,
    help="Image family: the slim Debian or the Alpine official Python image.",
)
def new(
    name: str, directory: Path | None, lock_tool: str, port: int, https_port: int, base: str
) -> None:
    """Create a new Django project with its container setup."""
    from djship.scaffold.render import (
        ProjectOptions,
        check_target,
        images_from_environment,
        new_secret,
        render_project,
        template_packages,
        validate_name,
        write_project,
    )

    validate_name(name)
    target = (directory or Path.cwd() / name).absolute()
    check_target(target)
    options = ProjectOptions(
        name=name,
        lock=TOOLS[lock_tool],
        secret_key=new_secret(),
        db_password=new_secret(24),
        uid=os.getuid(),
        gid=os.getgid(),
        http_port=port,
        https_port=https_port,
        images=images_from_environment(dict(os.environ), base),
        ca_bundle=os.environ.get("BUILD_CA_BUNDLE", ""),
        base=base,
        packages=template_packages(base),
    )
    write_project(target, render_project(options))
    out = output()
    out.success(f"Created {name} in {target} (Django 5.2, {lock_tool}, {base} images).")
    out.info(f"Next: cd {target} && djship up")


@cli.command()
@ENV_OPTION
@click.option(
    "--build/--no-build",
    default=True,
    show_default=True,
    help="Build the images first (cached layers make it quick; a stale image is never run).",
)
@click.option("--timeout", default=300, show_default=True, help="Seconds to wait for health.")
def up(environment: str | None, build: bool, timeout: int) -> None:
    """Start the application (detached), wait until it is healthy, print its URL."""
    compose = current_compose(environment)
    out = output()
    if compose.environment != DEFAULT_ENVIRONMENT:
        check_tls_files(compose.project)
    check_engine()
    check_ownership(compose.project.name, compose.project.root)
    config = prepare(compose, out)
    check_ports(config, ports_of_project(compose.project.name))
    if build and compose.environment != DEFAULT_ENVIRONMENT:
        from djship.shipping.deploy import replaced_release_note
        from djship.shipping.targets import HOST, ledger_for

        note = replaced_release_note(ledger_for(compose.project, HOST))
        if note:
            out.info(note)
    if build:
        from djship.dependencies.report import refresh_system_packages

        refresh_system_packages(compose.project, out, strict=False)
        out.step(f"Building images ({compose.environment})")
        stream(compose.build(), what="building the images")
    out.step(f"Starting {compose.project.name} ({compose.environment})")
    try:
        stream(compose.up(), what="starting the containers")
    except DjshipError:
        raise start_failure(compose, config) from None
    wait_until_healthy(compose, config, timeout, out)
    url = proxy_url(compose)
    out.success(f"{compose.project.name} is up ({compose.environment}): {url}")
    click.echo(url)


@cli.command()
@ENV_OPTION
@click.option("--volumes", is_flag=True, help="Also delete the volumes (the database!).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Allow --volumes outside the dev environment.")
def down(environment: str | None, volumes: bool, yes: bool, force: bool) -> None:
    """Stop and remove the containers; the data stays unless --volumes."""
    compose = current_compose(environment)
    if volumes:
        refuse_volume_deletion(compose, yes=yes, force=force)
    check_engine()
    check_ownership(compose.project.name, compose.project.root)
    if volumes and not yes:
        click.confirm(
            f"Delete the volumes of {compose.project.name} ({compose.environment}), "
            "database included?",
            abort=True,
        )
    stream(compose.down(volumes=volumes), what="stopping the application")
    output().success(
        f"{compose.project.name} is down"
        + (" and its volumes deleted." if volumes else "; its data is kept.")
    )


def refuse_volume_deletion(compose: Compose, *, yes: bool, force: bool) -> None:
    """Deleting volumes deletes the database: refuse outside dev without --force, and without
    --yes where nobody can be asked (the question comes once the engine is checked)."""
    if compose.environment != DEFAULT_ENVIRONMENT and not force:
        raise DjshipError(
            f"refusing to delete the volumes of the {compose.environment} environment",
            hint="That deletes its database. Add --force if you really mean it.",
        )
    if not yes and not stdin_is_tty():
        raise DjshipError("--volumes deletes the database: confirm with --yes")


@cli.command()
@ENV_OPTION
def ps(environment: str | None) -> None:
    """List the containers and their health."""
    compose = current_compose(environment)
    check_engine()
    stream(compose.ps())


@cli.command()
@ENV_OPTION
@click.argument("services", nargs=-1)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", "-n", default="", help="Only the last N lines of each service.")
@click.option("--since", default="", help="Only lines since T (2026-12-02T10:00:00, 10m, 2h).")
@click.option("--grep", default="", help="Only lines containing TEXT (any case).")
@click.option("--request", "request_id", default="", help="One request's lines (its X-Request-ID).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def logs(
    environment: str | None,
    services: tuple[str, ...],
    follow: bool,
    tail: str,
    since: str,
    grep: str,
    request_id: str,
    as_json: bool,
) -> None:
    """All services' logs (or SERVICES') merged in time order, each line tagged.

    `--request ID` follows one request through nginx, uWSGI and Django: the proxy logs every
    request with the id it gives it, uWSGI and Django the ones worth a look.
    """
    compose = current_compose(environment)
    check_engine()
    command = compose.logs(services, follow=follow, tail=tail, since=since)
    try:
        raw = lines(command)
        found = parse_all(raw) if follow else iter(merged(raw))
        for line in found:
            if matches(line, grep, request_id):
                click.echo(render(line, as_json=as_json))
    except KeyboardInterrupt:
        raise SystemExit(0) from None


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@ENV_OPTION
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(environment: str | None, args: tuple[str, ...]) -> None:
    """Run `python manage.py ARGS` in the web container (e.g. `djship manage migrate`)."""
    raise SystemExit(run_manage(environment, args))


@cli.command()
@ENV_OPTION
def shell(environment: str | None) -> None:
    """Open Django's shell in the web container."""
    raise SystemExit(run_manage(environment, ("shell",)))


def run_manage(environment: str | None, args: tuple[str, ...]) -> int:
    compose = current_compose(environment)
    check_engine()
    running = WEB_SERVICE in capture(compose.running_services()).stdout.split()
    if not running:
        prepare(compose)  # a one-off container mounts the secret files
    forward = forwarded_variables(dict(os.environ))
    return interactive(compose.manage(args, running=running, tty=stdin_is_tty(), forward=forward))


@cli.command()
def lock() -> None:
    """Refresh the lock file with the project's Python, in a container; it lands on the host."""
    project = find_project(Path.cwd())
    compose = for_lock(project, output().plain)
    tool = project.lock_tool
    lock_file = project.root / tool.lock_file
    before = lock_file.read_bytes() if lock_file.exists() else b""
    # .env is read first (the project's name): a bad line is named here, before Compose
    # reads the file and fails the lock container with no line number.
    step = f"Locking the dependencies of {project.name} with {tool.name} (in a container)"
    check_engine()
    output().step(step)
    stream(compose.lock(), what=f"`{tool.name} lock`")
    changed = (lock_file.read_bytes() if lock_file.exists() else b"") != before
    output().success(
        f"{tool.lock_file} updated: `djship up` rebuilds with it."
        if changed
        else f"{tool.lock_file} is already up to date."
    )
    from djship.dependencies.report import refresh_system_packages

    refresh_system_packages(project, output(), strict=False)


@cli.command()
@ENV_OPTION
def reload(environment: str | None) -> None:
    """Hotfix: ship the current code into the running web container and reload it gracefully.

    uWSGI replaces its workers one by one (chain reload): no request fails, and the command
    returns once every worker runs the new code. The hotfix lasts until the container is
    recreated; rebuild (`djship up --build`) to make it permanent.
    """
    compose = current_compose(environment)
    if compose.environment == DEFAULT_ENVIRONMENT:
        output().success("dev reloads by itself when a .py file changes: nothing to do.")
        return
    check_engine()
    if WEB_SERVICE not in capture(compose.running_services()).stdout.split():
        raise DjshipError(
            f"the web service of {compose.environment} is not running",
            hint=f"Start it with `djship up --env {compose.environment}`.",
        )
    from djship.shipping.reload import ship_hotfix

    ship_hotfix(compose, output())


@cli.command()
@click.option("--host", "hosts", multiple=True, help="Name or IP it is valid for (repeatable).")
@click.option("--force", is_flag=True, help="Replace an existing pair.")
def certificate(hosts: tuple[str, ...], force: bool) -> None:
    """Make a self-signed TLS pair for a local production run (TLS_CERT_FILE, TLS_KEY_FILE)."""
    from djship.scaffold.certificate import DEFAULT_HOSTS, self_signed

    project = find_project(Path.cwd())
    cert_path, key_path = tls_paths(project)
    if not force and (cert_path.exists() or key_path.exists()):
        raise DjshipError(
            f"{cert_path} or {key_path} exists already", hint="Add --force to replace them."
        )
    pair = self_signed(hosts or DEFAULT_HOSTS)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(pair.certificate_pem)
    key_path.write_bytes(pair.key_pem)
    # Readable by the proxy's root, which holds no DAC capability: a local, throwaway key.
    key_path.chmod(0o644)
    output().success(f"Wrote {cert_path} and {key_path} (self-signed, for local runs only).")


@cli.command()
@ENV_OPTION
def build(environment: str | None) -> None:
    """Build the web image of an environment and print its size."""
    compose = current_compose(environment)
    check_engine()
    from djship.dependencies.report import refresh_system_packages

    refresh_system_packages(compose.project, output(), strict=True)
    output().step(f"Building the {compose.environment} image")
    stream(compose.build(WEB_SERVICE), what="building the image")
    image = f"{compose.project.name}-{WEB_SERVICE}:{compose.environment}"
    output().success(f"Built {image}{image_size_suffix(image)}")
