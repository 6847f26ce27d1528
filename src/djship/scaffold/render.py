"""`djship new`: what a new project's files say (deciding) and writing them (doing).

`render_project` returns every file as text, so the whole output is unit-tested without a
disk or Docker; `write_project` writes it all or nothing.
"""

from __future__ import annotations

import keyword
import os
import re
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path, PurePosixPath

import jinja2

from djship.dependencies.dockerfile import SystemPackages
from djship.dependencies.lockfiles import parse_uv_lock
from djship.dependencies.platforms import TARGETS
from djship.dependencies.sysdeps import analyse, load_knowledge
from djship.errors import DjshipError
from djship.project.locking import TOOLS, LockTool
from djship.templating import template_environment

TEMPLATE_ROOT = files("djship.scaffold") / "templates" / "project"


PROJECT_PACKAGE_PLACEHOLDER = "__project__"
TEMPLATE_SUFFIX = ".j2"
ENV_EXAMPLE = ".env.example"
EXECUTABLE_FILES = {
    "manage.py",
    "environments/with-ca-bundle.sh",
    "environments/prod/start-uwsgi.sh",
}

PYTHON_IMAGES = {"debian": "python:3.13-slim", "alpine": "python:3.13-alpine"}
DEFAULT_IMAGES = {
    "python": PYTHON_IMAGES["debian"],
    "postgres": "postgres:17-alpine",
    "nginx": "nginx:1.28-alpine",
}
IMAGE_VARIABLES = {"python": "PYTHON_IMAGE", "postgres": "POSTGRES_IMAGE", "nginx": "NGINX_IMAGE"}

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Names that would shadow a module the project imports, or a directory it already has.
RESERVED_NAMES = {"django", "welcome", "environments", "test", "tests", "site", "static"}
# What the image imports besides Django: its server and driver, its installers.
IMAGE_PACKAGES = {"uwsgi", "pyuwsgi", "uwsgidecorators", "psycopg", "psycopg2", "pip",
                  "setuptools", "pkg_resources", "wheel"}  # fmt: skip


def health_module() -> str:
    """The project's health middleware and /healthz view (__project__/health.py): `init`
    writes the same module into the projects it adopts."""
    return (TEMPLATE_ROOT / "__project__" / "health.py").read_text("utf-8")


@dataclass(frozen=True)
class ProjectOptions:
    """Everything that makes one generated project differ from another."""

    name: str
    lock: LockTool
    secret_key: str
    db_password: str
    uid: int = 1000
    gid: int = 1000
    http_port: int = 8000
    https_port: int = 8443
    environment: str = "dev"
    images: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_IMAGES))
    ca_bundle: str = ""
    base: str = "debian"
    packages: SystemPackages = SystemPackages()
    # An existing project's layout (`djship init`); the defaults are what `djship new` makes.
    app_dir: str = ""  # the directory holding manage.py, relative to the root ("": the root)
    wsgi: str = ""  # uWSGI's `module` (default: NAME.wsgi:application)
    static_path: str = "static"  # STATIC_URL's path: where uWSGI serves the collected files
    media_path: str = ""  # MEDIA_URL's path when uploads live in a production volume
    dev_environment: tuple[tuple[str, str], ...] = ()  # more variables of web in dev
    image_environment: tuple[tuple[str, str], ...] = ()  # more ENV of the production image
    prod_variables: tuple[str, ...] = ()  # more .env names passed to web in production
    # More .env lines: (key, value, comment); a value may say {name} and {db_password}.
    extra_env: tuple[tuple[str, str, str], ...] = ()


def validate_name(name: str) -> None:
    """A project name is a Python package name and a Compose project name at once."""
    if not NAME_PATTERN.fullmatch(name):
        raise DjshipError(
            f"invalid project name {name!r}",
            hint="Use lowercase letters, digits and underscores, starting with a letter "
            "(it names the Django package and the Compose project).",
        )
    if keyword.iskeyword(name):
        raise DjshipError(f"invalid project name {name!r}: it is a Python keyword")
    if name in sys.stdlib_module_names or name in IMAGE_PACKAGES:
        raise DjshipError(
            f"invalid project name {name!r}: the project's package would hide the `{name}` "
            "module it needs (the project directory comes first on the import path)"
        )
    if name in RESERVED_NAMES:
        raise DjshipError(f"invalid project name {name!r}: it would shadow a module or folder")


def new_secret(length: int = 50) -> str:
    """A random secret safe in .env: URL-safe characters only, so no quote, `$` or `#`."""
    return secrets.token_urlsafe(length)


def default_images(base: str = "debian") -> dict[str, str]:
    return DEFAULT_IMAGES | {"python": PYTHON_IMAGES[base]}


def images_from_environment(environ: dict[str, str], base: str = "debian") -> dict[str, str]:
    """Default base images, where PYTHON_IMAGE and friends set in the shell win (mirrors)."""
    defaults = default_images(base)
    return {
        key: environ.get(variable) or defaults[key] for key, variable in IMAGE_VARIABLES.items()
    }


def template_packages(base: str) -> SystemPackages:
    """System packages the template's own dependencies need on `base`.

    Decided from the template's uv.lock, which lists every wheel (no network needed); the
    Pipfile.lock and requirements.txt templates pin the same set of distributions.
    """
    lock = _environment().get_template("uv.lock.j2").render(name="template")
    report = analyse(parse_uv_lock(lock), TARGETS[base], load_knowledge(), lambda d: d.files)
    return SystemPackages(tuple(report.build_packages), tuple(report.runtime_packages))


UWSGI_OPTION = re.compile(r"^([a-z0-9-]+)\s*=", re.MULTILINE)


def uwsgi_option_names() -> frozenset[str]:
    """Every option djship's uwsgi.ini files set (dev and prod), read from their templates:
    `djship init` names the options of a project's own ini that these files lack."""
    return frozenset(
        name
        for env in ("dev", "prod")
        for name in UWSGI_OPTION.findall(
            (TEMPLATE_ROOT / "environments" / env / "uwsgi.ini.j2").read_text()
        )
    )


def _environment() -> jinja2.Environment:
    return template_environment(TEMPLATE_ROOT)


def _template_paths() -> list[PurePosixPath]:
    """Every file of the template tree, relative to its root."""
    found: list[PurePosixPath] = []

    def walk(node, prefix: PurePosixPath) -> None:
        for child in node.iterdir():
            path = prefix / child.name
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, path)
            else:
                found.append(path)

    walk(TEMPLATE_ROOT, PurePosixPath())
    return sorted(found)


def _output_path(template: PurePosixPath, options: ProjectOptions) -> str:
    parts = [options.name if p == PROJECT_PACKAGE_PLACEHOLDER else p for p in template.parts]
    path = "/".join(parts)
    return path[: -len(TEMPLATE_SUFFIX)] if path.endswith(TEMPLATE_SUFFIX) else path


def _belongs(output: str, options: ProjectOptions) -> bool:
    """Files of the other lock tools are left out (a uv project has no Pipfile)."""
    others = {f for tool in TOOLS.values() if tool is not options.lock for f in tool.files}
    return output not in others or output in options.lock.files


def render_project(options: ProjectOptions) -> dict[str, str]:
    """Every file of the new project, by relative path: `.env` included, filled with secrets."""
    env = _environment()
    context = {
        "name": options.name,
        "lock": options.lock,
        "secret_key": options.secret_key,
        "db_password": options.db_password,
        "uid": options.uid,
        "gid": options.gid,
        "http_port": options.http_port,
        "https_port": options.https_port,
        "environment": options.environment,
        "images": options.images,
        "ca_bundle": options.ca_bundle,
        "base": options.base,
        "packages": options.packages,
        "app_dir": options.app_dir,
        "app_root": f"/app/{options.app_dir}" if options.app_dir else "/app",
        "wsgi": options.wsgi or f"{options.name}.wsgi:application",
        "static_path": options.static_path,
        "media_path": options.media_path,
        "dev_environment": options.dev_environment,
        "image_environment": options.image_environment,
        "prod_variables": options.prod_variables,
        "extra_env": _env_lines(options, options.db_password),
    }
    rendered: dict[str, str] = {}
    for template in _template_paths():
        output = _output_path(template, options)
        if output == ENV_EXAMPLE or not _belongs(output, options):
            continue
        if template.suffix == TEMPLATE_SUFFIX:
            rendered[output] = env.get_template(str(template)).render(context)
        else:
            rendered[output] = (TEMPLATE_ROOT / str(template)).read_text("utf-8")
    example_context = context | {
        "secret_key": "change-me-to-50-random-characters",
        "db_password": "change-me",
        "ca_bundle": "",
        "uid": 1000,
        "gid": 1000,
        "images": default_images(options.base),
        "extra_env": _env_lines(options, "change-me"),
    }
    # One template, two files: the committed example and the real, git-ignored .env.
    template = env.get_template(ENV_EXAMPLE + TEMPLATE_SUFFIX)
    rendered[ENV_EXAMPLE] = template.render(example_context)
    rendered[".env"] = template.render(context)
    return rendered


def _env_lines(options: ProjectOptions, db_password: str) -> list[tuple[str, str, str]]:
    """The extra .env lines with their values filled in (the example gets no real password)."""
    return [
        (key, value.format(name=options.name, db_password=db_password), comment)
        for key, value, comment in options.extra_env
    ]


def check_target(target: Path) -> None:
    """The target directory must not exist, or be empty: nothing of the user's is overwritten."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise DjshipError(
            f"{target} already exists and is not empty",
            hint="Choose another name or --directory, or empty that directory.",
        )


def write_project(target: Path, rendered: dict[str, str]) -> None:
    """Write every file, or none: the project is assembled aside, then moved into place."""
    check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for relative, content in rendered.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            if relative in EXECUTABLE_FILES:
                path.chmod(0o755)
        (staging / ".env").chmod(0o600)
        staging.chmod(0o755)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
