"""Code-only hotfixes (`djship reload`): which files ship, packed as one tar stream.

The production image is immutable; a hotfix places the project's Python packages in the
container's /srv/hotfix/code (a tmpfs, first on sys.path), then touches the chain-reload file
so uWSGI reloads its workers one by one. The hotfix lives until the container is recreated:
rebuild the image to make it permanent.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

HOTFIX_DIR = "/srv/hotfix"
SKIPPED_DIRS = {"__pycache__", "static", "node_modules"}


def hotfix_files(root: Path) -> list[Path]:
    """The project's code, relative to its root: top-level modules and every package."""
    files = [path.relative_to(root) for path in sorted(root.glob("*.py"))]
    for package in sorted(p for p in root.iterdir() if (p / "__init__.py").is_file()):
        for path in sorted(package.rglob("*")):
            relative = path.relative_to(root)
            skipped = SKIPPED_DIRS.intersection(relative.parts[:-1])
            if path.is_file() and not skipped and path.suffix not in {".pyc", ".pyo"}:
                files.append(relative)
    return files


def pack(root: Path, files: list[Path]) -> bytes:
    """A tar archive of `files`, readable by the unprivileged app user."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for relative in files:
            info = archive.gettarinfo(str(root / relative), arcname=str(relative))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with open(root / relative, "rb") as handle:
                archive.addfile(info, handle)
    return buffer.getvalue()


def install_script() -> str:
    """Shell run in the container: unpack beside the live copy, swap, then trigger the reload."""
    return (
        f"set -e; rm -rf {HOTFIX_DIR}/code.new; mkdir -p {HOTFIX_DIR}/code.new; "
        f"tar -x -C {HOTFIX_DIR}/code.new; rm -rf {HOTFIX_DIR}/code.old; "
        f"if [ -d {HOTFIX_DIR}/code ]; then mv {HOTFIX_DIR}/code {HOTFIX_DIR}/code.old; fi; "
        f"mv {HOTFIX_DIR}/code.new {HOTFIX_DIR}/code; rm -rf {HOTFIX_DIR}/code.old; "
        f"touch {HOTFIX_DIR}/reload"
    )


# uWSGI's stats server (uwsgi.ini `stats`): JSON about the master and every worker.
STATS_SOCKET = "/tmp/uwsgi-stats.sock"
# Run in the web container: prints the stats JSON, or nothing when there is no stats server
# (a project generated before it existed).
STATS_SCRIPT = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "try:\n"
    f"    s.connect({STATS_SOCKET!r})\n"
    "except OSError:\n"
    "    sys.exit(0)\n"
    "chunks = iter(lambda: s.recv(65536), b'')\n"
    "sys.stdout.write(b''.join(chunks).decode())\n"
)


@dataclass(frozen=True)
class ReloadProgress:
    """How far a chain reload has gone: workers started since it began, out of those up."""

    renewed: int
    total: int
    loading: int

    @property
    def done(self) -> bool:
        return self.total > 0 and self.renewed == self.total and self.loading == 0

    @property
    def summary(self) -> str:
        return f"{self.renewed}/{self.total} workers on the new code"


def worker_pids(stats: dict) -> set[int]:
    """The workers that serve now (a worker the cheaper subsystem stopped has pid 0)."""
    return {w["pid"] for w in stats.get("workers", []) if w.get("pid") and w["status"] != "cheap"}


def reload_progress(stats: dict, before: set[int]) -> ReloadProgress:
    """A chain reload replaces every worker process: it is over when no worker that served
    before it remains and every new one accepts requests (the last may still be loading)."""
    up = [w for w in stats.get("workers", []) if w.get("pid") and w["status"] != "cheap"]
    renewed = sum(1 for w in up if w["pid"] not in before)
    loading = sum(1 for w in up if not w.get("accepting", 1))
    return ReloadProgress(renewed, len(up), loading)
