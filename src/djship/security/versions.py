"""Version comparisons for the audit: upstream release numbers (with `packaging`), Debian
package versions (with python-debian, which knows epochs, `~`, `+dfsg`, `+debNuM`, binNMUs),
release lines (a fix per stable branch), and the upstream release a kernel carries.

Pure functions: strings in, answers out.
"""

from __future__ import annotations

import re

from packaging.version import Version

# An upstream release at the start of a version string: an optional epoch (`5:`), an
# optional `v`, the numbers, and an optional pre-release (`-rc93`, `~rc93`, `-rc.3`,
# `-beta.0`). Whatever follows (`+dfsg1`, `~ds1`, `-1+deb12u1`, `-fc-v669`) is packaging.
UPSTREAM = re.compile(
    r"^(?:\d+:)?v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-~.]?(?P<pre>rc|alpha|beta|a|b)\.?(?P<number>\d+))?"
)
PRE_RELEASE = {"alpha": "a", "beta": "b"}
# A Debian (or Ubuntu) package version: upstream part, then a revision after the last `-`.
# `v1.1.12-0-g51d5e94` (git describe, what upstream builds report) is not one.
PACKAGE_VERSION = re.compile(r"^(?:\d+:)?\d[0-9A-Za-z.+~]*-[0-9A-Za-z.+~]+$")
GIT_DESCRIBE = re.compile(r"-\d+-g[0-9a-f]{7,}$")
DISTRIBUTION_MARKERS = re.compile(r"\+dfsg|[~+]ds\d|\+deb\d+u\d+|ubuntu|\+b\d+$")
DEBIAN_RELEASES = {
    "9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie",
    "14": "forky",
}  # fmt: skip


def upstream_version(text: str) -> Version | None:
    """The upstream release a version string names: `1.1.5+ds1-1+deb12u1` -> 1.1.5,
    `1.0.0~rc93+ds1-5` -> 1.0.0rc93, `5:24.0.7-1~debian.12~bookworm` -> 24.0.7,
    `6.18.44-fc-v669` -> 6.18.44. None when it starts with no number."""
    match = UPSTREAM.match(text.strip())
    if not match:
        return None
    pre = match.group("pre")
    suffix = f"{PRE_RELEASE.get(pre, pre)}{match.group('number')}" if pre else ""
    return Version(match.group("release") + suffix)


def release_line(version: Version) -> tuple[int, ...]:
    """The stable branch a release belongs to: 1.1.12 -> (1, 1), 5.15.25 -> (5, 15)."""
    return (version.release + (0,))[:2]


def carries_upstream_fix(installed: str, fixed: list[str], introduced: str = "") -> bool:
    """True when the upstream release `installed` is not affected: older than the release
    that `introduced` the flaw, at or past the fix on its own release line, or at or past
    the newest fix (a newer line). A line that never got a fix (an end-of-life branch
    between two fixed ones) is affected."""
    version = upstream_version(installed)
    if version is None:
        raise ValueError(f"not a version: {installed!r}")
    if introduced and version < _parse(introduced):
        return True
    fixes = sorted(_parse(item) for item in fixed)
    if any(release_line(fix) == release_line(version) and version >= fix for fix in fixes):
        return True
    return version >= fixes[-1]


def _parse(text: str) -> Version:
    version = upstream_version(text)
    if version is None:
        raise ValueError(f"not a version: {text!r}")
    return version


def debian_at_least(installed: str, fixed: str) -> bool:
    """Debian's own ordering (dpkg --compare-versions ge): `20.10.24+dfsg1-1+deb12u1+b6`
    >= `20.10.24+dfsg1-1+deb12u1`, `1.6.20~ds1-1` < `1.6.20`."""
    from debian.debian_support import Version as DebianVersion

    return DebianVersion(installed) >= DebianVersion(fixed)


def is_package_version(text: str) -> bool:
    """A distribution package's version (`1.1.5+ds1-1+deb12u1`, `24.0.7-0ubuntu2~22.04.1`),
    as opposed to an upstream one (`1.1.12`) or a git description (`v1.1.12-0-g51d5e94`)."""
    text = text.strip()
    if not text or text.startswith("v") or GIT_DESCRIBE.search(text):
        return False
    return bool(PACKAGE_VERSION.match(text)) and bool(DISTRIBUTION_MARKERS.search(text))


def is_distribution_build(text: str) -> bool:
    """A version string a distribution produced (repacked `+dfsg`/`~ds` sources or a package
    revision): its fixes may be backported without the upstream number moving."""
    return bool(DISTRIBUTION_MARKERS.search(text.strip())) or is_package_version(text)


def debian_release_of(package_version: str) -> str | None:
    """The Debian release a stable update names: `...+deb12u3` -> bookworm."""
    match = re.search(r"\+deb(\d+)u\d+", package_version)
    return DEBIAN_RELEASES.get(match.group(1)) if match else None


# --- kernels ----------------------------------------------------------------------------

KERNEL_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(.*)$")


def kernel_upstream(release: str, proc_version: str = "", signature: str = "") -> tuple:
    """(upstream release, how it was read) for a kernel, or (None, why it cannot be told).

    Distributions name kernels by ABI (Debian `6.1.0-18-amd64`, Ubuntu `5.15.0-91-generic`):
    the upstream stable release they carry is in /proc/version (Debian: `Debian 6.1.76-1`)
    or /proc/version_signature (Ubuntu: its last field). Red Hat family kernels backport
    fixes under an old number (`4.18.0-513.el8`): their version tells nothing here.
    """
    last = signature.split()[-1] if signature.split() else ""
    if re.fullmatch(r"\d+\.\d+\.\d+", last):
        return last, "/proc/version_signature"
    debian = re.search(r"Debian (\d+\.\d+\.\d+)", proc_version)
    if debian:
        return debian.group(1), "/proc/version"
    match = KERNEL_RELEASE.match(release.strip())
    if not match:
        return None, f"kernel release {release!r} is not a version"
    major, minor, patch, rest = match.groups()
    if re.search(r"\.el\d", rest):
        return None, (
            f"{release} is a Red Hat family kernel: fixes are backported under an old "
            "number, so its version cannot be compared with upstream fixes"
        )
    if patch in (None, "0") and re.match(r"-\d+", rest):
        return None, (
            f"{release} is a distribution kernel named by its ABI, not by the upstream "
            "release it carries (that is read from /proc/version on the engine's machine)"
        )
    return f"{major}.{minor}.{patch or 0}", "the kernel release"
