"""Shipping to a Docker Swarm: the stack derived from the Compose files (stackfile), handed
to `docker stack deploy` on a manager (SWARM_HOST in .env, else the engine the shell
selects), and the rollout watched until Swarm converges or rolls back.

Swarm itself replaces the web tasks one at a time, starting each new one before stopping an
old one, and only counts a new task once its healthcheck passes; it takes a task out of its
DNS before stopping it, and the web containers keep serving a moment after SIGTERM
(WEB_STOP_DELAY), so nginx, which asks for `tasks.web` per request, never loses a request.
Migrations run once, as a Swarm job of the release's image, before the stack changes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from djship.console import Output
from djship.engine.compose import WEB_SERVICE, Compose
from djship.engine.health import health_window
from djship.engine.runner import capture, from_file, to_file
from djship.engine.running import prepare
from djship.errors import DjshipError
from djship.shipping.backups import DUMP_SCRIPT, RESTORE_SCRIPT
from djship.shipping.deploy import ReleaseFailed, events
from djship.shipping.ledger import Ledger, released
from djship.shipping.lock import deploy_lock
from djship.shipping.migrations import manage_argv, parse_result
from djship.shipping.rollout import (
    CONVERGED,
    WAITING,
    judge_rollout,
    node_problems,
    parse_tasks,
)
from djship.shipping.stackfile import DB, Stack, StackOptions, derive_stack, stack_yaml
from djship.shipping.targets import swarm_docker

STOP_DELAY = 2  # seconds a stopping web task keeps serving (nginx's DNS answers live 1 s)
JOB_LABEL = "io.djship.job"
JOB_ENDS = ("complete", "failed", "rejected", "shutdown")


@dataclass
class SwarmTarget:
    compose: Compose
    out: Output
    timeout: float | None = None
    name: str = "swarm"

    def __post_init__(self) -> None:
        self.project = self.compose.project.name
        self.root = self.compose.project.root
        self.environment = self.compose.environment
        self.docker = swarm_docker(self.compose.project)
        self.manager = check_manager(self.docker)
        self.config = prepare(self.compose, self.out)  # logging and secret files from .env

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.project, self.docker, "config")

    def lock(self, image: str):
        return deploy_lock(self.docker, self.project, "config", image)

    def release_image(self, version: str) -> str:
        """The name nodes pull the release by: the one it was pushed under."""
        event = released(events(self.ledger)).get(version)
        image = (event.details.get("image") if event else "") or ""
        if "/" not in image:  # a registry's name holds its host: host[:port]/name:tag
            raise DjshipError(
                f"release {version} was not pushed to a registry, so the nodes cannot pull it",
                hint="Set REGISTRY in .env (a registry every node reaches) and release again.",
            )
        return image

    # --- the stack -----------------------------------------------------------------------

    def stack(self, version: str, image: str, replicas: int | None = None) -> Stack:
        return stack_for(self.compose, self.config, version, image, self.manager, replicas)

    def web_healthcheck(self) -> dict | None:
        return self.config["services"][WEB_SERVICE].get("healthcheck")

    def apply(self, stack: Stack) -> None:
        for warning in stack.warnings:
            self.out.info(f"warning: {warning}")
        command = self.docker.command(
            "stack", "deploy", "--with-registry-auth", "--compose-file", "-", self.project
        )
        capture(command, stdin=stack_yaml(stack))

    def service(self, name: str) -> str:
        return f"{self.project}_{name}"

    def tasks(self, service: str) -> list:
        command = ["service", "ps", "--no-trunc", "--format", "{{json .}}", service]
        return parse_tasks(capture(self.docker.command(*command)).stdout)

    def exists(self, service: str) -> bool:
        inspect = self.docker.inspect("service", self.service(service))
        return capture(inspect, check=False).returncode == 0

    # --- database ------------------------------------------------------------------------

    def ensure_database(self) -> None:
        """A first deploy creates the stack with no web task yet (secrets, networks, db), so
        that migrations run before any web task serves."""
        if self.exists(DB):
            return
        newest = max(released(events(self.ledger)).values(), key=lambda e: e.at)
        image = self.release_image(newest.version)
        self.out.step(f"Creating the {self.project} stack (database first)")
        self.apply(self.stack(newest.version, image, replicas=0))
        self.wait_services((DB,), 180)

    def db_container(self) -> str:
        ids = capture(
            self.docker.command(
                "ps",
                "--quiet",
                "--filter",
                f"label=com.docker.swarm.service.name={self.service(DB)}",
            )
        ).stdout.split()
        if not ids:
            raise DjshipError(
                f"the database task does not run on {self.manager}, the node djship talks to",
                hint="Back it up from its node's engine, or keep DB_NODE on the manager.",
            )
        return ids[0]

    def backup(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        command = self.docker.command("exec", self.db_container(), "sh", "-c", DUMP_SCRIPT)
        to_file(command, path, what="backing up the database (pg_dump)")

    def restore(self, path: Path) -> None:
        command = self.docker.command("exec", "-i", self.db_container(), "sh", "-c", RESTORE_SCRIPT)
        from_file(command, path, what="restoring the database (pg_restore)")

    def django(self, image: str, request: dict, what: str) -> dict:
        """The migrations script as a Swarm job: the release's image with the web service's
        environment, secrets and network; its output read back from the job's logs."""
        stack = self.stack("job", image)
        self.create_missing_secrets(stack)
        web = stack.data["services"][WEB_SERVICE]
        name = self.service(f"djship-{secrets.token_hex(3)}")
        flags = ["--name", name, "--mode", "replicated-job", "--restart-condition", "none"]
        flags += ["--label", f"{JOB_LABEL}={self.project}", "--network", self.service("default")]
        for key, value in web.get("environment", {}).items():
            flags += ["--env", f"{key}={value.replace('$$', '$')}"]
        for reference in web.get("secrets", []):
            real = stack.data["secrets"][reference["source"]]["name"]
            flags += ["--secret", f"source={real},target={reference['target']}"]
        capture(self.docker.command("service", "create", "--detach", *flags, image,
                                    *manage_argv(request)))  # fmt: skip
        try:
            self.wait_job(name, what)
            logs = capture(self.docker.command("service", "logs", "--raw", name), check=False)
            return parse_result(logs.stdout + logs.stderr, what)
        finally:
            capture(self.docker.command("service", "rm", name), check=False)

    def wait_job(self, name: str, what: str) -> None:
        deadline = time.monotonic() + 600
        with self.out.status(f"{what} (a Swarm job)") as line:
            while time.monotonic() < deadline:
                tasks = self.tasks(name)
                states = [t.current.split(" ", 1)[0].lower() for t in tasks]
                line.update(f"{what}: {', '.join(states) or 'scheduling'}")
                if states and all(
                    s in ("complete", "failed", "rejected", "shutdown") for s in states
                ):
                    return
                time.sleep(1)
        raise DjshipError(f"{what}: the Swarm job did not finish within 10 minutes")

    def create_missing_secrets(self, stack: Stack) -> None:
        """A job may need a secret the stack has not created yet (a value changed in .env):
        create it as the stack would, with the stack's label."""
        existing = set(
            capture(self.docker.command("secret", "ls", "--format", "{{.Name}}")).stdout.split()
        )
        for spec in stack.data.get("secrets", {}).values():
            if spec["name"] not in existing and spec.get("file"):
                label = f"com.docker.stack.namespace={self.project}"
                capture(
                    self.docker.command(
                        "secret", "create", "--label", label, spec["name"], spec["file"]
                    )
                )

    # --- moving traffic ------------------------------------------------------------------

    def check_nodes(self) -> None:
        listing = capture(
            self.docker.command("node", "ls", "--format", "{{.Hostname}} {{.Status}}")
        )
        db_node = self.compose.project.env.get("DB_NODE") or self.manager
        warnings, error = node_problems(listing.stdout, db_node)
        for warning in warnings:
            self.out.info(f"warning: {warning}")
        if error:
            raise DjshipError(
                f"{error}: its volume is there, so the database cannot run elsewhere",
                hint="Bring the node back (or move the data and DB_NODE) before deploying.",
            )

    def switch(self, version: str, image: str) -> None:
        self.check_nodes()
        stack = self.stack(version, image)
        replicas = stack.data["services"][WEB_SERVICE]["deploy"]["replicas"]
        self.out.step(f"Deploying the stack with release {version} ({replicas} web tasks)")
        self.apply(stack)
        self.wait_rollout(version, image, replicas)
        self.wait_services(tuple(stack.data["services"]), 120)

    def rollout_window(self, replicas: int) -> float:
        if self.timeout:
            return self.timeout
        per_task = health_window(self.web_healthcheck()) + 15
        return replicas * per_task + health_window(self.web_healthcheck()) + 60

    def wait_rollout(self, version: str, image: str, replicas: int) -> None:
        service = self.service(WEB_SERVICE)
        deadline = time.monotonic() + self.rollout_window(replicas)
        with self.out.status(f"Waiting for Swarm to roll out {version}") as line:
            while True:
                inspect = json.loads(capture(self.docker.inspect("service", service)).stdout)[0]
                tasks = self.tasks(service)
                verdict = judge_rollout(inspect.get("UpdateStatus"), tasks, image, replicas)
                line.update(f"{version}: {verdict.summary}")
                if verdict.state == CONVERGED:
                    return
                if verdict.state != WAITING or time.monotonic() > deadline:
                    break
                time.sleep(2)
        if verdict.state == WAITING:
            raise ReleaseFailed(f"release {version} did not converge in time ({verdict.summary})")
        raise ReleaseFailed(
            f"Swarm {verdict.state} release {version}: {verdict.reason or verdict.summary}; "
            "the previous release keeps serving.",
            hint="`docker service ps --no-trunc " + service + "` shows every task's error.",
        )

    def wait_services(self, services: tuple[str, ...], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.out.status("Waiting for the services") as line:
            while time.monotonic() < deadline:
                listing = capture(
                    self.docker.command("stack", "services", "--format", "{{json .}}", self.project)
                ).stdout
                rows = {
                    json.loads(r)["Name"]: json.loads(r)["Replicas"]
                    for r in listing.splitlines()
                    if r
                }
                wanted = {self.service(s): rows.get(self.service(s), "0/?") for s in services}
                line.update(", ".join(f"{k}: {v}" for k, v in sorted(wanted.items())))
                if all(replicas_ready(value) for value in wanted.values()):
                    return
                time.sleep(2)
        raise DjshipError(f"the services did not start within {int(timeout)} s ({wanted})")


def stack_for(
    compose: Compose,
    config: dict,
    version: str,
    image: str,
    manager: str | None,
    replicas: int | None = None,
) -> Stack:
    """The stack of `config` (the resolved production Compose files) for one release."""
    env = compose.project.env
    files = bind_files(config)
    healthcheck = config["services"][WEB_SERVICE].get("healthcheck")
    options = StackOptions(
        project=compose.project.name,
        version=version,
        web_image=image,
        replicas=int(env.get("WEB_REPLICAS") or 2) if replicas is None else replicas,
        db_node=env.get("DB_NODE") or manager,
        monitor_seconds=int(health_window(healthcheck) + 10),
        digests={path: digest(path) for path in files + secret_files(config)},
        private=frozenset(path for path in files if is_private_key(path)),
    )
    stack = derive_stack(config, options)
    web = stack.data["services"][WEB_SERVICE]
    web.setdefault("environment", {})["WEB_STOP_DELAY"] = str(STOP_DELAY)
    return stack


def replicas_ready(text: str) -> bool:
    running, _, wanted = text.partition("/")
    wanted = wanted.split(" ", 1)[0]
    return running.isdigit() and wanted.isdigit() and int(running) >= int(wanted)


def check_manager(docker) -> str:
    """The hostname of the manager djship talks to; a clear error when it is none."""
    result = capture(docker.command("info", "--format", "{{json .Swarm}}|{{.Name}}"), check=False)
    if result.returncode != 0:
        raise DjshipError(f"the swarm's engine does not answer: {result.stderr.strip()[-300:]}")
    swarm, _, hostname = result.stdout.strip().rpartition("|")
    state = json.loads(swarm or "{}")
    if state.get("LocalNodeState") != "active":
        raise DjshipError(
            "this engine is not part of a swarm",
            hint="Run `docker swarm init` (or join one), or set SWARM_HOST to a manager.",
        )
    if not state.get("ControlAvailable"):
        raise DjshipError("this engine is a swarm worker", hint="Set SWARM_HOST to a manager.")
    return hostname


def bind_files(config: dict) -> list[str]:
    """Files bind-mounted into services: they travel to the nodes as configs or secrets."""
    paths = []
    for service in config.get("services", {}).values():
        for volume in service.get("volumes", []):
            if volume.get("type") == "bind" and Path(volume.get("source", "")).is_file():
                paths.append(volume["source"])
    return sorted(set(paths))


def secret_files(config: dict) -> list[str]:
    return sorted(spec["file"] for spec in config.get("secrets", {}).values() if spec.get("file"))


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_private_key(path: str) -> bool:
    return b"PRIVATE KEY" in Path(path).read_bytes()[:4096]
