"""Shipping to one host with Docker Compose: the new web container starts beside the live
one and takes traffic only once healthy; the old one then drains and stops.

How traffic moves, without reloading nginx (a reload closes clients' idle keep-alive
connections): on one host nginx connects to uWSGI through /run/web/live.sock, a symbolic
link to the live container's Unix socket in a volume they share, followed at each new
connection. Once the new container's healthcheck passes, the link is renamed to point at
it: every new connection goes there at once. The old container then holds only the
requests it had; it is stopped with its grace period, and uWSGI finishes them first.
(Removing a container from Docker's DNS instead would leave a window: uWSGI keeps its
listening socket open while it drains, so connections arriving then are reset.)

`docker compose up` keeps agreeing with what runs: the compose file's image tag
(`<project>-web:prod`) points at the live release, and the one web container left is the
release's, created by Compose itself from the same definition.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from djship.console import Output
from djship.engine.compose import PROXY_SERVICE, WEB_SERVICE, Compose
from djship.engine.docker import Docker
from djship.engine.health import container_state, health_window, seconds
from djship.engine.runner import capture, from_file, stream, to_file
from djship.engine.running import prepare, wait_until_healthy
from djship.errors import DjshipError
from djship.shipping.backups import DUMP_SCRIPT, RESTORE_SCRIPT
from djship.shipping.deploy import ReleaseFailed
from djship.shipping.ledger import Ledger
from djship.shipping.lock import deploy_lock
from djship.shipping.migrations import manage_argv, parse_result
from djship.shipping.release import local_image, prod_image, registry_image

DB_SERVICE = "db"
# Run in a web container, it points the proxy's live.sock link at that container's socket.
LIVE_SOCKET_SCRIPT = "/app/environments/prod/live-socket.py"


@dataclass
class HostTarget:
    """One host, the engine `docker compose` talks to."""

    compose: Compose
    out: Output
    timeout: float | None = None
    name: str = "host"

    def __post_init__(self) -> None:
        self.docker = Docker()
        self.root = self.compose.project.root
        self.environment = self.compose.environment
        self.project = self.compose.project.name
        self.config = prepare(self.compose, self.out)  # logging and secret files from .env

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.project, self.docker, "volume")

    def lock(self, image: str):
        return deploy_lock(self.docker, self.project, "container", image)

    def release_image(self, version: str) -> str:
        """The local image of a release; pulled from REGISTRY when this host lacks it."""
        image = local_image(self.project, version)
        if capture(self.docker.image_id(image), check=False).returncode == 0:
            return image
        registry = self.compose.project.env.get("REGISTRY", "")
        if not registry:
            raise DjshipError(f"this host has no image of release {version} ({image})")
        remote = registry_image(registry, self.project, version)
        self.out.step(f"Pulling {remote}")
        stream(self.docker.pull(remote), what=f"pulling {remote} (is REGISTRY reachable?)")
        capture(self.docker.tag(remote, image))
        return image

    def django(self, image: str, request: dict, what: str) -> dict:
        """The migrations script in a one-off container of `image`, with the database,
        environment and secrets of the web service (Compose's own definition of it)."""
        command, override = self.compose.run_image(WEB_SERVICE, image, manage_argv(request))
        result = capture(command, check=False, stdin=override)
        return parse_result(result.stdout + result.stderr, what)

    def ensure_database(self) -> None:
        """The database runs and answers (a first deploy starts it), before any migration."""
        stream(self.compose.start(DB_SERVICE), what="starting the database")
        wait_until_healthy(self.compose, self.config, 120, self.out, services=(DB_SERVICE,))

    def backup(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file(
            self.compose.command("exec", "-T", DB_SERVICE, "sh", "-c", DUMP_SCRIPT),
            path,
            what="backing up the database (pg_dump)",
        )

    def restore(self, path: Path) -> None:
        from_file(
            self.compose.command("exec", "-T", DB_SERVICE, "sh", "-c", RESTORE_SCRIPT),
            path,
            what="restoring the database (pg_restore)",
        )

    # --- moving traffic ------------------------------------------------------------------

    def running_web(self) -> list[str]:
        return capture(self.compose.container_ids(WEB_SERVICE)).stdout.split()

    def switch(self, version: str, image: str) -> None:
        """Traffic to `image`: `<project>-web:prod` names it (what Compose runs), restored to
        the live image if the release fails."""
        tag = prod_image(self.project)
        before = capture(self.docker.image_id(tag), check=False).stdout.strip()
        capture(self.docker.tag(image, tag))
        try:
            self.replace_web(version)
        except BaseException:
            if before:
                capture(self.docker.tag(before, tag), check=False)
            raise

    def replace_web(self, version: str) -> None:
        live = self.running_web()
        if not live:
            self.out.step(f"Starting {self.project} on release {version}")
            stream(self.compose.start(), what="starting the application")
            wait_until_healthy(self.compose, self.config, int(self.window()), self.out)
            return
        self.out.step(f"Starting release {version} beside the live container")
        stream(self.compose.scale(WEB_SERVICE, len(live) + 1), what="starting the new container")
        fresh = [cid for cid in self.running_web() if cid not in live]
        if len(fresh) != 1:
            raise DjshipError(f"expected one new web container, found {len(fresh)}")
        candidate = fresh[0]
        try:
            self.wait_healthy(candidate, version)
        except BaseException:
            capture(self.docker.command("rm", "--force", candidate), check=False)
            raise
        stream(self.compose.start(PROXY_SERVICE, no_deps=True), what="starting the proxy")
        self.out.step("Sending traffic to it; draining and stopping the previous container")
        capture(self.docker.exec(candidate, "python", LIVE_SOCKET_SCRIPT))
        grace = int(seconds(self.config["services"][WEB_SERVICE].get("stop_grace_period"), 10))
        capture(self.docker.command("stop", "--time", str(grace), *live))
        capture(self.docker.command("rm", *live))

    def window(self) -> float:
        if self.timeout:
            return self.timeout
        return health_window(self.config["services"][WEB_SERVICE].get("healthcheck")) + 15

    def wait_healthy(self, container: str, version: str) -> None:
        deadline = time.monotonic() + self.window()
        started = time.monotonic()
        with self.out.status(f"Waiting for release {version} to be healthy") as line:
            while True:
                inspect = json.loads(capture(self.docker.inspect("container", container)).stdout)
                state = container_state(inspect[0])
                if state.ready(has_healthcheck=True):
                    return
                elapsed = int(time.monotonic() - started)
                line.update(f"Release {version}: {state.label} ({elapsed} s)")
                if state.failed or time.monotonic() > deadline:
                    break
                time.sleep(1)
        self.discard(container, version, state.label)

    def discard(self, container: str, version: str, label: str) -> None:
        logs = capture(self.docker.command("logs", "--tail", "25", container), check=False)
        raise ReleaseFailed(
            f"release {version} never became healthy ({label}); it was stopped and the "
            f"live release keeps serving.\nIts last log lines:\n"
            + (logs.stdout + logs.stderr).rstrip(),
            hint="Fix it and release again; `djship releases` shows what is live.",
        )
