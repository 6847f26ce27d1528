"""The release ledger: what was released, deployed, failed and rolled back, and when.

It lives in the engine, not in a checkout, so every operator of a host or a swarm sees the
same history: each event is one small engine object whose labels hold it. On a host, an
empty labelled volume; on a swarm, a config (replicated by the managers' Raft log, so any
manager answers). Objects are only ever added, never changed: an append-only log.

Reading the log into release states is pure and unit-tested: `summarize`, `live_version`,
`previous_live`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from djship.engine.docker import Docker
from djship.engine.runner import Command

LEDGER_LABEL = "io.djship.ledger"  # value: the project's name
EVENT_LABEL = "io.djship.event"  # value: the event, as JSON

RELEASED, DEPLOYED, FAILED, ROLLED_BACK = "released", "deployed", "failed", "rolled-back"


@dataclass(frozen=True)
class Event:
    kind: str
    version: str
    at: str  # ISO 8601, UTC
    target: str = "host"
    details: dict = field(default_factory=dict)

    def as_json(self) -> str:
        data = {"kind": self.kind, "version": self.version, "at": self.at, "target": self.target}
        return json.dumps({**data, "details": self.details}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Event | None:
        try:
            data = json.loads(text)
            return cls(data["kind"], data["version"], data["at"], data["target"], data["details"])
        except (ValueError, KeyError, TypeError):
            return None  # not ours, or damaged: ignored rather than fatal


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Ledger:
    """The ledger of one project on one engine: volumes on a host, configs on a swarm."""

    project: str
    docker: Docker
    kind: str = "volume"  # or "config" (Swarm)

    def _object_name(self, event: Event) -> str:
        # Swarm object names are limited to 64 characters; the labels carry the content.
        stamp = event.at.replace("-", "").replace(":", "").replace(".", "")[:18]
        return f"{self.project[:24]}-ledger-{stamp}-{secrets.token_hex(3)}"

    def record(self, event: Event) -> tuple[Command, bytes | None]:
        """The command that appends `event`, and the data it reads on stdin (configs)."""
        labels = ["--label", f"{LEDGER_LABEL}={self.project}", "--label"]
        labels.append(f"{EVENT_LABEL}={event.as_json()}")
        name = self._object_name(event)
        if self.kind == "config":
            command = self.docker.command("config", "create", *labels, name, "-")
            return command, event.as_json().encode()
        return self.docker.command("volume", "create", *labels, name), None

    def list_names(self) -> Command:
        return self.docker.objects(self.kind, f"{LEDGER_LABEL}={self.project}")

    def inspect(self, names: list[str]) -> Command:
        return self.docker.inspect(self.kind, *names)


def parse_objects(inspect_json: str) -> list[Event]:
    """Events from `docker volume|config inspect` output, oldest first."""
    events = []
    for item in json.loads(inspect_json or "[]"):
        labels = item.get("Labels") or item.get("Spec", {}).get("Labels") or {}
        event = Event.from_json(labels.get(EVENT_LABEL, ""))
        if event is not None:
            events.append(event)
    return sorted(events, key=lambda e: e.at)


# --- reading the log ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseState:
    """One release as `djship releases` shows it."""

    version: str
    released_at: str
    image_id: str
    migrations: dict[str, str]
    status: str  # live, rolled back, failed, or "" (never live, or replaced normally)
    status_at: str
    last_deployed: str


def released(events: Iterable[Event]) -> dict[str, Event]:
    return {event.version: event for event in events if event.kind == RELEASED}


def live_version(events: list[Event]) -> str | None:
    """The release the last successful deploy (or rollback) made live."""
    deployed = [event for event in events if event.kind == DEPLOYED]
    return deployed[-1].version if deployed else None


def previous_live(events: list[Event]) -> str | None:
    """The release that was live before the current one and was not rolled back since."""
    live = live_version(events)
    rolled_back = {event.version for event in events if event.kind == ROLLED_BACK}
    for event in reversed([e for e in events if e.kind == DEPLOYED]):
        if event.version != live and event.version not in rolled_back:
            return event.version
    return None


def summarize(events: list[Event]) -> list[ReleaseState]:
    """Every release, newest first, with what happened to it last."""
    live = live_version(events)
    rows = []
    for version, release in released(events).items():
        mine = [event for event in events if event.version == version]
        deploys = [event.at for event in mine if event.kind == DEPLOYED]
        status, status_at = "", ""
        for event in mine:
            if event.kind == FAILED:
                status, status_at = "failed", event.at
            elif event.kind == ROLLED_BACK:
                status, status_at = "rolled back", event.at
            elif event.kind == DEPLOYED:
                status, status_at = "", event.at
        if version == live:
            status, status_at = "live", deploys[-1]
        rows.append(
            ReleaseState(
                version=version,
                released_at=release.at,
                image_id=release.details.get("image_id", ""),
                migrations=release.details.get("migrations", {}),
                status=status,
                status_at=status_at,
                last_deployed=deploys[-1] if deploys else "",
            )
        )
    return sorted(rows, key=lambda row: row.released_at, reverse=True)
