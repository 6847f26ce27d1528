"""`djship release`: build the production image, name it with an immutable version, label
it, push it to REGISTRY when there is one, and record it in the target's ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from djship.console import Output
from djship.dependencies.report import refresh_system_packages
from djship.engine.compose import WEB_SERVICE, Compose
from djship.engine.docker import Docker
from djship.engine.runner import capture, feed, stream
from djship.errors import DjshipError
from djship.shipping.deploy import read_graph, record
from djship.shipping.ledger import RELEASED, Event, Ledger
from djship.shipping.release import (
    ReleaseFacts,
    label_dockerfile,
    local_image,
    prod_image,
    registry_image,
)
from djship.shipping.version import Source, decide_version, read_source


def make_release(compose: Compose, ledger: Ledger, target: str, out: Output) -> Event:
    project = compose.project
    docker = Docker()
    refresh_system_packages(project, out, strict=True)  # before the version: it may edit
    now = datetime.now(UTC)
    source = read_source(project.root)
    version = decide_version(source, now)
    image = local_image(project.name, version)
    if capture(docker.image_id(image), check=False).returncode == 0:
        raise DjshipError(
            f"release {version} exists already ({image}): a version names one build",
            hint=f"Deploy it with `djship deploy {version}`, or commit your change first.",
        )
    if source.dirty:
        out.info("The working tree has uncommitted changes: the version says so (-dirty-).")
    built = prod_image(project.name)
    live = capture(docker.image_id(built), check=False).stdout.strip()
    out.step(f"Building release {version}")
    try:
        stream(compose.build(WEB_SERVICE), what="building the production image")
        event = publish_built(
            compose, ledger, target, out, built=built, version=version, now=now, source=source
        )
    finally:
        # Compose's build moved `<project>-web:prod`; until a deploy moves traffic, the tag
        # keeps naming what runs, so a failed deploy restores the live release, not this build.
        if live:
            capture(docker.tag(live, built), check=False)
    out.success(f"Released {version}: `djship deploy {version}` ships it.")
    return event


def publish_built(
    compose: Compose,
    ledger: Ledger,
    target: str,
    out: Output,
    *,
    built: str,
    version: str,
    now: datetime,
    source: Source,
    **extra: str,
) -> Event:
    """A built image made a release: labelled (version, commit, migrations), pushed to
    REGISTRY when there is one, recorded in the ledger. `extra` joins the record's details."""
    project, docker = compose.project, Docker()
    graph = read_graph(built, docker)
    facts = ReleaseFacts(project.name, version, now.isoformat(timespec="seconds"), source, graph)
    image = local_image(project.name, version)
    feed(
        docker.build_labels(built, image, facts.labels()),
        label_dockerfile(built),
        what="labelling the release image",
    )
    image_id = capture(docker.image_id(image)).stdout.strip()
    try:
        pushed = push(docker, project.env.get("REGISTRY", ""), project.name, version, image, out)
    except DjshipError:
        # Not a release until it is where the nodes pull from: a second try rebuilds (cached).
        capture(docker.command("image", "rm", image), check=False)
        raise
    details = {**facts.details(image_id, pushed), **extra}
    event = Event(RELEASED, version, now.isoformat(), target, details)
    record(ledger, event)
    out.info(f"Release {version} is image {image_id[7:19]}.")
    return event


def push(docker: Docker, registry: str, project: str, version: str, image: str, out: Output):
    """The image's name for the nodes: pushed to REGISTRY when set, else the local tag."""
    if not registry:
        return image
    remote = registry_image(registry, project, version)
    capture(docker.tag(image, remote))
    out.step(f"Pushing {remote}")
    try:
        stream(docker.push(remote), what=f"pushing {remote} (is REGISTRY={registry} reachable?)")
    except DjshipError:
        capture(docker.command("image", "rm", remote), check=False)
        raise
    return remote
