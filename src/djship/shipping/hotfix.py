"""Code-only hotfixes (`djship reload`): which files ship, packed as one tar stream.

The production image is immutable; a hotfix places the project's Python packages in the
container's /srv/hotfix/code (a tmpfs, first on sys.path), then touches the chain-reload file
so uWSGI reloads its workers one by one. The hotfix lives until the container is recreated:
rebuild the image to make it permanent.
"""

from __future__ import annotations

import io
import tarfile
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
