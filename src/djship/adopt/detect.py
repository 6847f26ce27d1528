"""`djship init`, deciding: everything djship needs to know about an existing project, each
decision with the reason for it, read from the project's files (a Tree) and nothing else.

What cannot be decided is a Question naming the flag that answers it; the command asks on
a terminal and calls `detect` again with the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from djship.adopt.dependencies import (
    Dependencies,
    RequirementsChoice,
    dependency_directory,
    detect_dependencies,
)
from djship.adopt.django import (
    VALID_MODULE,
    ManagePy,
    Wsgi,
    development_sibling,
    find_manage_py,
    find_wsgi,
    is_production_name,
    production_sibling,
    read_manage_py,
    read_wsgi,
    settings_candidates,
    settings_package,
)
from djship.adopt.existing import Existing, survey
from djship.adopt.python import PythonChoice, choose_python, statements
from djship.adopt.settings import (
    CSRF_MIDDLEWARE,
    SECURITY_MIDDLEWARE,
    XFRAME_MIDDLEWARE,
    Settings,
    module_path,
    read_settings,
)
from djship.adopt.tree import Tree, join, parent

# What djship's settings module manages, by the setting a variable feeds.
SETTING_ROLES = {
    "SECRET_KEY": "secret_key",
    "ALLOWED_HOSTS": "allowed_hosts",
    "CSRF_TRUSTED_ORIGINS": "csrf_origins",
    "DEBUG": "debug",
}
PATH_PATTERN = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


@dataclass(frozen=True)
class Choices:
    """Answers given by flags (or on the terminal) to what detection cannot decide."""

    settings: str | None = None
    prod_settings: str | None = None
    wsgi: str | None = None
    python: str | None = None
    requirements: str | None = None
    app_dir: str | None = None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    topic: str
    flag: str  # the option that answers it
    field: str  # the Choices field it fills
    prompt: str
    candidates: tuple[str, ...] = ()  # empty: any value


@dataclass(frozen=True)
class Decision:
    topic: str
    value: str
    reason: str


@dataclass(frozen=True)
class Variable:
    """An environment variable the project's settings read."""

    name: str
    role: str  # what djship gives it: secret_key, database_url, db_host, ..., or other
    required: bool
    where: str


@dataclass
class Findings:
    root: str  # djship's root (where the dependencies are), relative to the directory read
    app_dir: str = ""  # manage.py's directory, relative to `root`
    dependencies: Dependencies | None = None
    python: PythonChoice = PythonChoice(None, "")
    dev_module: str = ""
    prod_module: str = ""
    dev: Settings | None = None
    prod: Settings | None = None
    manage: ManagePy | None = None
    wsgi: Wsgi | None = None
    package: str = ""  # the package djship's modules go into ("" = beside manage.py)
    static_path: str = "static"
    media_path: str = ""
    existing: Existing = field(default_factory=Existing)
    variables: list[Variable] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deploy_warnings: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    def decide(self, topic: str, value: str, reason: str) -> None:
        self.decisions.append(Decision(topic, value, reason))

    @property
    def ready(self) -> bool:
        return not self.questions and not self.blockers

    @property
    def module_prefix(self) -> str:
        return f"{self.package}." if self.package else ""

    @property
    def settings_module(self) -> str:
        return f"{self.module_prefix}djship_settings"


def detect(tree: Tree, choices: Choices = Choices()) -> Findings:
    """Read the project below `tree` and decide; never guesses, asks instead."""
    manage_paths = find_manage_py(tree)
    if choices.app_dir is not None:
        wanted = join(choices.app_dir.strip("/"), "manage.py")
        manage_paths = [p for p in manage_paths if p == wanted]
        if not manage_paths:
            return Findings("", blockers=[f"--app-dir {choices.app_dir}: no manage.py there"])
    if not manage_paths:
        return Findings("", blockers=["no manage.py here: is this a Django project?"])
    shallow = [p for p in manage_paths if p.count("/") == manage_paths[0].count("/")]
    if len(shallow) > 1:
        found = Findings("")
        found.questions.append(
            Question(
                "manage.py",
                "--app-dir",
                "app_dir",
                "Several manage.py: which directory holds the project's?",
                tuple(parent(p) or "." for p in shallow),
            )
        )
        return found
    manage = read_manage_py(tree, manage_paths[0])
    app_path = manage.app_dir  # relative to the directory read
    root = dependency_directory(tree, app_path)
    if root is None:
        return Findings(
            "",
            app_dir=app_path,
            blockers=[
                f"no dependency files in {app_path or '.'} or above (requirements*.txt, "
                "Pipfile, pyproject.toml, setup.py or setup.cfg)"
            ],
        )
    found = Findings(root, app_dir=app_path[len(root) :].lstrip("/") if root else app_path)
    found.manage = manage
    where = f"{root}/" if root else "this directory"
    found.decide(
        "layout",
        f"djship's files in {where}"
        + (f", manage.py in {found.app_dir}/" if found.app_dir else ""),
        "where the dependency files are"
        + (f"; {manage.path} is below it" if found.app_dir else ", beside manage.py"),
    )
    _dependencies(tree, found, choices)
    _settings(tree, found, manage, app_path, choices)
    if found.prod is not None and found.dev is not None:
        _wsgi(tree, found, app_path, choices)
        _static(found)
        _variables(found)
        _deploy_check(found)
        _settings_notes(tree, found)
    _python(tree, found, app_path, choices)
    found.existing = survey(tree, root, app_path)
    found.blockers += found.existing.blockers
    found.notes += found.existing.notes
    if found.package is not None and found.prod is not None:
        for name in ("djship_settings.py", "djship_urls.py", "djship_health.py"):
            path = join(join(app_path, found.package.replace(".", "/")), name)
            if tree.exists(path):
                found.blockers.append(f"{path} exists: was this project adopted already?")
    return found


def _dependencies(tree: Tree, found: Findings, choices: Choices) -> None:
    result = detect_dependencies(tree, found.root, choices.requirements, choices.extras)
    if isinstance(result, RequirementsChoice):
        found.questions.append(
            Question(
                "requirements",
                "--requirements",
                "requirements",
                f"Which requirements file does production install? ({result.reason})",
                result.candidates,
            )
        )
        return
    found.dependencies = result
    names = {
        "uv": "uv",
        "poetry": "Poetry",
        "pipenv": "Pipenv",
        "pep621": "PEP 621 (pyproject.toml)",
        "requirements": "requirements files",
        "setup": "setup.py/setup.cfg",
    }
    found.decide("dependencies", names[result.format], result.reason)
    if result.alternatives:
        found.notes.append(
            f"also found: {', '.join(result.alternatives)} (not used: {names[result.format]} wins)"
        )
    found.notes += result.notes
    if result.servers:
        found.notes.append(
            f"{', '.join(sorted(result.servers))} is among your dependencies: djship serves the "
            "app with uWSGI; it stays installed, unused"
        )


def _settings(
    tree: Tree, found: Findings, manage: ManagePy, app_path: str, choices: Choices
) -> None:
    manage_text = tree.text(manage.path) or ""
    if "configurations" in manage_text and "DJANGO_CONFIGURATION" in manage_text:
        found.blockers.append(
            "django-configurations (class-based settings) is not supported by djship init yet"
        )
        return
    dev = choices.settings
    dev_reason = "--settings"
    if (
        dev is None
        and manage.default_settings
        and module_path(tree, app_path, manage.default_settings)
    ):
        dev = manage.default_settings
        dev_reason = f"manage.py's default: {manage.reason}"
        if is_production_name(dev):
            sibling = development_sibling(tree, app_path, dev)
            if sibling:
                dev, dev_reason = sibling, f"beside manage.py's default ({manage.default_settings})"
    if dev is None:
        candidates = settings_candidates(tree, app_path)
        if len(candidates) == 1:
            dev = candidates[0]
            dev_reason = f"the only settings module ({manage.reason})"
        else:
            found.questions.append(
                Question(
                    "settings",
                    "--settings",
                    "settings",
                    "Which settings module does development use?"
                    + ("" if candidates else " (none found: type its dotted name)"),
                    tuple(candidates),
                )
            )
            return
    if not VALID_MODULE.fullmatch(dev) or module_path(tree, app_path, dev) is None:
        found.blockers.append(f"settings module {dev!r} not found below {app_path or '.'}")
        return
    prod = choices.prod_settings
    prod_reason = "--prod-settings"
    if prod is None:
        siblings, how = production_sibling(tree, app_path, dev)
        if len(siblings) == 1:
            prod, prod_reason = siblings[0], f"named for production, {how}"
        elif len(siblings) > 1:
            found.questions.append(
                Question(
                    "production settings",
                    "--prod-settings",
                    "prod_settings",
                    "Several settings modules are named for production: which one?",
                    tuple(siblings),
                )
            )
            return
        else:
            prod, prod_reason = dev, "the same module (none is named for production)"
    if not VALID_MODULE.fullmatch(prod) or module_path(tree, app_path, prod) is None:
        found.blockers.append(f"settings module {prod!r} not found below {app_path or '.'}")
        return
    found.dev_module, found.prod_module = dev, prod
    found.decide("settings (dev)", dev, dev_reason)
    found.decide("settings (prod)", prod, prod_reason)
    found.dev = read_settings(tree, app_path, dev)
    found.prod = read_settings(tree, app_path, prod)
    for settings in (found.dev, found.prod):
        for missing in settings.missing:
            found.notes.append(f"{settings.module} star-imports {missing}, which is not found")
    prod_path = module_path(tree, app_path, prod)
    found.package = settings_package(prod, bool(prod_path and prod_path[1]))
    found.decide(
        "djship's settings",
        found.settings_module,
        f"imports {dev} in dev and {prod} in prod, then sets what the containers decide "
        "(DJANGO_SETTINGS_MODULE in the Compose files and the production image)",
    )


def _wsgi(tree: Tree, found: Findings, app_path: str, choices: Choices) -> None:
    if choices.wsgi:
        module, _, attribute = choices.wsgi.partition(":")
        path = module_path(tree, app_path, module)
        if not VALID_MODULE.fullmatch(module) or path is None:
            found.blockers.append(f"--wsgi {choices.wsgi}: no such module below {app_path or '.'}")
            return
        found.wsgi = read_wsgi(tree, path[0], module, attribute or None)
        found.wsgi = replace(found.wsgi, reason="--wsgi")
    else:
        setting = found.prod.value("WSGI_APPLICATION") or found.dev.value("WSGI_APPLICATION")
        candidates, how = find_wsgi(
            tree, app_path, setting if isinstance(setting, str) else None, found.prod_module
        )
        if len(candidates) == 1:
            found.wsgi = candidates[0]
            found.wsgi = replace(found.wsgi, reason=f"{how}: {candidates[0].reason}")
        elif not candidates:
            found.notes.append("no wsgi.py found: djship writes one beside its settings module")
        else:
            found.questions.append(
                Question(
                    "wsgi",
                    "--wsgi",
                    "wsgi",
                    "Several WSGI modules: which one serves the site?",
                    tuple(c.uwsgi for c in candidates),
                )
            )
            return
    if found.wsgi and found.wsgi.forces_settings:
        found.notes.append(
            f"{found.wsgi.path} sets DJANGO_SETTINGS_MODULE itself (os.environ[...] = ...), "
            "which would ignore djship's: uWSGI loads djship's own WSGI module instead"
        )
        found.wsgi = None
    if found.wsgi:
        found.decide("WSGI application", found.wsgi.uwsgi, found.wsgi.reason)
    else:
        found.decide(
            "WSGI application",
            f"{found.module_prefix}djship_wsgi:application",
            "djship's (get_wsgi_application), since yours cannot be used",
        )


def _static(found: Findings) -> None:
    static_url = found.prod.string_or_default("STATIC_URL") or found.dev.string_or_default(
        "STATIC_URL"
    )
    path = url_path(static_url)
    if path:
        found.static_path = path
        found.decide(
            "static files",
            f"/{path}/ served by uWSGI from /app/public/{path}",
            f"STATIC_URL = {static_url!r}; collectstatic runs in the production image build",
        )
    else:
        reason = (
            f"STATIC_URL = {static_url!r} is not a local path"
            if static_url
            else "STATIC_URL is not a literal"
        )
        found.decide("static files", "/static/ served by uWSGI from /app/public/static", reason)
        if static_url or found.prod.defines("STATIC_URL"):
            found.notes.append(
                f"{reason}: uWSGI serves /static/; set static-map in "
                "environments/prod/uwsgi.ini if your files live elsewhere"
            )
    media_url = found.prod.string_or_default("MEDIA_URL") or found.dev.string_or_default(
        "MEDIA_URL"
    )
    media = url_path(media_url)
    if media and (found.prod.defines("MEDIA_ROOT") or found.dev.defines("MEDIA_ROOT")):
        found.media_path = media
        found.decide(
            "uploaded files",
            f"/{media}/ from the `media` volume (/srv/media) in prod",
            f"MEDIA_URL = {media_url!r} and MEDIA_ROOT are set; the production root "
            "filesystem is read-only, so uploads need a volume",
        )
    elif found.prod.defines("MEDIA_ROOT"):
        found.notes.append(
            "MEDIA_ROOT is set without a local MEDIA_URL: uploads are not given a volume"
        )
    for settings in (found.prod,):
        for name in ("STORAGES", "STATICFILES_STORAGE", "DEFAULT_FILE_STORAGE"):
            assignment = settings.last(name)
            if assignment and "storages.backends" in assignment.describe():
                found.notes.append(
                    f"{name} in {assignment.file} uses django-storages: collectstatic in the "
                    "image build needs its credentials (add them to environments/prod/Dockerfile)"
                )


def url_path(url: str | None) -> str | None:
    """The local path of a STATIC_URL/MEDIA_URL ("/static/" -> "static"), or None."""
    if not url or "://" in url or url.startswith("//"):
        return None
    path = url.strip("/")
    return path if PATH_PATTERN.fullmatch(path) else None


def _variables(found: Findings) -> None:
    """Each variable the settings read, with the role djship gives it."""
    roles: dict[str, str] = {}
    for settings in (found.dev, found.prod):
        for setting, role in SETTING_ROLES.items():
            for read in settings.reads_of(setting):
                roles.setdefault(read.name, role)
        database = settings.database
        for role, variable in database.variables.items():
            roles.setdefault(variable, role)
    merged: dict[str, Variable] = {}
    for settings in (found.dev, found.prod):
        for located in settings.reads:
            read = located.read
            role = roles.get(read.name, "database_url" if read.database_url else "other")
            previous = merged.get(read.name)
            if previous is None:
                merged[read.name] = Variable(read.name, role, read.required, located.where)
            elif read.required and not previous.required:
                merged[read.name] = Variable(read.name, role, True, located.where)
    found.variables = sorted(merged.values(), key=lambda v: v.name)
    database = found.prod.database
    dev_database = found.dev.database
    style = database.style
    if dev_database.style != style:
        style = f"{style} in prod, {dev_database.style} in dev"
    found.decide(
        "database",
        "PostgreSQL (the db service): djship's settings set DATABASES['default']",
        f"your settings read {style} ({database.where or 'DATABASES'})"
        + ("; .env gets those variables, filled to match" if database.variables else ""),
    )
    for settings in (found.prod,):
        assignment = settings.last("DATABASES")
        node = assignment.value if assignment else None
        if isinstance(node, dict) and set(node) - {"default"}:
            found.notes.append(
                f"DATABASES has other aliases ({', '.join(sorted(set(node) - {'default'}))}): "
                "djship leaves them as they are"
            )
    other_required = [v for v in found.variables if v.role == "other" and v.required]
    for variable in other_required:
        found.notes.append(
            f"{variable.name} is required by your settings ({variable.where}) and djship does "
            "not know its value: .env gets an empty line for it (fill it in); production "
            "passes it from .env"
        )


def _deploy_check(found: Findings) -> None:
    """Which of Django's deployment checks the production settings will still fail, and why:
    djship's settings fix what comes from the environment, not the project's own choices."""
    prod = found.prod
    middleware = prod.middleware
    if prod.defines("MIDDLEWARE") or prod.defines("MIDDLEWARE_CLASSES"):
        if SECURITY_MIDDLEWARE not in middleware:
            found.deploy_warnings.append(
                "security.W001: MIDDLEWARE lacks SecurityMiddleware (HSTS, SSL redirect and "
                "nosniff are then not applied)"
            )
        if CSRF_MIDDLEWARE not in middleware:
            found.deploy_warnings.append("security.W003: MIDDLEWARE lacks CsrfViewMiddleware")
        if XFRAME_MIDDLEWARE in middleware and prod.value("X_FRAME_OPTIONS") not in (None, "DENY"):
            found.deploy_warnings.append(
                f"security.W019: X_FRAME_OPTIONS = {prod.value('X_FRAME_OPTIONS')!r}, not 'DENY'"
            )
    checks = {
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": ("security.W005", False),
        "SECURE_HSTS_PRELOAD": ("security.W021", False),
        "SESSION_COOKIE_HTTPONLY": ("security.W013", False),
        "SECURE_CONTENT_TYPE_NOSNIFF": ("security.W006", False),
        "SECURE_REFERRER_POLICY": ("security.W022", None),
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": ("security.W024", None),
    }
    for name, (check, bad) in checks.items():
        assignment = prod.last(name)
        if assignment is not None and assignment.value is bad and not assignment.reads:
            found.deploy_warnings.append(f"{check}: {name} = {bad!r} in {assignment.file}")


def _settings_notes(tree: Tree, found: Findings) -> None:
    for path in dict.fromkeys(found.dev.files + found.prod.files):
        text = tree.text(path) or ""
        if "load_dotenv(" in text or "read_env(" in text:
            found.notes.append(
                f"{path} loads a .env file itself: in development that is djship's .env (the "
                "same values the container already has); the production image has none"
            )
    for settings in (found.dev, found.prod):
        secret = settings.last("SECRET_KEY")
        if secret and isinstance(secret.value, str):
            found.notes.append(
                f"SECRET_KEY is written in {secret.file}: djship's settings use DJANGO_SECRET_KEY "
                "(.env; a secret file in production) instead. Rotate the written one"
            )
            break
    for settings in (found.prod,):
        debug = settings.last("DEBUG")
        if debug and debug.value is True:
            found.notes.append(
                f"DEBUG = True in {debug.file}: djship's settings set DEBUG from DJANGO_DEBUG "
                "(1 in dev, off in prod)"
            )


def _python(tree: Tree, found: Findings, app_path: str, choices: Choices) -> None:
    directories = [found.root] + ([app_path] if app_path != found.root else [])
    if found.root:
        directories.append("")
    django = found.dependencies.django if found.dependencies else None
    found.python = choose_python(statements(tree, directories), django, choices.python)
    if found.python.version is None:
        if choices.python:
            found.blockers.append(found.python.reason)
            return
        found.questions.append(
            Question(
                "python",
                "--python",
                "python",
                f"Which Python version does the project run on? ({found.python.reason})",
            )
        )
        return
    found.decide("Python", found.python.label, found.python.reason)
    for conflict in found.python.conflicts:
        found.notes.append(f"Python {found.python.label}: but {conflict}")
