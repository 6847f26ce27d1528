"""`djship init`, planning: the findings turned into the files to write, rendered from the
scaffold's templates (the same compose.yaml, environments/dev and prod as `djship new`,
with the project's layout as template variables) plus djship's settings, URLs and, when
needed, its dependency layer. Nothing here touches the disk."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from importlib.resources import files

import jinja2

from djship.adopt.detect import Decision, Findings, Variable
from djship.adopt.locks import Installation, installation
from djship.adopt.python import python_image
from djship.adopt.tree import Tree, join
from djship.project.envfile import parse_env
from djship.scaffold.render import (
    ENV_EXAMPLE,
    EXECUTABLE_FILES,
    IMAGE_VARIABLES,
    ProjectOptions,
    default_images,
    health_module,
    render_project,
)
from djship.templating import template_environment

TEMPLATES = files("djship.adopt") / "templates"
# The scaffold's files that make the container architecture (the rest is a new project's code).
ARCHITECTURE = {"compose.yaml", ".env", ENV_EXAMPLE, ".dockerignore", ".gitignore"}
BESIDE_ENV = "environments/djship.env"
BESIDE_ENV_EXAMPLE = "environments/djship.env.example"
DOCKERIGNORES = (
    "environments/dev/Dockerfile.dockerignore",
    "environments/prod/Dockerfile.dockerignore",
)
# .env keys djship itself writes: a project variable of the same name needs no line of its own.
DJSHIP_KEYS = {
    "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS", "POSTGRES_DB",
    "POSTGRES_USER", "POSTGRES_PASSWORD", "DJANGO_DEBUG",
}  # fmt: skip
# Passed to web in every environment (dev: .env; prod: environments/prod/compose.yaml).
PASSED_EVERYWHERE = {
    "DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS", "POSTGRES_DB", "POSTGRES_USER",
}  # fmt: skip
# Left out of .env on purpose: POSTGRES_HOST names an external database for `djship export`.
BRIDGED_ONLY = {"POSTGRES_HOST", "POSTGRES_PORT"}
ENV_VALUES = {
    "database_url": "postgres://{name}:{db_password}@db:5432/{name}",
    "db_name": "{name}",
    "db_user": "{name}",
    "db_password": "{db_password}",
    "db_host": "db",
    "db_port": "5432",
    "db_engine": "django.db.backends.postgresql",
    "allowed_hosts": "localhost,127.0.0.1",
}
BRIDGES = {
    "secret_key": 'env_secret("DJANGO_SECRET_KEY")',
    "database_url": "database_url()",
    "db_name": 'os.environ.get("POSTGRES_DB", "{name}")',
    "db_user": 'os.environ.get("POSTGRES_USER", "{name}")',
    "db_password": 'env_secret("POSTGRES_PASSWORD", "")',
    "db_host": 'os.environ.get("POSTGRES_HOST", "db")',
    "db_port": 'os.environ.get("POSTGRES_PORT", "5432")',
    "db_engine": '"django.db.backends.postgresql"',
    "allowed_hosts": 'os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")',
    "csrf_origins": 'os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "")',
}
ENVIRONMENTS_GITIGNORE = """\
# djship's secrets and machine-specific files (your own .gitignore is left as it is).
/*/secrets/
/*/logging.yaml
/prod/tls/
/djship.env
"""
BACKUPS_GITIGNORE = """\
# Database dumps (`djship db backup`): never committed.
*
!.gitignore
"""
DOCKERIGNORE_EXTRA = """
# djship init: this project's own local files, wherever they are.
**/.env
**/*.sqlite3
environments/djship.env
"""


@dataclass(frozen=True)
class Inputs:
    """What the command adds to the findings: names, secrets, ports, the shell's images."""

    name: str  # the Compose project name; "" to derive it from directory_name
    secret_key: str
    db_password: str
    directory_name: str = ""
    uid: int = 1000
    gid: int = 1000
    http_port: int = 8000
    https_port: int = 8443
    base: str = "debian"
    environ: dict[str, str] = field(default_factory=dict)
    append_env: bool = False  # consent to append djship's keys to an existing .env


@dataclass
class Plan:
    root: str  # djship's root, relative to the directory read
    files: dict[str, str]  # relative to `root`; every one of them new
    installation: Installation
    options: ProjectOptions
    executables: set[str] = field(default_factory=set)
    private: set[str] = field(default_factory=set)  # 0600: they hold secrets
    env_append: str = ""  # appended to the existing .env, with consent
    python: tuple[int, int] = (3, 13)  # the version the system packages are decided for
    decisions: list[Decision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _adopt_templates() -> jinja2.Environment:
    return template_environment(TEMPLATES)


def plan(findings: Findings, inputs: Inputs, tree: Tree) -> Plan:
    """The files of the adoption, by path relative to djship's root."""
    if not findings.ready:
        raise ValueError("plan() needs findings without questions or blockers")
    install = installation(findings.dependencies, tree)
    notes: list[str] = []
    name, why = compose_name(findings, inputs)
    inputs = replace(inputs, name=name)
    decisions = [
        Decision("Compose project", name, why),
        Decision("install", install.tool.name, install.reason),
    ]
    if install.added:
        decisions.append(
            Decision(
                "added by djship",
                ", ".join(install.added),
                "your dependencies lack them (uWSGI serves the app; PostgreSQL is the "
                "database); your files are not edited: "
                + (install.tool.manifest if install.tool.manifest.startswith("environments/") else
                   "environments/serving.txt, installed after your lock"),
            )
        )  # fmt: skip
    images = _images(findings, inputs, notes)
    settings_module = findings.settings_module
    prefix = findings.module_prefix
    wsgi = findings.wsgi.uwsgi if findings.wsgi else f"{prefix}djship_wsgi:application"
    variables = findings.variables
    options = ProjectOptions(
        name=inputs.name,
        lock=install.tool,
        secret_key=inputs.secret_key,
        db_password=inputs.db_password,
        uid=inputs.uid,
        gid=inputs.gid,
        http_port=inputs.http_port,
        https_port=inputs.https_port,
        images=images,
        ca_bundle=inputs.environ.get("BUILD_CA_BUNDLE", ""),
        base=inputs.base,
        app_dir=findings.app_dir,
        wsgi=wsgi,
        static_path=findings.static_path,
        media_path=findings.media_path,
        dev_environment=(
            ("DJANGO_SETTINGS_MODULE", settings_module),
            ("DJSHIP_PROJECT_SETTINGS", findings.dev_module),
        ),
        image_environment=(
            ("DJANGO_SETTINGS_MODULE", settings_module),
            ("DJSHIP_PROJECT_SETTINGS", findings.prod_module),
        ),
        prod_variables=tuple(v.name for v in variables if v.role == "other" and v.required),
        extra_env=tuple(env_lines(variables, findings)),
    )
    rendered = render_project(options)
    files_out: dict[str, str] = {}
    for path, text in rendered.items():
        if path.startswith("environments/") or path in ARCHITECTURE:
            files_out[path] = text
    existing = findings.existing
    private = {".env"}
    env_append = ""
    del files_out[".dockerignore"]
    for path in DOCKERIGNORES:
        files_out[path] = rendered[".dockerignore"] + DOCKERIGNORE_EXTRA
    if existing.has_gitignore:
        del files_out[".gitignore"]
    files_out["environments/.gitignore"] = ENVIRONMENTS_GITIGNORE
    if not tree.exists(join(findings.root, "backups")):
        files_out["backups/.gitignore"] = BACKUPS_GITIGNORE
    if existing.has_env_example:
        files_out[BESIDE_ENV_EXAMPLE] = files_out.pop(ENV_EXAMPLE)
        notes.append(f".env.example (yours) is kept; djship's example is {BESIDE_ENV_EXAMPLE}")
    if existing.has_env:
        block, kept = env_block(rendered[".env"], existing.env_keys)
        if "COMPOSE_PROJECT_NAME" in kept and existing.compose_files:
            notes.append(
                f"warning: your .env sets COMPOSE_PROJECT_NAME="
                f"{existing.env_keys['COMPOSE_PROJECT_NAME']}, so djship's stack and "
                f"{existing.compose_files[0]} share that name: `djship up` would remove the "
                "other's containers as orphans. Remove that line, or run one stack at a time"
            )
        del files_out[".env"]
        ours = {key: entry.value for key, entry in parse_env(rendered[".env"]).items()}
        for key in kept:
            if existing.env_keys[key] != ours[key]:
                notes.append(
                    f".env already sets {key}={existing.env_keys[key]} (djship would write "
                    f"{ours[key]!r}): yours is kept"
                    + (
                        "; djship's settings module decides the database from POSTGRES_* anyway"
                        if key in {v.name for v in variables if v.role.startswith("db")}
                        else ""
                    )
                )
        if inputs.append_env:
            env_append = block
            notes.append(
                f".env (yours): {len(parse_env(block))} keys djship needs are appended below "
                "your lines, which are kept as they are"
            )
        else:
            files_out[BESIDE_ENV] = block
            private = {BESIDE_ENV}
            notes.append(
                f"warning: .env is yours, so djship wrote the keys it needs to {BESIDE_ENV}: "
                f"append them to .env (`cat {BESIDE_ENV} >> .env`) before `djship up` "
                "(init --append-env does that itself)"
            )
    else:
        private = {".env"}
    files_out.update(install.files)
    django_dir = join(findings.app_dir, findings.package.replace(".", "/"))
    context = _context(findings, inputs, wsgi)
    templates = _adopt_templates()
    files_out[join(django_dir, "djship_settings.py")] = templates.get_template(
        "djship_settings.py.j2"
    ).render(context)
    files_out[join(django_dir, "djship_urls.py")] = templates.get_template(
        "djship_urls.py.j2"
    ).render(context)
    files_out[join(django_dir, "djship_health.py")] = health_module()  # as `new` writes it
    if findings.wsgi is None:
        files_out[join(django_dir, "djship_wsgi.py")] = templates.get_template(
            "djship_wsgi.py.j2"
        ).render(context)
    if findings.deploy_warnings:
        notes.append(
            "`check --deploy` in production will still warn, because of your own settings: "
            + "; ".join(findings.deploy_warnings)
        )
    else:
        notes.append("`check --deploy` in production: nothing of your settings stands in the way")
    executables = {p for p in EXECUTABLE_FILES if p in files_out}
    return Plan(
        findings.root,
        files_out,
        install,
        options,
        executables,
        private,
        env_append,
        findings.python.version,
        decisions,
        notes,
    )


def compose_name(findings: Findings, inputs: Inputs) -> tuple[str, str]:
    """The Compose project name, and why. A project with a Compose file of its own runs it
    under its directory's name: djship's stack takes another, or `up --remove-orphans`
    would remove the project's own containers."""
    if inputs.name:
        return inputs.name, "--name"
    base = re.sub(r"[^a-z0-9_]+", "_", inputs.directory_name.lower()).strip("_")
    base = re.sub(r"^[^a-z]+", "", base)[:33] or "app"
    if findings.existing.compose_files:
        return (
            f"{base}_djship",
            f"{', '.join(findings.existing.compose_files)} runs as {base!r} (the directory's "
            "name): a second stack under that name would treat its containers as orphans",
        )
    return base, "the directory's name"


def _images(findings: Findings, inputs: Inputs, notes: list[str]) -> dict[str, str]:
    images = default_images(inputs.base) | {
        "python": python_image(findings.python.version, inputs.base)
    }
    for key, variable in IMAGE_VARIABLES.items():
        value = inputs.environ.get(variable)
        if value:
            if key == "python" and value != images["python"]:
                notes.append(
                    f"PYTHON_IMAGE={value} from your shell wins over {images['python']} "
                    f"(Python {findings.python.label})"
                )
            images[key] = value
    return images


def env_lines(variables: list[Variable], findings: Findings) -> list[tuple[str, str, str]]:
    """.env lines for the variables the project's settings read, filled to match the db
    service (values may say {name} and {db_password}; render.py fills them in)."""
    lines: list[tuple[str, str, str]] = []
    database = findings.prod.database if findings.prod else None
    first_database = True
    for variable in variables:
        if variable.name in DJSHIP_KEYS or variable.name in BRIDGED_ONLY:
            continue
        comment = ""
        if variable.role in ENV_VALUES:
            value = ENV_VALUES[variable.role]
            is_database = variable.role.startswith("db") or variable.role == "database_url"
            if is_database and first_database:
                style = database.style if database else variable.name
                comment = (
                    f"Your settings read the database from {style}: the db service's "
                    "values (djship's settings module uses POSTGRES_* above)"
                )
                first_database = False
        elif variable.role == "other" and variable.required:
            value = ""
            comment = f"Required by your settings ({variable.where}): fill it in"
        else:
            continue
        lines.append((variable.name, value, comment))
    return lines


def env_block(rendered_env: str, existing: dict[str, str]) -> tuple[str, list[str]]:
    """djship's .env lines that the existing .env lacks, as a block to append; and the keys
    it already has (kept)."""
    entries = parse_env(rendered_env)
    missing = [entry for key, entry in entries.items() if key not in existing]
    kept = sorted(key for key in entries if key in existing)
    header = (
        "\n# --- Added by `djship init`: what djship's Compose files and settings read "
        "(see environments/djship.env.example or .env.example). ---\n"
    )
    return header + "".join(f"{e.key}={e.value}\n" for e in missing), kept


def _context(findings: Findings, inputs: Inputs, wsgi: str) -> dict:
    bridges = []
    for variable in findings.variables:
        expression = BRIDGES.get(variable.role)
        if expression and variable.name not in PASSED_EVERYWHERE:
            bridges.append((variable.name, expression.format(name=inputs.name), variable.where))
    required = [v.name for v in findings.variables if v.role == "other" and v.required]
    urlconf = (findings.prod.value("ROOT_URLCONF") if findings.prod else None) or "urls"
    return {
        "name": inputs.name,
        "module": findings.settings_module,
        "dev": findings.dev_module,
        "prod": findings.prod_module,
        "media": bool(findings.media_path),
        "static_path": findings.static_path,
        "bridges": bridges,
        "required": required,
        "urlconf": urlconf,
        "urls_module": f"{findings.module_prefix}djship_urls",
        "health_module": f"{findings.module_prefix}djship_health",
        "wsgi": wsgi,
        "why": "it sets DJANGO_SETTINGS_MODULE itself" if findings.wsgi is None else "",
    }
