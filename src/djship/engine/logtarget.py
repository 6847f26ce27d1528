"""Applying LOG_TARGET before containers are created: the logging override is written (or
removed) and, for a receiver Docker must reach at start, the receiver is tried first.

A syslog or GELF receiver over TCP that does not answer makes Docker refuse to start the
container at all (moby #21966): logs must never stop the app, so djship then writes the
override for Docker's `local` driver instead, says so, and the next start or deploy with
the receiver back ships to it again. A receiver that goes away later costs only lines: the
drivers write in non-blocking mode.
"""

from __future__ import annotations

import socket
from pathlib import Path

from ruamel.yaml import YAML

from djship.console import Output
from djship.project.envfile import EnvFileError
from djship.project.layout import DEFAULT_ENVIRONMENT, ENVIRONMENTS_DIR, LOGGING_FILE, Project
from djship.project.logtarget import (
    VARIABLE,
    LogTarget,
    LogTargetError,
    is_ours,
    override_text,
    parse_log_target,
)

PROBE_SECONDS = 2.0


def apply_log_target(project: Project, environment: str, out: Output | None) -> LogTarget:
    """What the environment's containers will log to, once its override file says so."""
    path = project.root / ENVIRONMENTS_DIR / environment / LOGGING_FILE
    target = read_target(project) if environment != DEFAULT_ENVIRONMENT else LogTarget()
    if not target.remote and target.driver != "local":
        remove_ours(path)
        return target
    reason = ""
    if target.needs_receiver_at_start and not answers(target.host, target.port):
        reason = (
            f"{VARIABLE}'s receiver {target.address} did not answer: Docker would refuse to "
            "start the containers, so they log locally (`local` driver) until the next start."
        )
        if out is not None:
            out.warning(reason)
        target = LogTarget("local")
    text = override_text(target, service_names(project, environment), reason)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        if path.is_file() and not is_ours(path.read_text(encoding="utf-8")):
            return target  # the user's own file: theirs to edit
        path.write_text(text, encoding="utf-8")
    return target


def read_target(project: Project) -> LogTarget:
    try:
        return parse_log_target(project.env.get(VARIABLE, ""))
    except LogTargetError as error:
        raise EnvFileError(".env", project.env_line(VARIABLE) or 0, error.message) from None


def remove_ours(path: Path) -> None:
    if path.is_file() and is_ours(path.read_text(encoding="utf-8")):
        path.unlink()


def answers(host: str, port: int) -> bool:
    """Whether a TCP connection to the receiver opens (from this host, as dockerd dials)."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def service_names(project: Project, environment: str) -> list[str]:
    """The services the environment's own Compose files define, in their order (read as
    YAML: the override must exist before `docker compose config` can run)."""
    names: list[str] = []
    yaml = YAML(typ="safe")
    for name in project.compose_files(environment):
        if name.endswith(LOGGING_FILE):
            continue
        data = yaml.load((project.root / name).read_text(encoding="utf-8")) or {}
        names += [s for s in (data.get("services") or {}) if s not in names]
    return names
