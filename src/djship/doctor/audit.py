"""Gathering what `djship doctor` checks: the .env file, and the Compose configuration as
`docker compose config` resolves it, in a djship project or in any directory with Compose
files. The checks themselves are pure (dotenv, compose)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from djship.doctor.compose import Sources, check_compose
from djship.doctor.django import CHECK_ARGV, not_checked, parse_check
from djship.doctor.dotenv import check_env, repair
from djship.doctor.findings import ERROR, Finding
from djship.doctor.hadolint import hadolint_command, hadolint_path, not_linted, parse_hadolint
from djship.doctor.images import (
    check_dockerfile,
    check_settings,
    check_uwsgi,
    installs_mime_types,
)
from djship.engine.runner import Command, capture, last_lines
from djship.errors import DjshipError
from djship.project.envfile import EnvFileError
from djship.project.layout import DEFAULT_ENVIRONMENT, find_project
from djship.project.secrets import environment_secrets, write_secret_files

PLAIN_COMPOSE_FILES = (
    "compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml",
    "compose.override.yaml", "compose.override.yml",
    "docker-compose.override.yaml", "docker-compose.override.yml",
)  # fmt: skip


@dataclass(frozen=True)
class Setup:
    """What is audited: a directory, its Compose files (relative), its environment name."""

    root: Path
    files: tuple[str, ...]
    environment: str
    djship: bool

    def config_command(self) -> Command:
        flags = [arg for name in self.files for arg in ("-f", name)]
        return Command(["docker", "compose", *flags, "config", "--format", "json"], cwd=self.root)


def find_setup(start: Path, environment: str | None) -> Setup:
    try:
        project = find_project(start)
    except DjshipError:
        files = tuple(name for name in PLAIN_COMPOSE_FILES if (start / name).is_file())
        if not files:
            raise DjshipError(
                f"no Compose file in {start} (compose.yaml, docker-compose.yml...)",
                hint="Run `djship doctor` where the project's Compose files are.",
            ) from None
        # A plain Compose setup is audited as production unless told otherwise.
        return Setup(start, files, environment or "prod", djship=False)
    try:
        name = project.resolve_environment(environment)
    except EnvFileError:  # a broken .env is what doctor is for: read it leniently below
        name = environment or DEFAULT_ENVIRONMENT
    return Setup(project.root, tuple(project.compose_files(name)), name, djship=True)


def audit(setup: Setup) -> list[Finding]:
    findings = []
    dotenv = setup.root / ".env"
    if dotenv.is_file():
        findings += check_env(read_exactly(dotenv), ".env")
    result = capture(setup.config_command(), check=False)
    if result.returncode != 0:
        # `docker compose config` needs no daemon: a refusal is the files' (or .env's) fault,
        # and nothing of this setup can start until it is fixed.
        reason = last_lines(result.stderr, 3)
        return findings + [
            Finding(
                "compose-invalid", ERROR, setup.files[0], 0,
                "Compose refuses these files", f"`docker compose config` failed: {reason}",
                "Fix what Compose reports, then run djship doctor again.",
            )
        ]  # fmt: skip
    texts = {name: (setup.root / name).read_text(encoding="utf-8") for name in setup.files}
    config = json.loads(result.stdout)
    findings += check_compose(config, setup.environment, Sources(texts))
    if setup.environment != DEFAULT_ENVIRONMENT:
        findings += image_findings(setup, config)
        findings += deploy_checks(setup, config)
    for path in settings_files(setup.root):
        findings += check_settings(path.read_text(encoding="utf-8"), relative(setup, path))
    return findings


SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "public", "backups"}


def project_files(root: Path, pattern: str) -> list[Path]:
    return sorted(
        p for p in root.rglob(pattern) if not SKIPPED_DIRS & set(p.relative_to(root).parts)
    )


def settings_files(root: Path) -> list[Path]:
    found = project_files(root, "settings*.py") + project_files(root, "settings/*.py")
    return sorted(set(found))


def relative(setup: Setup, path: Path) -> str:
    return path.relative_to(setup.root).as_posix()


def deploy_checks(setup: Setup, config: dict) -> list[Finding]:
    """`check --deploy` in a one-off container of the service that has a manage.py, with
    the production settings, when its image has been built (doctor never builds)."""
    name = next((n for n, s in sorted(config.get("services", {}).items()) if s.get("build")), None)
    if name is None:
        return []
    service = config["services"][name]
    where = setup.files[-1]
    image = service.get("image") or f"{config.get('name', setup.root.name)}-{name}"
    if capture(Command(["docker", "image", "inspect", image]), check=False).returncode != 0:
        return [not_checked(where, f"the image {image} of {name} is not built")]
    if setup.djship:
        project = find_project(setup.root)
        write_secret_files(environment_secrets(project, setup.environment, config))
    flags = [arg for path in setup.files for arg in ("-f", path)]
    command = Command(
        ["docker", "compose", *flags, "run", "--rm", "--no-deps", "-T", name, *CHECK_ARGV],
        cwd=setup.root,
    )
    result = capture(command, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0 and "System check identified" not in output:
        return [not_checked(where, f"`manage.py check --deploy` failed: {last_lines(output, 3)}")]
    return parse_check(output, where)


def lint(dockerfile: Path, path: str) -> list[Finding]:
    binary = hadolint_path()
    if binary is None:
        return [not_linted(path)]
    result = capture(hadolint_command(binary, dockerfile), check=False)
    return parse_hadolint(result.stdout, path)


def image_findings(setup: Setup, config: dict) -> list[Finding]:
    """The Dockerfiles the services build, and the uWSGI files of the environment."""
    findings, texts = [], []
    for service in config.get("services", {}).values():
        build = service.get("build")
        if not build:
            continue
        dockerfile = Path(build.get("context", setup.root)) / build.get("dockerfile", "Dockerfile")
        if not dockerfile.is_file():
            continue
        text = dockerfile.read_text(encoding="utf-8")
        texts.append(text)
        checked = bool(service.get("healthcheck")) and not service["healthcheck"].get("disable")
        findings += check_dockerfile(text, relative(setup, dockerfile), checked)
        findings += lint(dockerfile, relative(setup, dockerfile))
    limited = any(
        ((s.get("deploy") or {}).get("resources") or {}).get("limits", {}).get("cpus")
        for s in config.get("services", {}).values()
    )
    mime = any(installs_mime_types(text) for text in texts)
    folder = setup.root / "environments" / setup.environment if setup.djship else setup.root
    for ini in project_files(folder, "*.ini"):
        text = ini.read_text(encoding="utf-8", errors="replace")
        if "[uwsgi]" in text:
            findings += check_uwsgi(text, relative(setup, ini), limited, mime)
    return findings


def repair_env(setup: Setup) -> list[str]:
    """Apply the safe .env repairs; what changed."""
    dotenv = setup.root / ".env"
    if not dotenv.is_file():
        return []
    fixed, changes = repair(read_exactly(dotenv))
    if changes:
        dotenv.write_bytes(fixed.encode("utf-8"))
    return changes


def read_exactly(path: Path) -> str:
    """The text with its line ends as they are (read_text would turn CRLF into LF)."""
    return path.read_bytes().decode("utf-8", errors="replace")
