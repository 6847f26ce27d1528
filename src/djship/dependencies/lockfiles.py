"""Reading the three lock formats into one list of pinned distributions.

uv.lock names every wheel of every package; Pipfile.lock and a hashed requirements.txt give
only names and versions, so their files are looked up in the package index (the index module).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from djship.errors import DjshipError

LOCK_FILES = ("uv.lock", "Pipfile.lock", "requirements.txt")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


@dataclass(frozen=True)
class Pinned:
    """One locked distribution. `files` is None when the lock does not list them."""

    name: str  # normalised (PEP 503)
    version: str
    files: tuple[str, ...] | None = None


def find_lock_file(root: Path) -> Path:
    for name in LOCK_FILES:
        if (root / name).is_file():
            return root / name
    raise DjshipError(
        f"no lock file in {root} (looked for {', '.join(LOCK_FILES)})",
        hint="Create it with `djship lock`.",
    )


def read_lock(path: Path) -> list[Pinned]:
    """The pinned distributions of a lock file, by format."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.name == "uv.lock":
            return parse_uv_lock(text)
        if path.name == "Pipfile.lock":
            return parse_pipfile_lock(text)
        return parse_requirements(text, source=path.name)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, KeyError) as error:
        raise DjshipError(f"{path.name} cannot be read: {error}") from None


def parse_uv_lock(text: str) -> list[Pinned]:
    pinned = []
    for package in tomllib.loads(text).get("package", []):
        source = package.get("source", {})
        if "registry" not in source:
            continue  # the project itself, or a path/git dependency: not from the index
        files = [_filename(wheel["url"]) for wheel in package.get("wheels", [])]
        if "sdist" in package:
            files.append(_filename(package["sdist"]["url"]))
        pinned.append(Pinned(canonicalize_name(package["name"]), package["version"], tuple(files)))
    return sorted(pinned, key=lambda p: p.name)


def parse_pipfile_lock(text: str) -> list[Pinned]:
    data = json.loads(text)
    pinned = {}
    for section in ("default",):  # dev-packages never reach an image
        for name, entry in data.get(section, {}).items():
            version = entry.get("version", "")
            if version.startswith("=="):
                pinned[canonicalize_name(name)] = Pinned(canonicalize_name(name), version[2:])
    return sorted(pinned.values(), key=lambda p: p.name)


def parse_requirements(text: str, source: str = "requirements.txt") -> list[Pinned]:
    """A pip-tools style file: `name==version` lines, continued by `--hash` lines."""
    pinned = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        if not stripped or stripped.startswith("--") or line[:1].isspace():
            continue
        match = PIN.match(stripped)
        if not match:
            raise DjshipError(
                f"{source}, line {number}: not pinned with == ({stripped!r})",
                hint="A lock file pins every distribution: name==version.",
            )
        pinned.append(Pinned(canonicalize_name(match.group(1)), match.group(3)))
    return sorted(pinned, key=lambda p: p.name)


def _filename(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).name
