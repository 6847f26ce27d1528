"""The kubectl commands that apply one release of the exported manifests, in order, as plain
data (Command objects): nothing here runs them.

Why this order: the migrations Job must finish before the web Deployment changes, or new
code could serve on an old schema; and it must not start before the database takes
connections. So the overlay's objects carry a `djship.io/stage` label and are applied in
three selections of the same kustomization (one rendering, no second copy):
- `prepare`: namespace, settings, secrets, services, policies, the database: everything
  that neither runs the release's code nor moves traffic;
- `migrate`: the release's Job (its name carries the version), after the database is ready;
  any earlier Job of this very version is deleted first, so a failed attempt can be retried;
- `rollout`: the web Deployment, once the migrations succeeded; the rollout is watched and,
  should it fail, undone (the previous pods never stopped serving: maxUnavailable is 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from djship.engine.runner import Command

STAGE_LABEL = "djship.io/stage"
PREPARE, MIGRATE, ROLLOUT = "prepare", "migrate", "rollout"


@dataclass(frozen=True)
class Release:
    """What the plan needs to know of an exported release: its objects' names and how long
    each step may take."""

    namespace: str
    deployment: str
    job: str
    database: str | None  # the StatefulSet; None with an external database
    web_selector: str  # the web pods' labels, to show them when a rollout fails
    migrate_seconds: int  # the Job's activeDeadlineSeconds
    rollout_seconds: int
    database_seconds: int = 300


@dataclass(frozen=True)
class Step:
    """One command of the plan. `result`: its output ends with the migrations script's
    DJSHIP-RESULT line (read it with djship.shipping.migrations.parse_result: its absence
    means the migrations failed). `on_failure`: commands that show why, or undo, run when
    this one fails."""

    what: str
    command: Command
    on_failure: tuple[Command, ...] = ()
    result: bool = False


def kubectl(context: str | None, namespace: str, *args: str) -> Command:
    """`kubectl` on the configured context (None: kubectl's current one), in the namespace."""
    flags = ["--context", context] if context else []
    return Command(["kubectl", *flags, "--namespace", namespace, *args])


def cluster_check(context: str | None = None) -> Command:
    """Whether a cluster answers on the context (its server version, as JSON): what a deploy
    asks first, so that no step starts without one."""
    flags = ["--context", context] if context else []
    return Command(["kubectl", *flags, "version", "--output=json"])


def release_plan(release: Release, overlay: str | Path, context: str | None = None) -> list[Step]:
    """The steps of a release, in order; each must succeed before the next one runs."""

    def run(*args: str) -> Command:
        return kubectl(context, release.namespace, *args)

    def apply(stage: str) -> Command:
        return run("apply", "--kustomize", str(overlay), "--selector", f"{STAGE_LABEL}={stage}")

    job = f"job/{release.job}"
    steps = [Step("Applying the settings, secrets, services and policies", apply(PREPARE))]
    if release.database:
        steps.append(
            Step(
                "Waiting for the database",
                run("rollout", "status", f"statefulset/{release.database}",
                    f"--timeout={release.database_seconds}s"),
                on_failure=(run("describe", f"statefulset/{release.database}"),),
            )
        )  # fmt: skip
    steps += [
        Step(
            "Removing an earlier attempt of this release's migrations",
            run("delete", "job", release.job, "--ignore-not-found", "--cascade=foreground"),
        ),
        Step("Starting the migrations Job", apply(MIGRATE)),
        Step(
            "Running the migrations (once, under an advisory lock)",
            run("logs", "--follow", f"--pod-running-timeout={release.migrate_seconds}s", job),
            on_failure=(run("describe", job),),
            result=True,
        ),
        Step(
            "Checking that the Job completed",
            run("wait", "--for=condition=Complete", "--timeout=60s", job),
            on_failure=(run("describe", job),),
        ),
        Step("Rolling out the web pods of the release", apply(ROLLOUT)),
        Step(
            "Waiting for the rollout",
            run("rollout", "status", f"deployment/{release.deployment}",
                f"--timeout={release.rollout_seconds}s"),
            on_failure=(
                run("get", "pods", "--selector", release.web_selector, "--output=wide"),
                run("rollout", "undo", f"deployment/{release.deployment}"),
            ),
        ),
    ]  # fmt: skip
    return steps
