"""Deploys and rollbacks: the same sequence on every target (one host, a swarm).

1. one deploy at a time (the target's lock);
2. the release's migrations, read with its own code; when some are pending, a backup of
   the database, then one migration run, before any traffic moves (never in each
   container's entry point: replicas would race);
3. traffic moves to the release once it is healthy (how is the target's business);
4. the ledger records what happened, for every operator to see.

A rollback first checks the schema: migrations the live release applied and the target does
not know are refused, or, when asked (`--migrate`) and only when every one is reversible,
backed up and reversed with the live release's code (the older code does not know them),
once the older release serves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from djship.console import Output
from djship.engine.docker import Docker
from djship.engine.runner import capture
from djship.errors import DjshipError
from djship.shipping.backups import backup_path
from djship.shipping.ledger import (
    DEPLOYED,
    FAILED,
    ROLLED_BACK,
    Event,
    Ledger,
    live_version,
    now_iso,
    parse_objects,
)
from djship.shipping.migrations import (
    Graph,
    applied_of,
    first_irreversible,
    forward_steps,
    manage_argv,
    parse_result,
    refusal,
    reversal,
    steps_of,
)

# Settings need a secret key to load; reading migrations from disk uses it for nothing.
INSPECTION_ENV = {"DJANGO_SECRET_KEY": "djship-inspects-migrations"}


class ReleaseFailed(DjshipError):
    """The release never became healthy: it was stopped and the live one kept serving."""


class Target(Protocol):
    """Where releases run: one host (Compose) or a swarm (stack)."""

    name: str
    root: Path
    environment: str
    out: Output

    @property
    def ledger(self) -> Ledger: ...

    def lock(self, image: str): ...

    def release_image(self, version: str) -> str: ...

    def ensure_database(self) -> None: ...

    def django(self, image: str, request: dict, what: str) -> dict: ...

    def backup(self, path: Path) -> None: ...

    def switch(self, version: str, image: str) -> None: ...


def read_graph(image: str, docker: Docker | None = None) -> Graph:
    """A release's migrations, read from its image alone: no network, no database."""
    docker = docker or Docker()
    argv = manage_argv({"action": "graph"})
    result = capture(docker.run(image, *argv, env=INSPECTION_ENV), check=False)
    return Graph.from_result(parse_result(result.stdout + result.stderr, f"reading {image}"))


def events(ledger: Ledger) -> list[Event]:
    names = capture(ledger.list_names()).stdout.split()
    return parse_objects(capture(ledger.inspect(names)).stdout) if names else []


def record(ledger: Ledger, event: Event) -> None:
    command, data = ledger.record(event)
    capture(command, stdin=data.decode() if data else None)


def deploy(target: Target, version: str) -> None:
    image = target.release_image(version)
    with target.lock(image):
        previous = live_version(events(target.ledger))
        ship(target, version, image, via="deploy", previous=previous)


def ship(target: Target, version: str, image: str, *, via: str, previous: str | None) -> None:
    """Migrate (after a backup), move traffic, record: the lock is held by the caller."""
    target.ensure_database()
    try:
        migrate_forward(target, version, image)
        target.switch(version, image)
    except DjshipError as failure:
        reason = failure.message.split("\n", 1)[0]
        record(target.ledger, Event(FAILED, version, now_iso(), target.name, {"reason": reason}))
        raise
    details = {"previous": previous or "", "via": via}
    record(target.ledger, Event(DEPLOYED, version, now_iso(), target.name, details))
    target.out.success(f"Release {version} is live ({target.name}).")


def migrate_forward(target: Target, version: str, image: str) -> None:
    plan = target.django(image, {"action": "plan"}, f"reading the migrations of {version}")
    pending = forward_steps(steps_of(plan))
    if not pending:
        target.out.info("No migration to apply.")
        return
    names = ", ".join(step.label for step in pending)
    take_backup(target, version, f"{len(pending)} migration(s) to apply: {names}")
    target.out.step("Applying the migrations once, under an advisory lock")
    try:
        target.django(image, {"action": "migrate"}, f"applying the migrations of {version}")
    except DjshipError as error:
        atomic = all(step.atomic for step in pending)
        raise DjshipError(
            error.message,
            hint=(
                "Nothing was applied (one transaction); the live release keeps serving."
                if atomic
                else "Some migrations are not atomic: check `djship manage showmigrations`."
            ),
        ) from None


def take_backup(target: Target, label: str, why: str) -> Path:
    path = backup_path(target.root, target.environment, label, datetime.now(UTC))
    target.out.step(f"{why}; backing up the database first")
    target.backup(path)
    target.out.info(f"Backup: {path.relative_to(target.root)} ({path.stat().st_size} bytes)")
    return path


def rollback(target: Target, version: str, *, migrate: bool) -> None:
    """Back to `version`. Migrations it lacks are checked (refused, irreversible) and the
    database backed up before anything changes; they are reversed once the older release
    serves: every deploy already has the older code run on the newer schema (migrations run
    before traffic moves), while the newer code may not survive the older schema."""
    history = events(target.ledger)
    live = live_version(history)
    if live is None:
        raise DjshipError("nothing is live on this target yet: there is nothing to roll back")
    if version == live:
        raise DjshipError(f"release {version} is the live one already")
    image = target.release_image(version)
    live_image = target.release_image(live)
    with target.lock(image):
        target.ensure_database()
        request = plan_reversal(target, live, live_image, version, image, migrate=migrate)
        ship(target, version, image, via="rollback", previous=live)
        record(target.ledger, Event(ROLLED_BACK, live, now_iso(), target.name, {"to": version}))
        if request:
            target.out.step(f"Reversing them with release {live}'s code (it knows them)")
            target.django(live_image, request, f"reversing the migrations of {live}")
            target.out.success(f"The schema is back to release {version}'s.")


def plan_reversal(
    target: Target, live: str, live_image: str, version: str, image: str, *, migrate: bool
) -> dict | None:
    """The migrate request that reverses what the live release applied and the target
    lacks (None: nothing to reverse); refused without --migrate or when irreversible. A
    backup is taken before returning a request."""
    plan = target.django(live_image, {"action": "plan"}, f"reading the database ({live})")
    needed = reversal(applied_of(plan), read_graph(live_image), read_graph(image))
    if not needed.missing:
        return None
    if not migrate:
        raise refusal(needed, version)
    request = {"action": "plan", "targets": [list(t) for t in needed.targets]}
    steps = steps_of(target.django(live_image, request, "planning the reversal"))
    blocker = first_irreversible(steps)
    if blocker:
        raise DjshipError(
            f"cannot roll back to {version}: migration {blocker.label} is irreversible "
            f"({blocker.irreversible})",
            hint="Nothing was changed. Deploy a fix forward instead.",
        )
    labels = ", ".join(step.label for step in steps)
    take_backup(target, live, f"{len(steps)} migration(s) of {live} to reverse: {labels}")
    return {"action": "migrate", "targets": request["targets"]}


def replaced_release_note(ledger: Ledger) -> str | None:
    """What `djship up --env prod` should say when it is about to replace a live release
    with the working tree (a restart, and not a release): None when nothing is live."""
    try:
        live = live_version(events(ledger))
    except DjshipError:  # a note only: never a reason for `up` to fail
        return None
    if live is None:
        return None
    return (
        f"note: release {live} is live here; `up` replaces it with your working tree (a "
        "restart, not a release). Ship changes with `djship release && djship deploy`."
    )
