"""`djship refresh`: the live release rebuilt with a fresh base image (pulled where a registry
answers) and its OS package layers rebuilt without cache, the package versions compared
with the live release's, then shipped as a new release through the normal zero-downtime
deploy (the caller runs it, as `djship deploy` does).

A refresh rebuilds the live release's own source only: a working tree on another commit, or
with uncommitted changes, is refused (new code ships with `djship release`). When nothing
changed (same base image, every package at the same version) there is nothing to ship,
unless asked (`force`).

Deciding (versions, flags, comparisons) is pure; the rest reuses the release steps of
`djship release` (labels, registry push, ledger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from djship.console import Output
from djship.engine.compose import WEB_SERVICE, Compose
from djship.engine.docker import Docker
from djship.engine.runner import Command, capture, last_lines, stream
from djship.errors import DjshipError
from djship.security.audit import base_image
from djship.security.images import packages_command, parse_packages
from djship.shipping.deploy import events
from djship.shipping.ledger import Ledger, live_version, released
from djship.shipping.publish import publish_built
from djship.shipping.release import local_image, prod_image
from djship.shipping.version import Source, read_source


def refresh_version(source: Source, now: datetime) -> str:
    """A new, immutable version for the same source: `<commit>-refresh-<UTC time>`."""
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{source.commit[:12]}-refresh-{stamp}" if source.commit else f"{stamp}-refresh"


def source_problem(live: str, details: dict, source: Source) -> str | None:
    """Why the working tree is not the live release's source (None: it is)."""
    revision = details.get("revision", "")
    if details.get("dirty"):
        return (
            f"release {live} was built from uncommitted changes: its source cannot be "
            "rebuilt exactly"
        )
    if not revision:
        if source.commit is None:
            return None  # outside git then and now: nothing to compare, the tree is used
        return f"release {live} was built outside git: its source cannot be identified"
    if source.commit != revision:
        here = source.commit[:12] if source.commit else "not a git checkout"
        return f"the working tree ({here}) is not release {live}'s source ({revision[:12]})"
    if source.dirty:
        return "the working tree has uncommitted changes, which would go into the rebuild"
    return None


def build_flags(pulled: bool) -> list[str]:
    """No layer cache (the OS package layers run `apt-get` again, against today's mirror);
    `--pull` when a registry answered for the base image (every FROM resolved afresh)."""
    return ["--no-cache", *(["--pull"] if pulled else [])]


def build_command(compose: Compose, pulled: bool) -> Command:
    return compose.command("build", *build_flags(pulled), WEB_SERVICE)


@dataclass(frozen=True)
class PackageChanges:
    changed: tuple[tuple[str, str, str], ...] = ()  # (name, old, new)
    added: tuple[tuple[str, str], ...] = ()
    removed: tuple[tuple[str, str], ...] = ()
    total: int = 0  # packages in the rebuilt image

    @property
    def any(self) -> bool:
        return bool(self.changed or self.added or self.removed)

    def lines(self) -> list[str]:
        return (
            [f"{name} {old} -> {new}" for name, old, new in self.changed]
            + [f"{name} {version} (new)" for name, version in self.added]
            + [f"{name} {version} (removed)" for name, version in self.removed]
        )


def diff_packages(before: dict[str, str], after: dict[str, str]) -> PackageChanges:
    return PackageChanges(
        changed=tuple(
            (name, before[name], after[name])
            for name in sorted(before.keys() & after.keys())
            if before[name] != after[name]
        ),
        added=tuple((name, after[name]) for name in sorted(after.keys() - before.keys())),
        removed=tuple((name, before[name]) for name in sorted(before.keys() - after.keys())),
        total=len(after),
    )


def should_ship(changes: PackageChanges | None, base_changed: bool, force: bool) -> bool:
    """Ship when something changed, when it cannot be told (no package list), or when asked."""
    return force or base_changed or changes is None or changes.any


@dataclass
class Outcome:
    live: str
    base: str = ""
    pulled: bool = False
    pull_note: str = ""
    base_changed: bool = False
    changes: PackageChanges | None = None
    version: str | None = None  # the new release, when one was made
    notes: list[str] = field(default_factory=list)


def refresh(compose: Compose, ledger: Ledger, target: str, out: Output, *, force: bool) -> Outcome:
    project = compose.project
    docker = Docker()
    history = events(ledger)
    live = live_version(history)
    if live is None:
        raise DjshipError(
            "nothing is live on this target: there is no release to refresh",
            hint="Ship one first: `djship release` then `djship deploy`.",
        )
    details = released(history)[live].details
    source = read_source(project.root)
    problem = source_problem(live, details, source)
    if problem:
        raise DjshipError(
            f"cannot refresh: {problem}",
            hint=f"Check out {details.get('revision', '')[:12] or 'its source'} (a clean tree) "
            "to refresh it, or ship the new code with `djship release` + `djship deploy`.",
        )
    live_image = local_image(project.name, live)
    if capture(docker.image_id(live_image), check=False).returncode != 0:
        remote = details.get("image", "")
        out.step(f"Pulling the live release {remote}")
        stream(docker.pull(remote), what=f"pulling {remote} (is REGISTRY reachable?)")
        capture(docker.tag(remote, live_image))
    outcome = Outcome(live=live, base=base_image(project, compose.environment))

    if outcome.base:
        before = capture(docker.image_id(outcome.base), check=False).stdout.strip()
        out.step(f"Pulling a fresh base image {outcome.base}")
        pulled = capture(docker.pull(outcome.base), check=False)
        outcome.pulled = pulled.returncode == 0
        after = capture(docker.image_id(outcome.base), check=False).stdout.strip()
        outcome.base_changed = bool(before and after and before != after)
        outcome.pull_note = (
            ("a newer one was pulled" if outcome.base_changed else "already the newest")
            if outcome.pulled
            else f"not pulled, the local one is used ({last_lines(pulled.stderr, 1)})"
        )
        out.info(f"Base image {outcome.base}: {outcome.pull_note}")

    out.step(f"Rebuilding release {live}'s image without layer cache")
    stream(build_command(compose, outcome.pulled), what="rebuilding the production image")
    built = prod_image(project.name)
    built_id = capture(docker.image_id(built)).stdout.strip()
    outcome.changes = compare(docker, live_image, built)
    report_changes(outcome, out)

    if not should_ship(outcome.changes, outcome.base_changed, force):
        # Compose's tag goes back to the live release; the identical rebuild is dropped.
        capture(docker.tag(live_image, built))
        capture(docker.command("image", "rm", built_id), check=False)
        out.success(
            f"Release {live} is up to date: same base image, every package at the same "
            "version. Nothing to ship (--force ships the rebuild anyway)."
        )
        return outcome
    outcome.version = make_refreshed_release(compose, ledger, target, out, source, live, built)
    # Until the deploy moves traffic, Compose's tag keeps naming what runs (the live release):
    # a failed deploy then leaves it there. The unlabelled build is no longer needed.
    capture(docker.tag(live_image, built))
    capture(docker.command("image", "rm", built_id), check=False)
    return outcome


def compare(docker: Docker, live_image: str, built: str) -> PackageChanges | None:
    lists = []
    for image in (live_image, built):
        run = capture(packages_command(image, docker), check=False)
        lists.append(parse_packages(run.stdout))
    if lists[0] is None or lists[1] is None:
        return None
    return diff_packages(lists[0], lists[1])


def report_changes(outcome: Outcome, out: Output) -> None:
    changes = outcome.changes
    if changes is None:
        out.info("OS packages: not compared (the images have neither dpkg nor apk)")
    elif not changes.any:
        out.info(f"OS packages: unchanged ({changes.total} packages, every one at its version)")
    else:
        out.info(f"OS packages that changed version ({len(changes.lines())}):")
        for line in changes.lines():
            out.info(f"  {line}")


def make_refreshed_release(
    compose: Compose,
    ledger: Ledger,
    target: str,
    out: Output,
    source: Source,
    live: str,
    built: str,
) -> str:
    """The rebuilt image as a release, the way `djship release` makes one (labels, push,
    record), its record saying which release it refreshes."""
    now = datetime.now(UTC)
    version = refresh_version(source, now)
    publish_built(
        compose, ledger, target, out, built=built, version=version, now=now, source=source,
        refresh_of=live,
    )  # fmt: skip
    out.success(f"Released {version}, a refresh of {live}.")
    return version
