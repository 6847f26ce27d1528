"""The container and environment files a project already has (Dockerfile, Compose files,
.env, uwsgi.ini, ignore files): djship never writes over them; it says where they overlap
with its own files, and what of theirs it does not carry over."""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field

from djship.adopt.tree import Tree, join
from djship.errors import DjshipError
from djship.project.envfile import parse_env
from djship.scaffold.render import uwsgi_option_names

COMPOSE_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml")
DJSHIP_COMPOSE = "compose.yaml"
# uWSGI options djship's files stand for under another name (workers = processes, a socket
# of another protocol, the user the image already runs as); with the ones they set (read
# from the templates), anything else of yours is named.
UWSGI_EQUIVALENTS = {
    "workers", "wsgi", "wsgi-file", "socket", "http", "env", "virtualenv", "home", "uid", "gid",
}  # fmt: skip


@dataclass
class Existing:
    """What is there already, and what it means for djship's files."""

    notes: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # init cannot go on
    env_keys: dict[str, str] = field(default_factory=dict)  # the existing .env's values
    has_env: bool = False
    compose_files: list[str] = field(default_factory=list)  # the project's own
    has_env_example: bool = False
    has_gitignore: bool = False
    has_dockerignore: bool = False
    env_ignored: bool = False  # the existing .gitignore ignores .env


def survey(tree: Tree, root: str, app_dir: str) -> Existing:
    """The existing files at the djship root (and manage.py's directory)."""
    found = Existing()
    directories = [root] + ([app_dir] if app_dir != root else [])
    if tree.exists(join(root, DJSHIP_COMPOSE)):
        found.blockers.append(
            f"{join(root, DJSHIP_COMPOSE)} exists: djship's base Compose file has that name. "
            "Rename yours (docker-compose.yml, say: Compose still finds it with -f) and run "
            "init again"
        )
    for directory in directories:
        for path in tree.glob(join(directory, "Dockerfile*")):
            if path.endswith(".dockerignore"):
                continue
            base = _from_line(tree.text(path) or "")
            starts = f" (yours starts {base})" if base else ""
            found.notes.append(
                f"{path} (yours) is left as it is; djship builds with environments/dev/"
                f"Dockerfile and environments/prod/Dockerfile{starts}"
            )
        for name in COMPOSE_NAMES:
            path = join(directory, name)
            if tree.exists(path):
                found.compose_files.append(path)
                found.notes.append(_compose_note(tree, path))
        for path in _uwsgi_files(tree, directory):
            found.notes.append(_uwsgi_note(tree, path))
    _env(tree, root, found)
    found.has_env_example = tree.exists(join(root, ".env.example"))
    found.has_dockerignore = tree.exists(join(root, ".dockerignore"))
    if found.has_dockerignore:
        found.notes.append(
            f"{join(root, '.dockerignore')} (yours) is left for your own builds; djship's "
            "builds read environments/<env>/Dockerfile.dockerignore instead (BuildKit "
            "prefers the file beside the Dockerfile)"
        )
    gitignore = tree.text(join(root, ".gitignore"))
    found.has_gitignore = gitignore is not None
    if gitignore is not None:
        found.env_ignored = _ignores_env(gitignore)
        if not found.env_ignored:
            found.notes.append(
                "warning: your .gitignore does not ignore .env, which holds secrets: add a "
                "line `.env` to it (djship does not edit your .gitignore)"
            )
    if tree.is_dir(join(root, "environments")):
        found.notes.append(
            f"{join(root, 'environments')}/ exists: djship adds its files there, next to yours"
        )
    procfile = tree.text(join(root, "Procfile"))
    if procfile and "migrate" in procfile:
        found.notes.append(
            "Procfile runs migrations at release: `djship deploy` does the same, once per "
            "release, before traffic moves"
        )
    return found


def _from_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip().upper().startswith("FROM "):
            return line.strip()
    return ""


def _compose_note(tree: Tree, path: str) -> str:
    text = tree.text(path) or ""
    images = sorted(set(re.findall(r"image:\s*['\"]?(postgres[^\s'\"]*)", text)))
    extra = ""
    if images:
        extra = (
            f"; it runs {', '.join(images)}: djship's db service is a new one (POSTGRES_IMAGE "
            "in .env), your volume's data is not moved (pg_dump it, then `djship db restore`)"
        )
    return (
        f"{path} (yours) is left as it is; `djship` always passes its own files, and .env's "
        f"COMPOSE_FILE makes plain `docker compose` run them too: run yours with "
        f"`docker compose -f {path}`{extra}"
    )


def _uwsgi_files(tree: Tree, directory: str) -> list[str]:
    found = []
    for path in tree.glob(join(directory, "*.ini")) + tree.glob(join(directory, "*/*.ini")):
        if path.startswith("environments/"):
            continue
        if "[uwsgi]" in (tree.text(path) or ""):
            found.append(path)
    return found


def _uwsgi_note(tree: Tree, path: str) -> str:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(tree.text(path) or "")
        options = set(parser.options("uwsgi")) if parser.has_section("uwsgi") else set()
    except configparser.Error:
        options = set()
    others = sorted(options - uwsgi_option_names() - UWSGI_EQUIVALENTS)
    extra = f"; options of yours djship's files lack: {', '.join(others)}" if others else ""
    return (
        f"{path} (yours) is not used: djship's uWSGI reads environments/dev/uwsgi.ini and "
        f"environments/prod/uwsgi.ini{extra}"
    )


def _env(tree: Tree, root: str, found: Existing) -> None:
    path = join(root, ".env")
    text = tree.text(path)
    if text is None:
        if tree.exists(path) and not tree.is_dir(path):
            found.blockers.append(f"{path} exists but is not UTF-8 text")
        return
    found.has_env = True
    try:
        entries = parse_env(text, source=path)
    except DjshipError as error:
        found.blockers.append(
            f"your {error.message}: djship and Compose read .env, so it must be plain "
            "KEY=value lines (`djship doctor --fix` repairs quotes, spaces and line ends)"
        )
        return
    found.env_keys = {key: entry.value for key, entry in entries.items()}


def _ignores_env(gitignore: str) -> bool:
    for line in gitignore.splitlines():
        pattern = line.strip().lstrip("/")
        if pattern in {".env", ".env*", "*.env", "*.env*"} and not line.startswith("!"):
            return True
    return False
