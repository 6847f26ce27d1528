"""One deploy at a time per project: a lock every operator of the host or swarm sees.

The lock is an engine object with a fixed name, since the engine refuses a second object of
the same name: a container that is created and never started on a host, a config on a
swarm (shared by every manager). Its labels say who took it and when, for the message a
second deploy gets, and for removing a lock left by a deploy that was killed.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from djship.engine.docker import Docker
from djship.engine.runner import capture, feed
from djship.errors import DjshipError
from djship.shipping.ledger import now_iso

LOCK_LABEL = "io.djship.deploy-lock"


def lock_name(project: str) -> str:
    return f"{project}-deploy-lock"


def holder() -> str:
    return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "at": now_iso()})


@contextmanager
def deploy_lock(docker: Docker, project: str, kind: str, image: str) -> Iterator[None]:
    """Hold the project's deploy lock for the duration of the block."""
    name = lock_name(project)
    label = f"{LOCK_LABEL}={holder()}"
    if kind == "config":
        command = docker.command("config", "create", "--label", label, name, "-")
        taken = try_take(lambda: feed(command, b"locked\n", what="taking the deploy lock"))
    else:
        command = docker.command(
            "container", "create", "--name", name, "--label", label,
            "--network", "none", "--entrypoint", "true", image,
        )  # fmt: skip
        taken = try_take(lambda: capture(command))
    if not taken:
        raise busy(docker, project, kind)
    try:
        yield
    finally:
        removal = ["config", "rm", name] if kind == "config" else ["container", "rm", name]
        capture(docker.command(*removal), check=False)


def try_take(take) -> bool:
    try:
        take()
    except DjshipError as error:
        if "already" in error.message or "Conflict" in error.message:
            return False
        raise
    return True


def busy(docker: Docker, project: str, kind: str) -> DjshipError:
    name = lock_name(project)
    result = capture(
        docker.command(kind, "inspect", "--format", "{{json .}}", name), check=False
    ).stdout
    since = ""
    try:
        data = json.loads(result)
        labels = data.get("Config", {}).get("Labels") or data.get("Spec", {}).get("Labels") or {}
        who = json.loads(labels.get(LOCK_LABEL, "{}"))
        since = f" (started {who.get('at')} on {who.get('host')}, pid {who.get('pid')})"
    except (ValueError, AttributeError):
        pass
    removal = f"docker {kind} rm {name}"
    return DjshipError(
        f"another deploy or rollback of {project} is running{since}",
        hint=f"Wait for it to end. If it was killed and none runs, remove the lock: `{removal}`.",
    )
