"""Kubernetes releases: the manifests of a release rendered into the project, and the
kubectl plan (djship.export.kubectl) run step by step, each waited for, what went wrong shown
and a failed rollout undone. `djship deploy --target kubernetes` and `djship export
kubernetes` both go through here."""

from __future__ import annotations

from pathlib import Path

from djship.console import Output
from djship.engine.compose import Compose
from djship.engine.runner import capture
from djship.engine.running import prepare
from djship.errors import DjshipError
from djship.export.kubectl import Step, cluster_check, release_plan
from djship.export.kubernetes import KubernetesOptions, export_kubernetes
from djship.export.writing import DEFAULT_DIRECTORY, keep_out_of_images, write_export
from djship.shipping.migrations import parse_result


def render(compose: Compose, version: str | None, directory: Path | None, out: Output):
    """Write the manifests of `version` (default: the newest release); returns the export,
    where it was written, and the version."""
    project = compose.project
    config = prepare(compose)  # checks the Compose files and the secrets' .env lines
    version = version or newest_release(project)
    options = KubernetesOptions(
        project.name, compose.environment, version, image_of(project, version)
    )
    result = export_kubernetes(config, project.env, options)
    root = (directory or project.root / DEFAULT_DIRECTORY).resolve()
    write_export(result, root)
    added = keep_out_of_images(project.root, root)
    if added:
        out.info(f"Added {added} to .dockerignore: the secret files stay out of images.")
    for warning in result.warnings:
        out.info(f"warning: {warning}")
    return result, root, version


def plan_of(project, result, root: Path) -> list[Step]:
    context = project.env.get("KUBE_CONTEXT") or None
    return release_plan(result.release, root / result.overlay, context)


def apply_release(steps: list[Step], out: Output, context: str | None = None) -> None:
    """Run the plan in order; a failing step shows why (and undoes a rollout), then stops."""
    check = capture(cluster_check(context), check=False)
    if check.returncode != 0:
        raise DjshipError(
            f"no Kubernetes cluster answers: {check.stderr.strip()[-300:] or 'no output'}",
            hint="Configure kubectl (KUBE_CONTEXT in .env names its context).",
        )
    for step in steps:
        out.step(step.what)
        result = capture(step.command, check=False)
        if step.result and result.returncode == 0:
            parse_result(result.stdout + result.stderr, step.what)
        if result.returncode != 0:
            shown = [capture(command, check=False) for command in step.on_failure]
            details = "\n".join((r.stdout + r.stderr).strip()[-1500:] for r in shown)
            raise DjshipError(
                f"{step.what} failed: {(result.stderr or result.stdout).strip()[-800:]}"
                + (f"\n{details}" if details else ""),
                hint="The pods of the previous release kept serving (maxUnavailable: 0).",
            )


def deploy_kubernetes(compose: Compose, version: str, out: Output) -> None:
    result, root, version = render(compose, version, None, out)
    context = compose.project.env.get("KUBE_CONTEXT") or None
    apply_release(plan_of(compose.project, result, root), out, context)
    out.success(f"Release {version} is live (kubernetes).")


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
