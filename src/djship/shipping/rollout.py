"""Reading a Swarm rollout: has the web service converged on the release, is Swarm still
updating it, or did it roll back (and why)? Pure functions over `docker service inspect`
and `docker service ps` output, since the 20.10 client cannot wait (`--detach=false`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

WAITING, CONVERGED, ROLLED_BACK, PAUSED = "waiting", "converged", "rolled back", "paused"


@dataclass(frozen=True)
class Task:
    name: str
    image: str
    node: str
    desired: str
    current: str
    error: str

    @property
    def running(self) -> bool:
        return self.desired.lower() == "running" and self.current.lower().startswith("running")


def parse_tasks(text: str) -> list[Task]:
    """`docker service ps --format '{{json .}}'`: one object per line."""
    tasks = []
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        tasks.append(
            Task(
                name=row.get("Name", ""),
                image=row.get("Image", ""),
                node=row.get("Node", ""),
                desired=row.get("DesiredState", ""),
                current=row.get("CurrentState", ""),
                error=row.get("Error", ""),
            )
        )
    return tasks


def same_image(task_image: str, image: str) -> bool:
    """Swarm pins tags to digests (`name:tag@sha256:...`): compare what precedes the digest."""
    return task_image.split("@", 1)[0] == image.split("@", 1)[0]


@dataclass(frozen=True)
class Verdict:
    state: str
    summary: str
    reason: str = ""


def judge_rollout(update_status: dict | None, tasks: list[Task], image: str, replicas: int):
    """Where a rollout of `image` to `replicas` tasks stands."""
    state = (update_status or {}).get("State", "")
    message = (update_status or {}).get("Message", "")
    fresh = [t for t in tasks if same_image(t.image, image)]
    running = [t for t in fresh if t.running]
    summary = f"{len(running)}/{replicas} tasks of the release running"
    if state:
        summary += f"; update {state.replace('_', ' ')}"
    if state in ("rollback_started", "rollback_completed", "rollback_paused"):
        return Verdict(ROLLED_BACK, summary, failure_reason(message, fresh))
    if state == "paused":
        return Verdict(PAUSED, summary, failure_reason(message, fresh))
    if state in ("", "completed") and len(running) >= replicas:
        return Verdict(CONVERGED, summary)
    return Verdict(WAITING, summary)


def failure_reason(message: str, tasks: list[Task]) -> str:
    errors = sorted({f"{t.name} on {t.node}: {t.error}" for t in tasks if t.error})
    return "; ".join([message, *errors[:3]]) if message else "; ".join(errors[:3])


def node_problems(listing: str, db_node: str | None) -> tuple[list[str], str | None]:
    """From `docker node ls --format '{{.Hostname}} {{.Status}}'`: warnings for nodes that
    are down (their tasks run elsewhere meanwhile), and an error when the database's own node
    is one of them (its volume lives there: the database would have nowhere to run)."""
    down = sorted(
        host for host, _, status in (line.partition(" ") for line in listing.splitlines())
        if host and status.strip().lower() != "ready"
    )  # fmt: skip
    warnings = [f"node {host} is not ready: its tasks run on the other nodes" for host in down]
    error = f"the database's node {db_node} is not ready" if db_node in down else None
    return warnings, error
