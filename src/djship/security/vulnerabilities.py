"""The table of known container-escape and engine vulnerabilities (data/vulnerabilities.toml,
edited by hand) and the verdict for one installed component: fixed upstream, fixed by the
distribution's backport, affected, or maybe affected (a distribution build the table has no
data for). Pure: the table is read from a file, nothing is run."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from djship.errors import DjshipError
from djship.security.versions import (
    carries_upstream_fix,
    debian_at_least,
    debian_release_of,
    is_distribution_build,
    upstream_version,
)

TABLE = Path(__file__).parent / "data" / "vulnerabilities.toml"
COMPONENTS = ("kernel", "engine", "containerd", "runc")
SEVERITIES = ("error", "warning")
CONDITIONS = ("", "authz-plugin")
UNFIXED, NOT_AFFECTED = "unfixed", "not-affected"
STALE_AFTER_DAYS = 180

# Verdicts.
FIXED = "fixed"
FIXED_BY_DISTRIBUTION = "fixed by the distribution"
AFFECTED = "affected"
MAY_BE_AFFECTED = "may be affected"


@dataclass(frozen=True)
class Entry:
    id: str
    component: str
    title: str
    severity: str
    fixed: tuple[str, ...]
    source: str
    introduced: str = ""
    condition: str = ""
    debian: dict[str, str] = field(default_factory=dict)  # release -> version | unfixed | ...

    @property
    def debian_tracker(self) -> str:
        return f"https://security-tracker.debian.org/tracker/{self.id}"


@dataclass(frozen=True)
class Table:
    reviewed: date
    entries: tuple[Entry, ...]

    def of(self, component: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.component == component]

    def age_days(self, today: date) -> int:
        return (today - self.reviewed).days


def load_table(path: Path = TABLE) -> Table:
    """The table, checked: a hand edit that breaks it fails here, naming the entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DjshipError(f"cannot read the vulnerability table {path}: {error}") from None
    reviewed = data.get("reviewed")
    if not isinstance(reviewed, date):
        raise DjshipError(f"{path}: `reviewed = YYYY-MM-DD` (a TOML date) is missing")
    entries = tuple(_entry(path, item) for item in data.get("vulnerability", []))
    if not entries:
        raise DjshipError(f"{path}: no [[vulnerability]] entry")
    return Table(reviewed, entries)


def _entry(path: Path, item: dict) -> Entry:
    name = item.get("id", "?")

    def bad(why: str) -> DjshipError:
        return DjshipError(f"{path}: entry {name}: {why}")

    for key in ("id", "component", "title", "severity", "fixed", "source"):
        if key not in item:
            raise bad(f"`{key}` is missing")
    if item["component"] not in COMPONENTS:
        raise bad(f"component must be one of {', '.join(COMPONENTS)}")
    if item["severity"] not in SEVERITIES:
        raise bad(f"severity must be one of {', '.join(SEVERITIES)}")
    if item.get("condition", "") not in CONDITIONS:
        raise bad(f"condition must be one of {', '.join(c for c in CONDITIONS if c)}")
    fixed = item["fixed"]
    if not isinstance(fixed, list) or not fixed:
        raise bad("`fixed` must be a non-empty list of versions")
    for version in [*fixed, item.get("introduced", "")]:
        if version and upstream_version(str(version)) is None:
            raise bad(f"{version!r} is not a version")
    if not str(item["source"]).startswith("https://"):
        raise bad("`source` must be an https:// link")
    debian = item.get("debian", {})
    if not isinstance(debian, dict) or not all(isinstance(v, str) for v in debian.values()):
        raise bad("[vulnerability.debian] maps a release name to a version string")
    return Entry(
        id=item["id"],
        component=item["component"],
        title=item["title"],
        severity=item["severity"],
        fixed=tuple(str(v) for v in fixed),
        source=item["source"],
        introduced=str(item.get("introduced", "")),
        condition=item.get("condition", ""),
        debian=dict(debian),
    )


@dataclass(frozen=True)
class Installed:
    """A component as the engine reports it."""

    component: str
    version: str  # what the engine says: `1.1.5+ds1`, `20.10.24+dfsg1`, `1.1.12`, `6.1.76`
    package: str = ""  # the distribution package's full version when known
    distribution: str = ""  # of the engine's machine: debian, ubuntu...
    release: str = ""  # its codename: bookworm

    @property
    def shown(self) -> str:
        return self.package or self.version

    @property
    def debian_release(self) -> str:
        """The Debian release whose package this is ("" for upstream builds, such as Docker's
        own docker-ce packages on a Debian machine)."""
        from_package = debian_release_of(self.package) if self.package else None
        if from_package:
            return from_package
        debian_build = self.distribution == "debian" and is_distribution_build(self.shown)
        return self.release if debian_build else ""


@dataclass(frozen=True)
class Verdict:
    entry: Entry
    status: str  # fixed, fixed by the distribution, affected, may be affected
    fixed_in: str  # what to install, in words
    source: str
    unfixed: str = ""  # the distribution release without a fixed package yet


def judge(entry: Entry, installed: Installed, reviewed: date | None = None) -> Verdict:
    upstream_fixes = ", ".join(entry.fixed)
    if carries_upstream_fix(installed.version, list(entry.fixed), entry.introduced):
        return Verdict(entry, FIXED, upstream_fixes, entry.source)
    release = installed.debian_release
    known = entry.debian.get(release) if release else None
    if known == NOT_AFFECTED:
        return Verdict(entry, FIXED_BY_DISTRIBUTION, "not affected", entry.debian_tracker)
    if known == UNFIXED:
        when = f" as of {reviewed.isoformat()}" if reviewed else ""
        return Verdict(
            entry,
            AFFECTED,
            f"{upstream_fixes} upstream; no fixed Debian {release} package{when}",
            entry.source,
            unfixed=f"Debian {release}",
        )
    if known:
        if installed.package and debian_at_least(installed.package, known):
            return Verdict(entry, FIXED_BY_DISTRIBUTION, known, entry.debian_tracker)
        if installed.package:
            return Verdict(entry, AFFECTED, f"{known} (Debian {release})", entry.debian_tracker)
        return Verdict(entry, MAY_BE_AFFECTED, f"{known} (Debian {release})", entry.debian_tracker)
    if is_distribution_build(installed.shown):
        return Verdict(entry, MAY_BE_AFFECTED, f"{upstream_fixes} upstream", entry.source)
    return Verdict(entry, AFFECTED, upstream_fixes, entry.source)
