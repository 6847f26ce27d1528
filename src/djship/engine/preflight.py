"""Checks run before touching the engine, so that a missing Docker, a stopped daemon, an old
Compose or a taken port is one clear sentence instead of a tool's stack of errors."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable

from djship.engine.runner import Command, capture
from djship.errors import DjshipError

MIN_COMPOSE_MAJOR = 2


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
            raise
    return True


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


def ports_of_project(project_name: str) -> list[int]:
    """Host ports the project's running containers publish already."""
    result = capture(
        Command(
            [
                "docker",
                "ps",
                "--filter",
                f"label=com.docker.compose.project={project_name}",
                "--format",
                "{{.Ports}}",
            ]
        ),
        check=False,
    )
    return parse_docker_ports(result.stdout)


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
