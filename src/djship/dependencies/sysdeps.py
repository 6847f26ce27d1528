"""Which system packages the locked Python dependencies need, for a target image.

Deciding only: the lock's distributions, the wheels each has, the target's tags and the
knowledge file (data/system_packages.toml, plus the project's own additions) go in; a report
of build-stage and runtime packages, with a reason for each, comes out.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from packaging.utils import canonicalize_name

from djship.dependencies.lockfiles import Pinned
from djship.dependencies.platforms import Target
from djship.errors import DjshipError

PROJECT_KNOWLEDGE = "environments/system-packages.toml"
TOOLCHAIN = "toolchain"


@dataclass(frozen=True)
class Entry:
    """What one distribution needs from the system (see data/system_packages.toml)."""

    name: str
    reason: str
    build: dict[str, tuple[str, ...]] = field(default_factory=dict)
    runtime: dict[str, tuple[str, ...]] = field(default_factory=dict)
    runtime_with_wheel: bool = False
    build_with_wheel: bool = False
    runtime_unless: tuple[str, ...] = ()
    only_if_files: str | None = None


def _entry(name: str, raw: dict, source: str) -> Entry:
    known = {
        "reason",
        "build",
        "runtime",
        "runtime_with_wheel",
        "build_with_wheel",
        "runtime_unless",
        "only_if_files",
    }
    unknown = set(raw) - known
    if unknown or "reason" not in raw:
        problem = f"unknown keys {sorted(unknown)}" if unknown else "no reason"
        raise DjshipError(
            f"{source}: entry [{name}] has {problem}",
            hint=f"Each entry has a reason and build/runtime lists: {sorted(known)}",
        )
    return Entry(
        name=canonicalize_name(name) if name != TOOLCHAIN else TOOLCHAIN,
        reason=raw["reason"],
        build={base: tuple(pkgs) for base, pkgs in raw.get("build", {}).items()},
        runtime={base: tuple(pkgs) for base, pkgs in raw.get("runtime", {}).items()},
        runtime_with_wheel=raw.get("runtime_with_wheel", False),
        build_with_wheel=raw.get("build_with_wheel", False),
        runtime_unless=tuple(canonicalize_name(n) for n in raw.get("runtime_unless", [])),
        only_if_files=raw.get("only_if_files"),
    )


def parse_knowledge(text: str, source: str) -> dict[str, Entry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DjshipError(f"{source} is not valid TOML: {error}") from None
    entries = (_entry(name, raw, source) for name, raw in data.items())
    return {entry.name: entry for entry in entries}


def load_knowledge(project_root: Path | None = None) -> dict[str, Entry]:
    """djship's knowledge, overlaid with the project's environments/system-packages.toml."""
    text = (files("djship.dependencies") / "data" / "system_packages.toml").read_text("utf-8")
    knowledge = parse_knowledge(text, "djship's system_packages.toml")
    if project_root is not None and (project_root / PROJECT_KNOWLEDGE).is_file():
        own = (project_root / PROJECT_KNOWLEDGE).read_text("utf-8")
        knowledge.update(parse_knowledge(own, PROJECT_KNOWLEDGE))
    return knowledge


@dataclass(frozen=True)
class Decision:
    """One locked distribution on one target: how it installs and what it needs."""

    name: str
    version: str
    wheel: str | None  # the wheel that fits, or None: built from the sdist
    build: tuple[str, ...]
    runtime: tuple[str, ...]
    reason: str
    unknown: bool = False  # builds from source and djship knows nothing about it

    @property
    def from_source(self) -> bool:
        return self.wheel is None


@dataclass(frozen=True)
class Report:
    target: Target
    decisions: list[Decision]

    @property
    def build_packages(self) -> list[str]:
        return sorted({p for d in self.decisions for p in d.build})

    @property
    def runtime_packages(self) -> list[str]:
        return sorted({p for d in self.decisions for p in d.runtime})

    @property
    def unknown(self) -> list[Decision]:
        return [d for d in self.decisions if d.unknown]


def analyse(
    pinned: list[Pinned],
    target: Target,
    knowledge: dict[str, Entry],
    files_of: Callable[[Pinned], tuple[str, ...]],
    has_files: Callable[[str], bool] = lambda pattern: False,
    no_binary: frozenset[str] = frozenset(),
) -> Report:
    """Decide, for each pinned distribution, wheel or source and the system packages."""
    names = {p.name for p in pinned}
    toolchain = knowledge[TOOLCHAIN].build.get(target.base, ())
    decisions = []
    for dist in pinned:
        dist_files = files_of(dist)
        wheel = None if dist.name in no_binary else _fitting_wheel(dist_files, target)
        if wheel is None and not any(not f.endswith(".whl") for f in dist_files):
            raise DjshipError(
                f"{dist.name} {dist.version} has no wheel for {target.describe()} and no sdist",
                hint="Pick another version, or another base (--base).",
            )
        decisions.append(
            _decide(dist, wheel, target, knowledge.get(dist.name), names, toolchain, has_files)
        )
    return Report(target, decisions)


def _fitting_wheel(dist_files: tuple[str, ...], target: Target) -> str | None:
    fitting = [f for f in dist_files if f.endswith(".whl") and target.fits(f)]
    return fitting[0] if fitting else None


def _decide(
    dist: Pinned,
    wheel: str | None,
    target: Target,
    entry: Entry | None,
    names: set[str],
    toolchain: tuple[str, ...],
    has_files: Callable[[str], bool],
) -> Decision:
    base = target.base
    if entry is None:
        if wheel:
            return Decision(dist.name, dist.version, wheel, (), (), "wheel")
        return Decision(
            dist.name,
            dist.version,
            None,
            toolchain,
            (),
            "builds from source; no system packages known",
            unknown=True,
        )
    if entry.only_if_files and not has_files(entry.only_if_files):
        return Decision(dist.name, dist.version, wheel, (), (), "wheel" if wheel else "sdist")
    needs_build = wheel is None or entry.build_with_wheel
    build = entry.build.get(base, ()) if needs_build else ()
    if wheel is None:
        build = (*toolchain, *build)
    needs_runtime = (wheel is None or entry.runtime_with_wheel) and not (
        set(entry.runtime_unless) & names
    )
    runtime = entry.runtime.get(base, ()) if needs_runtime else ()
    return Decision(dist.name, dist.version, wheel, build, runtime, entry.reason)
