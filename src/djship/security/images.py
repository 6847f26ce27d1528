"""An image's side of the audit: the OS packages with pending security updates, asked of the
distribution's security repository from a throwaway container of the image (root, the
default bridge network, the image's own apt or apk), the packages installed (what `djship
refresh` compares), and the base image's age. The commands are decided here as plain data,
their outputs parsed here; the audit runs them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from djship.engine.docker import Docker
from djship.engine.runner import Command
from djship.security.report import NOT_CHECKED, PENDING, WARNING, Finding

DEFAULT_NETWORK = "bridge"  # the engine's default network: it reaches the mirrors
BASE_MAX_AGE_DAYS = 30  # official images are rebuilt at least monthly for security updates
DEBIAN_SECURITY = "http://deb.debian.org/debian-security"
UBUNTU_SECURITY = "http://security.ubuntu.com/ubuntu"

# Only the security suite is listed (nothing else of the image's sources), so every update
# apt-get proposes is a security update. apt-get update exits 0 when an index failed to
# download: its `Err:` lines are what tells. Output: `djship-os ID VERSION CODENAME`, then
# `djship-error REASON` or apt's `Inst` lines / apk's `name-version < version` lines.
SECURITY_UPDATES_SCRIPT = r"""
[ -r /etc/os-release ] && . /etc/os-release
echo "djship-os ${ID:-unknown} ${VERSION_ID:-} ${VERSION_CODENAME:-}"
if command -v apt-get >/dev/null 2>&1; then
  case "${ID:-}" in
    debian) url=__DEBIAN__; comps=main ;;
    ubuntu) url=__UBUNTU__; comps="main restricted universe multiverse" ;;
    *) echo "djship-error no security repository known for ${ID:-this distribution}"; exit 0 ;;
  esac
  if [ -z "${VERSION_CODENAME:-}" ]; then
    echo "djship-error no release codename in /etc/os-release" \
      "(testing and unstable have no security suite)"
    exit 0
  fi
  keyring=""
  for key in /usr/share/keyrings/debian-archive-keyring.gpg \
             /usr/share/keyrings/ubuntu-archive-keyring.gpg; do
    if [ -r "$key" ]; then keyring="[signed-by=$key] "; break; fi
  done
  dir=$(mktemp -d)
  mkdir "$dir/parts"
  echo "deb ${keyring}${url} ${VERSION_CODENAME}-security ${comps}" > "$dir/security.list"
  set -- -o "Dir::Etc::SourceList=$dir/security.list" -o "Dir::Etc::SourceParts=$dir/parts" \
    -o Acquire::Retries=0 -o Acquire::http::Timeout=20
  if ! apt-get "$@" update >"$dir/log" 2>&1 || grep -q '^Err:' "$dir/log"; then
    reason=$(grep -E '^(Err|E|W):' "$dir/log" | head -n 3 | tr '\n' ' ')
    echo "djship-error apt-get update from ${url} ${VERSION_CODENAME}-security failed: ${reason}"
    exit 0
  fi
  echo "djship-format apt"
  apt-get "$@" -s dist-upgrade | grep '^Inst '
elif command -v apk >/dev/null 2>&1; then
  if ! apk update -q >/tmp/djship-apk.log 2>&1; then
    echo "djship-error apk update failed: $(tail -n 3 /tmp/djship-apk.log | tr '\n' ' ')"
    exit 0
  fi
  echo "djship-format apk"
  apk version -l '<' 2>/dev/null | grep ' < '
else
  echo "djship-error neither apt-get nor apk in the image"
fi
exit 0
"""

PACKAGES_SCRIPT = r"""
if command -v dpkg-query >/dev/null 2>&1; then
  echo "djship-format dpkg"; dpkg-query -W -f '${Package}\t${Version}\n'
elif command -v apk >/dev/null 2>&1; then
  echo "djship-format apk"; apk info -v 2>/dev/null
else
  echo "djship-error neither dpkg nor apk in the image"
fi
"""

APT_INST = re.compile(r"^Inst (\S+) \[([^\]]+)\] \((\S+) (.*?)\s*(?:\[[^\]]*\])?\)")
APK_LESS = re.compile(r"^(\S+?)-(\d[^\s-]*-r\d+)\s+<\s+(\S+)")
APK_INSTALLED = re.compile(r"^(.+)-([^-]+-r\d+)$")


def security_updates_command(image: str, docker: Docker | None = None) -> Command:
    script = SECURITY_UPDATES_SCRIPT.replace("__DEBIAN__", DEBIAN_SECURITY).replace(
        "__UBUNTU__", UBUNTU_SECURITY
    )
    return shell_in_image(image, script, network=DEFAULT_NETWORK, docker=docker)


def packages_command(image: str, docker: Docker | None = None) -> Command:
    return shell_in_image(image, PACKAGES_SCRIPT, network="none", docker=docker)


def shell_in_image(image: str, script: str, *, network: str, docker: Docker | None) -> Command:
    """A throwaway container of `image` running `script` as root (its entry point and user
    bypassed: apt needs root, the image runs as an unprivileged user)."""
    docker = docker or Docker()
    return docker.command(
        "run", "--rm", "--entrypoint", "sh", "--user", "0", "--network", network,
        image, "-c", script,
    )  # fmt: skip


@dataclass(frozen=True)
class Update:
    name: str
    installed: str
    candidate: str
    origin: str = ""

    def line(self) -> str:
        return f"{self.name} {self.installed} -> {self.candidate}"


@dataclass(frozen=True)
class SecurityUpdates:
    os: str  # "debian 13 trixie"
    updates: tuple[Update, ...] = ()
    error: str = ""  # set when the security repository could not be asked


def parse_security_updates(output: str, returncode: int = 0) -> SecurityUpdates:
    os_name, error, updates = "", "", []
    for line in output.splitlines():
        if line.startswith("djship-os "):
            os_name = line.removeprefix("djship-os ").strip()
        elif line.startswith("djship-error "):
            error = line.removeprefix("djship-error ").strip()
        elif match := APT_INST.match(line):
            updates.append(Update(*match.groups()))
        elif match := APK_LESS.match(line):
            updates.append(Update(match.group(1), match.group(2), match.group(3)))
    if not os_name and not error:
        error = f"the check did not run in the image (exit code {returncode})"
        tail = [line for line in output.strip().splitlines() if line.strip()][-2:]
        error += f": {' '.join(tail)}" if tail else ""
    return SecurityUpdates(os_name, tuple(updates), error)


def parse_packages(output: str) -> dict[str, str] | None:
    """{package: version} from the packages script; None when the image has neither dpkg
    nor apk."""
    lines = output.splitlines()
    if not lines or not lines[0].startswith("djship-format "):
        return None
    kind = lines[0].split()[1]
    packages = {}
    for line in lines[1:]:
        if kind == "dpkg" and "\t" in line:
            name, version = line.split("\t", 1)
            packages[name] = version.strip()
        elif kind == "apk" and (match := APK_INSTALLED.match(line.strip())):
            packages[match.group(1)] = match.group(2)
    return packages


def update_findings(
    subject: str, result: SecurityUpdates, base: str = "", base_packages: set[str] | None = None
) -> list[Finding]:
    """The pending security updates; with the base image's package names, which ones only a
    newer base brings (a rebuild on the same base reinstalls the same versions)."""
    if result.error:
        return [
            Finding(
                rule="image-updates-not-checked",
                severity=WARNING,
                subject=subject,
                message="pending OS security updates: not checked",
                why=f"{result.error[0].upper()}{result.error[1:]}. Without an answer from the "
                "distribution's security repository nothing is known, which is not the same as "
                "up to date.",
                fix="Run the audit where the image can reach its distribution's mirrors "
                f"({DEBIAN_SECURITY} for Debian).",
                status=NOT_CHECKED,
            )
        ]
    if not result.updates:
        return []
    names = ", ".join(u.name for u in result.updates[:8])
    more = f" and {len(result.updates) - 8} more" if len(result.updates) > 8 else ""
    message = (
        f"{len(result.updates)} OS package(s) have security updates pending ({result.os}): "
        f"{names}{more}"
    )
    fix = "`djship refresh` rebuilds the release on a fresh base image and ships it."
    if base_packages is not None:
        from_base = [u for u in result.updates if u.name in base_packages]
        message += f"; {len(from_base)} of them in the base image {base}"
        if from_base:
            fix = (
                "Those of the base image come with a newer base: `djship refresh` pulls it where "
                "a registry answers and ships the rebuild (if the base's publisher has not "
                "rebuilt it yet, pull a newer tag, or upgrade them in the Dockerfile's final "
                "stage)."
            )
            if len(from_base) < len(result.updates):
                fix += " The others come with `djship refresh` now (no layer cache)."
        else:
            fix = (
                "`djship refresh` brings them now: the rebuild installs the release's own "
                "packages again, without layer cache, and ships it."
            )
    return [
        Finding(
            rule="image-security-updates",
            severity=WARNING,
            subject=subject,
            message=message,
            why="The distribution has published fixes this image does not carry: the release "
            "keeps the vulnerable versions until it is rebuilt.",
            fix=fix,
            status=PENDING,
            details=tuple(u.line() for u in result.updates),
        )
    ]


# --- the base image ----------------------------------------------------------------------


@dataclass(frozen=True)
class ImageFacts:
    id: str
    created: datetime | None
    layers: tuple[str, ...]
    labels: dict

    @classmethod
    def from_inspect(cls, text: str) -> ImageFacts:
        item = json.loads(text)[0]
        return cls(
            id=item.get("Id", ""),
            created=parse_created(item.get("Created", "")),
            layers=tuple((item.get("RootFS") or {}).get("Layers") or []),
            labels=(item.get("Config") or {}).get("Labels") or {},
        )


def parse_created(text: str) -> datetime | None:
    """Docker's RFC 3339 with nanoseconds: `2026-12-02T04:40:10.081420104Z`."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", text)
    if not match:
        return None
    stamp, fraction, zone = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(f"{stamp}.{fraction}{zone}")


def built_on(release: ImageFacts, base: ImageFacts) -> bool:
    """The release's layers start with the base's: it was built on this very base image."""
    return bool(base.layers) and release.layers[: len(base.layers)] == base.layers


def base_findings(
    subject: str, base_name: str, release: ImageFacts, base: ImageFacts | None, now: datetime
) -> tuple[list[Finding], str]:
    """Findings on the base image, and the fact line that describes it."""
    if not base_name:
        return [], "unknown (outside a project, or no PYTHON_IMAGE build argument)"
    if base is None:
        fact = f"{base_name}: not on this engine"
        return [
            Finding(
                rule="image-base-age-not-checked",
                severity=WARNING,
                subject=subject,
                message=f"the base image {base_name} is not on this engine: its age is unknown",
                why="Without the base image its creation date (when its packages were last "
                "refreshed) cannot be read.",
                fix=f"Pull it (`docker pull {base_name}`) or run the audit where it was built.",
                status=NOT_CHECKED,
            )
        ], fact
    if not built_on(release, base):
        return [
            Finding(
                rule="image-base-changed",
                severity=WARNING,
                subject=subject,
                message=f"the release was not built on the {base_name} this engine has now",
                why="The base image was pulled or rebuilt since the release was built: the "
                "release lacks whatever the newer base fixed.",
                fix="`djship refresh` rebuilds the release on it and ships it.",
                status=PENDING,
            )
        ], f"{base_name}: newer than the release's"
    if base.created is None:
        return [], f"{base_name}: creation date unknown"
    age = (now - base.created).days
    fact = f"{base_name}, created {base.created.date().isoformat()} ({age} days ago)"
    if age <= BASE_MAX_AGE_DAYS:
        return [], fact
    return [
        Finding(
            rule="image-base-old",
            severity=WARNING,
            subject=subject,
            message=f"the base image {base_name} is {age} days old",
            why=f"Official images are rebuilt at least monthly with their distribution's "
            f"security updates; a base older than {BASE_MAX_AGE_DAYS} days misses them.",
            fix="`djship refresh` pulls a fresh base (where a registry answers), rebuilds the "
            "release and ships it.",
            status=PENDING,
        )
    ], fact


def now_utc() -> datetime:
    return datetime.now(UTC)
