"""`djship export kubernetes`: the production stack as Kubernetes manifests (a kustomize
layout), derived from the Compose files and .env by djship.export.kubernetes, written to a
directory of the project, with the secrets beside them in git-ignored files."""

from __future__ import annotations

import os
from pathlib import Path

import click

from djship.cli.app import ENV_OPTION, cli, output
from djship.cli.shipping import shipping_compose
from djship.errors import DjshipError

DEFAULT_DIRECTORY = "kubernetes"


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
    from djship.engine.running import prepare
    from djship.export.kubectl import release_plan
    from djship.export.kubernetes import KubernetesOptions, export_kubernetes

    compose = shipping_compose(environment)
    project = compose.project
    config = prepare(compose)  # checks the Compose files and the secrets' .env lines
    version = version or newest_release(project)
    options = KubernetesOptions(
        project.name, compose.environment, version, image_of(project, version)
    )
    result = export_kubernetes(config, project.env, options)
    root = (directory or project.root / DEFAULT_DIRECTORY).resolve()
    write_export(result, root)
    out = output()
    added = keep_out_of_images(project.root, root)
    if added:
        out.info(f"Added {added} to .dockerignore: the secret files stay out of images.")
    for warning in result.warnings:
        out.info(f"warning: {warning}")
    out.success(f"Wrote the {compose.environment} manifests of release {version} to {root}.")
    out.info("A release is applied in this order (`djship deploy --target kubernetes` does it):")
    context = project.env.get("KUBE_CONTEXT") or None
    for step in release_plan(result.release, root / result.overlay, context):
        click.echo(f"  {step.command}")


def image_of(project, version: str) -> str:
    """The release's image as the cluster's nodes pull it (REGISTRY in .env)."""
    from djship.shipping.release import local_image, registry_image

    registry = project.env.get("REGISTRY", "")
    if registry:
        return registry_image(registry, project.name, version)
    return local_image(project.name, version)


def newest_release(project) -> str:
    """The newest release in the ledger of the target releases are made for."""
    from djship.engine.preflight import check_engine
    from djship.shipping.deploy import events
    from djship.shipping.ledger import released
    from djship.shipping.targets import HOST, TARGETS, ledger_for

    check_engine()
    target = (
        project.env.get("DEPLOY_TARGET") if project.env.get("DEPLOY_TARGET") in TARGETS else HOST
    )
    releases = released(events(ledger_for(project, target)))
    if not releases:
        raise DjshipError(
            "no release yet: the manifests name a release's image",
            hint="Make one with `djship release`, or name one with --release VERSION.",
        )
    return max(releases.values(), key=lambda event: event.at).version


def write_export(result, root: Path) -> None:
    """Write the manifests (a file whose text is unchanged is left alone), remove the ones
    an earlier export of this environment wrote and this one does not (an external
    database now, say), then the secret files: a private directory, files for the owner."""
    from djship.export.kubernetes import HEADER

    for relative, text in result.files.items():
        write_if_changed(root / relative, text)
    for part in ("base", "components", result.overlay):
        for path in sorted((root / part).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and relative not in result.files and generated(path, HEADER):
                path.unlink()
    for relative, text in result.secrets.items():
        write_private(root / relative, text.encode())
    for relative, source in result.copies.items():
        if not Path(source).is_file():
            raise DjshipError(
                f"{source} does not exist (the TLS pair of the Compose files)",
                hint="`djship certificate` makes a local pair; for a cluster, set "
                "CERT_MANAGER_ISSUER in .env to let cert-manager issue one.",
            )
        write_private(root / relative, Path(source).read_bytes())


def write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generated(path: Path, header: str) -> bool:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\n") == header


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if not path.is_file() or path.read_bytes() != data:
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        os.chmod(partial, 0o600)
        partial.replace(path)
    os.chmod(path, 0o600)


def keep_out_of_images(project_root: Path, root: Path) -> str | None:
    """The secret files must never reach an image: the build context is the project, so
    .dockerignore gets a line for them when the export lives inside it. Returns the line
    when it was added."""
    from djship.export.kubernetes import dockerignore_line

    if not root.is_relative_to(project_root):
        return None
    line = dockerignore_line(root.relative_to(project_root).as_posix())
    ignore = project_root / ".dockerignore"
    text = ignore.read_text(encoding="utf-8") if ignore.is_file() else ""
    if line in text.splitlines():
        return None
    note = "# Kubernetes secrets written by `djship export kubernetes`: never in an image."
    ignore.write_text(f"{text.rstrip()}\n{note}\n{line}\n".lstrip(), encoding="utf-8")
    return line
