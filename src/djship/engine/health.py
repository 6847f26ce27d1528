"""Reading container states from `docker compose ps --format json` and deciding whether the
stack is up, still starting, or broken: pure functions, tested without an engine."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceState:
    service: str
    state: str  # running, exited, restarting, created...
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int

    @property
    def label(self) -> str:
        if self.state == "running" and self.health:
            return self.health
        if self.state == "exited":
            return f"exited ({self.exit_code})"
        return self.state

    def ready(self, has_healthcheck: bool) -> bool:
        """Running and healthy; without a healthcheck, running is all there is to know.

        A service that has a healthcheck but reports no health has just been (re)started:
        not ready yet (a crash-looping container looks like that between restarts).
        """
        if self.state == "exited":
            return self.exit_code == 0  # a one-off job that finished well
        if self.state != "running":
            return False
        return self.health == "healthy" or (not has_healthcheck and self.health == "")

    @property
    def failed(self) -> bool:
        return (
            (self.state == "exited" and self.exit_code != 0)
            or self.state in ("dead", "restarting")
            or self.health == "unhealthy"
        )


def services_with_healthcheck(config: dict) -> frozenset[str]:
    """Services whose Compose configuration declares a healthcheck (not disabled)."""
    return frozenset(
        name
        for name, service in config.get("services", {}).items()
        if service.get("healthcheck") and not service["healthcheck"].get("disable")
    )


def parse_ps(text: str) -> list[ServiceState]:
    """Compose prints one JSON object per line (v2.21+) or one JSON array (older v2)."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [
        ServiceState(
            service=row.get("Service", ""),
            state=row.get("State", ""),
            health=row.get("Health", ""),
            exit_code=int(row.get("ExitCode", 0) or 0),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Verdict:
    ready: bool
    failed: list[str]
    summary: str


def judge(
    states: list[ServiceState], expected: set[str], checked: frozenset[str] = frozenset()
) -> Verdict:
    """Ready when every expected service is ready; failed names the services that broke.

    `checked` names the services that have a healthcheck.
    """
    by_service = {s.service: s for s in states}
    missing = sorted(expected - by_service.keys())
    failed = sorted(s.service for s in states if s.service in expected and s.failed)
    ready = not missing and all(by_service[name].ready(name in checked) for name in expected)
    parts = [f"{s.service}: {s.label}" for s in sorted(states, key=lambda s: s.service)]
    parts += [f"{name}: not created" for name in missing]
    return Verdict(ready=ready, failed=failed, summary=", ".join(parts))


def container_state(inspect: dict) -> ServiceState:
    """One container's state from `docker inspect` (its name standing for the service)."""
    state = inspect.get("State", {})
    return ServiceState(
        service=inspect.get("Name", "").lstrip("/"),
        state=state.get("Status", ""),
        health=(state.get("Health") or {}).get("Status", ""),
        exit_code=int(state.get("ExitCode", 0) or 0),
    )


DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(duration: str | int | float | None, default: float = 0.0) -> float:
    """A Compose/Go duration ("1m30s", "5s") in seconds; a number is taken as nanoseconds,
    as `docker inspect` writes them."""
    if duration is None or duration == "":
        return default
    if isinstance(duration, int | float):
        return duration / 1e9
    parts = DURATION_PART.findall(duration)
    return sum(float(value) * UNIT_SECONDS[unit] for value, unit in parts) if parts else default


def health_window(healthcheck: dict | None) -> float:
    """How long a starting container may take before Docker calls it unhealthy: the start
    period, then `retries` failed checks, `interval` apart, each up to `timeout` long."""
    if not healthcheck:
        return 0.0
    start = seconds(healthcheck.get("start_period"))
    interval = seconds(healthcheck.get("interval"), 30.0)
    timeout = seconds(healthcheck.get("timeout"), 30.0)
    retries = int(healthcheck.get("retries") or 3)
    return start + retries * (interval + timeout)
