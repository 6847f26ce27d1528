"""Which target a command ships to (`--target`, else DEPLOY_TARGET in .env, else the host),
and the ledger each target keeps."""

from __future__ import annotations

from djship.engine.docker import Docker
from djship.errors import DjshipError
from djship.project.layout import DEFAULT_ENVIRONMENT, Project
from djship.shipping.ledger import Ledger

HOST, SWARM, KUBERNETES = "host", "swarm", "kubernetes"
TARGETS = (HOST, SWARM, KUBERNETES)
SHIPPING_ENVIRONMENT = "prod"


def target_name(project: Project, requested: str | None) -> str:
    name = requested or project.env.get("DEPLOY_TARGET") or HOST
    if name not in TARGETS:
        raise DjshipError(
            f"unknown deploy target {name!r} (DEPLOY_TARGET in .env?)",
            hint=f"Choose one of: {', '.join(TARGETS)}.",
        )
    return name


def shipping_environment(project: Project, requested: str | None) -> str:
    """Releases ship a production-like environment, never dev (its image has no code)."""
    environment = project.resolve_environment(requested or SHIPPING_ENVIRONMENT)
    if environment == DEFAULT_ENVIRONMENT:
        raise DjshipError(
            "the dev environment is not shipped: its image holds no code (it is mounted)",
            hint="Use --env prod (or another production-like environment).",
        )
    return environment


def swarm_docker(project: Project) -> Docker:
    """The engine of a swarm manager: SWARM_HOST in .env (a DOCKER_HOST value), else the
    engine the shell selects."""
    return Docker(project.env.get("SWARM_HOST") or None)


def ledger_for(project: Project, target: str) -> Ledger:
    """Swarm: the managers' configs. A host, and Kubernetes (whose releases are built and
    recorded on this engine before the cluster pulls them): this engine's volumes."""
    if target == SWARM:
        return Ledger(project.name, swarm_docker(project), "config")
    return Ledger(project.name, Docker(), "volume")
