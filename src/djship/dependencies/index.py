"""The files a distribution version has on the package index (PEP 691 JSON simple API),
with an on-disk cache and an offline mode: what `djship deps` needs for locks that do not
list wheels (Pipfile.lock, requirements.txt)."""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)

from djship.errors import DjshipError

DEFAULT_INDEX = "https://pypi.org/simple"
ACCEPT = "application/vnd.pypi.simple.v1+json"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "djship" / "index"


@dataclass(frozen=True)
class PackageIndex:
    cache_dir: Path
    offline: bool = False
    url: str = DEFAULT_INDEX

    def files(self, name: str, version: str) -> tuple[str, ...]:
        """File names (wheels and sdists) of `name` at `version`."""
        wanted = canonicalize_version(version)
        return tuple(sorted(f for f in self._project_files(name) if _version_of(f) == wanted))

    def _project_files(self, name: str) -> list[str]:
        name = canonicalize_name(name)
        cached = self.cache_dir / f"{name}.json"
        if cached.is_file():
            return json.loads(cached.read_text())
        if self.offline:
            raise DjshipError(
                f"{name} is not in the index cache and --offline forbids a lookup",
                hint=f"Run once online to fill {self.cache_dir}.",
            )
        files = self._fetch(name)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(files))
        return files

    def _fetch(self, name: str) -> list[str]:
        request = urllib.request.Request(f"{self.url}/{name}/", headers={"Accept": ACCEPT})
        try:
            with urllib.request.urlopen(request, timeout=30, context=_tls()) as response:
                data = json.load(response)
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as error:
            raise DjshipError(
                f"cannot read {name} from {self.url}: {error}",
                hint="Check the network, or use --offline with a filled cache.",
            ) from None
        return [entry["filename"] for entry in data.get("files", []) if not entry.get("yanked")]


def _tls() -> ssl.SSLContext:
    """The system's trust store, or SSL_CERT_FILE: what a TLS-inspecting proxy needs."""
    return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or None)


def _version_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return canonicalize_version(str(parse_wheel_filename(filename)[1]))
        return canonicalize_version(str(parse_sdist_filename(filename)[1]))
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
