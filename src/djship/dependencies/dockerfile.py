"""Keeping the generated Dockerfiles' system-package lines in step with the lock file.

The Dockerfiles carry `ARG BUILD_PACKAGES="..."` and `ARG RUNTIME_PACKAGES="..."`; djship
rewrites only those lines, so everything else a user edits in the file is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ARGS = ("BUILD_PACKAGES", "RUNTIME_PACKAGES")
DOCKERFILES = ("environments/dev/Dockerfile", "environments/prod/Dockerfile")


@dataclass(frozen=True)
class SystemPackages:
    build: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()

    def value(self, arg: str) -> str:
        return " ".join(self.build if arg == "BUILD_PACKAGES" else self.runtime)


def rewrite(text: str, packages: SystemPackages) -> str:
    """`text` with every package ARG line set to `packages`."""
    for arg in PACKAGE_ARGS:
        pattern = re.compile(rf"^ARG {arg}=.*$", re.MULTILINE)
        text = pattern.sub(f'ARG {arg}="{packages.value(arg)}"', text)
    return text


def update_dockerfiles(root: Path, packages: SystemPackages) -> list[str]:
    """Rewrite the project's Dockerfiles; returns the ones that changed."""
    changed = []
    for relative in DOCKERFILES:
        path = root / relative
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, packages)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(relative)
    return changed
