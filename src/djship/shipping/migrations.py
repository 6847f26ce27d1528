"""Migrations across releases: what a release carries, what the database has applied, what
a deploy would apply and what a rollback would have to reverse.

The facts come from the release's own Django (container_scripts/migrations.py, run in its
image); every decision on them is made here, in pure functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files

from djship.engine.runner import last_lines
from djship.errors import DjshipError

RESULT_MARKER = "DJSHIP-RESULT "
Key = tuple[str, str]  # (app label, migration name)


def script(request: dict) -> str:
    """The in-container script, with its request bound (a JSON literal read by json)."""
    body = (files("djship.shipping") / "container_scripts" / "migrations.py").read_text("utf-8")
    return f"import json\nREQUEST = json.loads({json.dumps(json.dumps(request))})\n{body}"


def manage_argv(request: dict) -> list[str]:
    """What runs in a release's container: Django's shell with the script (any project)."""
    return ["python", "manage.py", "shell", "-c", script(request)]


def parse_result(output: str, what: str) -> dict:
    """The script's answer; anything else means the release's Django failed: show its words."""
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    raise DjshipError(f"{what} failed:\n{last_lines(output, 8)}")


@dataclass(frozen=True)
class Graph:
    """The migrations a release carries on disk."""

    nodes: frozenset[Key]
    leaves: tuple[Key, ...]
    irreversible: dict[str, str]

    @classmethod
    def from_result(cls, result: dict) -> Graph:
        return cls(
            nodes=frozenset(tuple(key) for key in result["nodes"]),
            leaves=tuple(tuple(key) for key in result["leaves"]),
            irreversible=dict(result.get("irreversible", {})),
        )

    def latest(self) -> dict[str, str]:
        """The latest migration of each app (several leaves, unmerged, are joined by +)."""
        by_app: dict[str, list[str]] = {}
        for app, name in self.leaves:
            by_app.setdefault(app, []).append(name)
        return {app: "+".join(sorted(names)) for app, names in sorted(by_app.items())}


@dataclass(frozen=True)
class Step:
    app: str
    name: str
    backwards: bool
    atomic: bool
    irreversible: str | None

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"


def steps_of(result: dict) -> list[Step]:
    return [
        Step(s["app"], s["name"], s["backwards"], s["atomic"], s["irreversible"])
        for s in result["steps"]
    ]


def applied_of(result: dict) -> frozenset[Key]:
    return frozenset(tuple(key) for key in result["applied"])


@dataclass(frozen=True)
class Reversal:
    """What rolling back to a release means for the schema."""

    missing: tuple[Key, ...]  # applied by the live release, unknown to the target
    targets: tuple[tuple[str, str | None], ...]  # per app: the target's latest, or None (zero)


def reversal(applied: frozenset[Key], live: Graph, target: Graph) -> Reversal:
    """The migrations the target release lacks although the live one applied them, and the
    per-app states to migrate back to (with the live release's code, which knows them)."""
    missing = tuple(sorted((applied & live.nodes) - target.nodes))
    latest = {app: name for app, name in target.leaves}
    leaves_per_app: dict[str, int] = {}
    for app, _ in target.leaves:
        leaves_per_app[app] = leaves_per_app.get(app, 0) + 1
    targets = []
    for app in sorted({app for app, _ in missing}):
        if leaves_per_app.get(app, 0) > 1:
            raise DjshipError(f"the target release has unmerged migrations in {app}")
        targets.append((app, latest.get(app)))
    return Reversal(missing, tuple(targets))


def refusal(reversal: Reversal, release: str) -> DjshipError:
    names = ", ".join(f"{app}.{name}" for app, name in reversal.missing)
    return DjshipError(
        f"release {release} lacks migrations the live release applied: {names}",
        hint="Add --migrate to reverse them first, with the live release's code "
        "(the older code does not know them); back up first if unsure: `djship db backup`.",
    )


def first_irreversible(steps: list[Step]) -> Step | None:
    """The first step of a backwards plan that cannot be unapplied."""
    return next((s for s in steps if s.backwards and s.irreversible), None)


def forward_steps(steps: list[Step]) -> list[Step]:
    return [step for step in steps if not step.backwards]
