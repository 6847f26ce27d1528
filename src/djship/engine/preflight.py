"""Checks run before touching the engine, so that a missing Docker, a stopped daemon, an old
Compose or a taken port is one clear sentence instead of a tool's stack of errors."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from pathlib import Path

from djship.engine.runner import Command, capture
from djship.errors import DjshipError
from djship.project.layout import Project

MIN_COMPOSE_MAJOR = 2
PROJECT_LABEL = "com.docker.compose.project"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"


def check_engine() -> None:
    """Docker installed, its daemon answering, and Compose v2 available."""
    info = capture(Command(["docker", "info", "--format", "{{.ServerVersion}}"]), check=False)
    if info.returncode != 0 or not info.stdout.strip():
        raise daemon_error(info.stderr + info.stdout)
    version = capture(Command(["docker", "compose", "version", "--short"]), check=False)
    if version.returncode != 0 or not compose_version_ok(version.stdout):
        raise DjshipError(
            "Docker Compose v2 is missing (`docker compose version` does not answer)",
            hint="Install the Compose plugin: https://docs.docker.com/compose/install/linux/",
        )


def daemon_error(output: str) -> DjshipError:
    """The daemon did not answer: say why in the user's terms."""
    if "permission denied" in output.lower():
        return DjshipError(
            "permission denied on the Docker socket",
            hint="Add your user to the `docker` group (then log in again), or run as root.",
        )
    return DjshipError(
        "the Docker daemon is not answering",
        hint="Start it (`sudo systemctl start docker`, or open Docker Desktop) and try again.",
    )


def compose_version_ok(text: str) -> bool:
    """True for a Compose v2 (or later) version string such as `2.40.3` or `v2.29.1-desktop.1`."""
    head = text.strip().lstrip("v").split(".", 1)[0]
    return head.isdigit() and int(head) >= MIN_COMPOSE_MAJOR


def published_ports(config: dict) -> list[tuple[str, int, str]]:
    """(host address, port, service) for every port the Compose configuration publishes."""
    ports = []
    for service_name, service in sorted(config.get("services", {}).items()):
        for port in service.get("ports", []) or []:
            published = port.get("published")
            if published in (None, ""):
                continue
            ports.append((port.get("host_ip") or "0.0.0.0", int(published), service_name))
    return ports


def port_is_free(host: str, port: int) -> bool:
    """Whether this machine could bind `host:port` now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            if error.errno == errno.EADDRNOTAVAIL:
                raise DjshipError(
                    f"{host} is no address of this machine: port {port} cannot be published there",
                    hint="Set PUBLISH_ADDRESS in .env to one of its addresses (127.0.0.1: this "
                    "machine only; 0.0.0.0: all of them).",
                ) from None
            raise
    return True


PORT_SETTINGS = ("HTTP_PORT", "HTTPS_PORT")


def check_port_settings(project: Project) -> None:
    """The ports .env asks the proxy to publish are ports: Compose's own message ("invalid
    hostPort") names neither the file nor the line."""
    for key in PORT_SETTINGS:
        value = project.env.get(key, "")
        if value and not (value.isdigit() and 1 <= int(value) <= 65535):
            raise DjshipError(
                f".env, line {project.env_line(key)}: {key}={value} is not a port (1 to 65535)"
            )


def check_ports(config: dict, ours: Iterable[int]) -> None:
    """Every published port is free, or already held by this project's own containers."""
    held_by_us = set(ours)
    for host, port, service in published_ports(config):
        if port in held_by_us or port_is_free(host, port):
            continue
        raise DjshipError(
            f"port {port} on {host} is already taken by another program (needed by `{service}`)",
            hint="Stop what uses it, or choose another port in .env (HTTP_PORT).",
        )


def check_ownership(project_name: str, root: Path) -> None:
    """The Compose project's containers, if any, are this directory's: `up` and `down` act on
    every container of the project's name, so another checkout of the same project (or a
    project that happens to share its name) would be recreated or removed, volumes included."""
    working_dirs = project_containers(project_name, f'{{{{.Label "{WORKING_DIR_LABEL}"}}}}')
    others = other_checkouts(working_dirs, root)
    if others:
        raise DjshipError(
            f"the containers of Compose project {project_name!r} belong to another directory: "
            + ", ".join(others),
            hint="Stop them there (`djship down` in that directory), or give this project a "
            "name of its own: COMPOSE_PROJECT_NAME in .env.",
        )


def other_checkouts(working_dirs: str, root: Path) -> list[str]:
    """The Compose working directories, one a line, that are not `root` (sorted, no repeats;
    blank lines are containers Compose did not label, left alone)."""
    mine = root.resolve()
    dirs = {line.strip() for line in working_dirs.splitlines() if line.strip()}
    return sorted(d for d in dirs if Path(d).resolve() != mine)


def ports_of_project(project_name: str) -> list[int]:
    """Host ports the project's running containers publish already."""
    return parse_docker_ports(project_containers(project_name, "{{.Ports}}", running=True))


def project_containers(project_name: str, template: str, running: bool = False) -> str:
    """`docker ps` of the Compose project's containers (stopped ones too unless `running`),
    one line each in Go `template`; empty when the engine says nothing."""
    flags = [] if running else ["--all"]
    command = Command([
        "docker", "ps", *flags, "--filter", f"label={PROJECT_LABEL}={project_name}",
        "--format", template,
    ])  # fmt: skip
    return capture(command, check=False).stdout


def parse_docker_ports(text: str) -> list[int]:
    """Host ports out of `docker ps` Ports columns (`127.0.0.1:8000->80/tcp, ...`)."""
    ports = []
    for column in text.split():
        column = column.rstrip(",")
        if "->" in column:
            host_side = column.split("->", 1)[0]
            port = host_side.rsplit(":", 1)[-1]
            if port.isdigit():
                ports.append(int(port))
    return ports
