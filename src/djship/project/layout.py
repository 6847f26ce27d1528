"""A djship project on disk: where it is, its .env, its environments and its lock tool."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from djship.errors import DjshipError
from djship.project.envfile import parse_env, read_env
from djship.project.locking import LockTool, detect_tool

BASE_COMPOSE_FILE = "compose.yaml"
ENVIRONMENTS_DIR = "environments"
DEFAULT_ENVIRONMENT = "dev"
LOGGING_FILE = "logging.yaml"  # project/logtarget.py writes it


@dataclass(frozen=True)
class Project:
    """A generated project: its root holds compose.yaml and environments/<env>/compose.yaml."""

    root: Path

    @cached_property
    def env(self) -> dict[str, str]:
        """The validated values of .env (a bad line raises an error naming it)."""
        return read_env(self.root / ".env")

    @property
    def name(self) -> str:
        """The Compose project name: COMPOSE_PROJECT_NAME from .env, else the directory's."""
        return self.env.get("COMPOSE_PROJECT_NAME") or self.root.name

    @property
    def environments(self) -> list[str]:
        """The environments this project defines, one directory each."""
        base = self.root / ENVIRONMENTS_DIR
        return sorted(p.parent.name for p in base.glob(f"*/{BASE_COMPOSE_FILE}"))

    @property
    def lock_tool(self) -> LockTool:
        return detect_tool(self.root)

    @property
    def base(self) -> str:
        """The image family the Dockerfiles were generated for: alpine (apk) or debian (apt)."""
        dockerfile = self.root / ENVIRONMENTS_DIR / "prod" / "Dockerfile"
        if dockerfile.is_file() and "apk add" in dockerfile.read_text(encoding="utf-8"):
            return "alpine"
        return "debian"

    @property
    def no_binary(self) -> frozenset[str]:
        """Distributions the project forces to build from source (uv's no-binary-package)."""
        from packaging.utils import canonicalize_name

        pyproject = self.root / "pyproject.toml"
        if not pyproject.is_file():
            return frozenset()
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise DjshipError(f"{pyproject} is not valid TOML: {error}") from None
        names = data.get("tool", {}).get("uv", {}).get("no-binary-package", [])
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise DjshipError(
                f"{pyproject}: [tool.uv] no-binary-package must be a list of distribution "
                f"names, not {names!r}"
            )
        return frozenset(canonicalize_name(name) for name in names)

    def default_environment(self) -> str:
        """The environment .env selects through COMPOSE_FILE (dev when it says nothing)."""
        for part in self.env.get("COMPOSE_FILE", "").replace(";", ":").split(":"):
            pieces = Path(part).parts
            if len(pieces) == 3 and pieces[0] == ENVIRONMENTS_DIR:
                return pieces[1]
        return DEFAULT_ENVIRONMENT

    def resolve_environment(self, requested: str | None) -> str:
        """`requested` (or the default) once checked to exist: unknown names are refused."""
        name = requested or self.default_environment()
        known = self.environments
        if name not in known:
            choices = ", ".join(known) or "none"
            raise DjshipError(
                f"unknown environment {name!r}; this project has: {choices}",
                hint=f"Each environment is a directory {ENVIRONMENTS_DIR}/<name>/ "
                f"holding a {BASE_COMPOSE_FILE}.",
            )
        return name

    def compose_files(self, environment: str) -> list[str]:
        """The Compose files that make up `environment`, base first; then the logging
        override djship writes from LOG_TARGET (project/logtarget.py), when there is one."""
        files = [BASE_COMPOSE_FILE, f"{ENVIRONMENTS_DIR}/{environment}/{BASE_COMPOSE_FILE}"]
        logging = f"{ENVIRONMENTS_DIR}/{environment}/{LOGGING_FILE}"
        return files + [logging] if (self.root / logging).is_file() else files

    def env_line(self, key: str) -> int | None:
        """The .env line that sets `key`, for messages that point at it."""
        path = self.root / ".env"
        entries = parse_env(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return entries[key].line if key in entries else None


def is_project_root(path: Path) -> bool:
    return (path / BASE_COMPOSE_FILE).is_file() and (path / ENVIRONMENTS_DIR).is_dir()


def find_project(start: Path) -> Project:
    """The project containing `start`, looking upwards like git does."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if is_project_root(candidate):
            return Project(candidate)
    for candidate in (start, *start.parents):
        if (candidate / ENVIRONMENTS_DIR).is_dir() and (candidate / ".env").is_file():
            raise DjshipError(
                f"{candidate / BASE_COMPOSE_FILE} is missing: it is the project's entry point",
                hint="Restore it from version control (`git checkout -- compose.yaml`).",
            )
    raise DjshipError(
        f"not inside a djship project (no {BASE_COMPOSE_FILE} with an {ENVIRONMENTS_DIR}/ "
        f"directory in {start} or above)",
        hint="Run this inside a project, or create one with `djship new NAME`.",
    )
