"""Secrets as files: which files an environment's Compose configuration mounts from
`environments/<env>/secrets/`, and what they hold, taken from .env.

.env stays the one file a user edits; the files are derived from it, one per secret, named
after its variable in lower case (`django_secret_key` holds DJANGO_SECRET_KEY). Containers
read them as /run/secrets/<name> through NAME_FILE variables, so no secret is ever an
environment value that `docker inspect` would show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from djship.errors import DjshipError
from djship.project.envfile import compose_value
from djship.project.layout import ENVIRONMENTS_DIR, Project

SECRETS_DIR = "secrets"


@dataclass(frozen=True)
class Secret:
    """One secret of an environment: its Compose name, the .env variable it comes from."""

    name: str
    variable: str
    path: Path
    value: str


def secrets_dir(project: Project, environment: str) -> Path:
    return project.root / ENVIRONMENTS_DIR / environment / SECRETS_DIR


def environment_secrets(project: Project, environment: str, config: dict) -> list[Secret]:
    """The secrets of `config` (resolved Compose JSON) whose files djship derives from .env.

    Secrets pointing elsewhere (a build's CA bundle, a file the user manages) are left alone.
    """
    directory = secrets_dir(project, environment).resolve()
    found = []
    for name, spec in sorted(config.get("secrets", {}).items()):
        path = Path(spec.get("file", ""))
        if not spec.get("file") or path.parent.resolve() != directory:
            continue
        variable = path.name.upper()
        if variable not in project.env:
            raise DjshipError(
                f"secret {name!r} of the {environment} environment has no value: "
                f".env has no {variable} line",
                hint=f"Add {variable}=... to .env (it is written to {path}).",
            )
        found.append(Secret(name, variable, path, compose_value(project.env[variable])))
    return found


def write_secret_files(secrets: list[Secret]) -> None:
    """Write each secret's file when its content changed.

    The directory is private to its owner (0700); the files are 0644 because a bind mount
    keeps host permissions, and the containers' unprivileged users must read them.
    """
    for secret in secrets:
        secret.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(secret.path.parent, 0o700)
        current = secret.path.read_text(encoding="utf-8") if secret.path.exists() else None
        if current != secret.value:
            secret.path.write_text(secret.value, encoding="utf-8")
        os.chmod(secret.path, 0o644)
