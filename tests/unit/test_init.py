"""`djship init` on small fixture projects shaped like real ones (tests/data/projects/):
what detection finds and why, the files the plan renders, and the all-or-nothing writing.
No Docker: locking is tested where it fails (a stand-in `docker`), the real lock in e2e."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from djship.adopt.dependencies import (
    choose_requirements,
    django_series,
    poetry_specifier,
    read_requirements,
    setup_requirements,
)
from djship.adopt.detect import Choices, detect
from djship.adopt.locks import locked_distributions, serving_block, system_packages
from djship.adopt.plan import BESIDE_ENV, Inputs, plan
from djship.adopt.pyast import env_reads, names_of
from djship.adopt.python import choose_python, statements
from djship.adopt.settings import read_settings
from djship.adopt.tree import Tree
from djship.adopt.write import adopt, write_plan
from djship.console import Output
from djship.dependencies.lockfiles import Pinned, parse_requirements
from djship.errors import DjshipError
from djship.project.envfile import parse_env

PROJECTS = Path(__file__).resolve().parents[1] / "data" / "projects"
SHAPES = sorted(p.name for p in PROJECTS.iterdir() if p.is_dir())
SECRET = "s" * 30 + "abcdefghijklmnopqrstuvwxyz0123456789"
FLAGS = {"docker_sample": Choices(python="3.12")}  # no file states its Python version


def findings_of(shape: str, choices: Choices | None = None):
    tree = Tree.from_dir(PROJECTS / shape)
    return tree, detect(tree, choices or FLAGS.get(shape, Choices()))


def plan_of(shape: str, **inputs):
    tree, found = findings_of(shape)
    assert found.ready, (found.questions, found.blockers)
    values = dict(name="shop", secret_key=SECRET, db_password="dbpass123", uid=1234, gid=2345)
    return found, plan(found, Inputs(**(values | inputs)), tree)


def decision(found, topic: str) -> str:
    return next(d.value for d in found.decisions if d.topic == topic)


def reason(found, topic: str) -> str:
    return next(d.reason for d in found.decisions if d.topic == topic)


def env_of(text: str) -> dict[str, str]:
    return {key: entry.value for key, entry in parse_env(text).items()}


def test_there_are_at_least_eight_shapes():
    assert len(SHAPES) >= 8


# --- detection: one shape at a time -----------------------------------------------------


def test_split_requirements_settings_package_and_database_url():
    _, found = findings_of("split_requirements")
    assert decision(found, "dependencies") == "requirements files"
    assert "requirements/production.txt (with requirements/base.txt)" in reason(
        found, "dependencies"
    )
    assert found.dependencies.sources == ["requirements/production.txt"]
    assert found.dev_module == "config.settings.local"
    assert found.prod_module == "config.settings.production"
    assert "manage.py's default" in reason(found, "settings (dev)")
    assert "named for production" in reason(found, "settings (prod)")
    assert found.settings_module == "config.djship_settings"
    assert found.wsgi.uwsgi == "config.wsgi:application"
    assert found.prod.database.kind == "url" and found.prod.database.style == "DATABASE_URL"
    roles = {v.name: v.role for v in found.variables}
    assert roles["DATABASE_URL"] == "database_url"
    assert roles["DJANGO_SECRET_KEY"] == "secret_key"
    assert roles["DJANGO_ADMIN_URL"] == "other"
    assert next(v for v in found.variables if v.name == "DJANGO_ADMIN_URL").required
    assert found.media_path == "media" and found.static_path == "static"
    assert found.python.version == (3, 13)
    assert found.deploy_warnings == []
    assert any("gunicorn" in note for note in found.notes)


def test_poetry_without_package_mode_and_a_literal_sqlite_database():
    _, found = findings_of("poetry_app")
    assert found.dependencies.format == "poetry"
    assert "package-mode = false" in found.dependencies.reason
    assert not found.dependencies.package_mode
    assert found.dependencies.django.startswith("5.2")
    assert found.dev_module == found.prod_module == "notes.settings"
    assert found.prod.database.kind == "literal"
    assert found.prod.database.style == "a literal sqlite3 database"
    assert found.static_path == "assets" and found.media_path == ""
    assert found.python.version == (3, 13) and "^3.12" in found.python.reason
    assert any("SECRET_KEY is written" in note for note in found.notes)
    assert any("DEBUG = True" in note for note in found.notes)


def test_project_in_a_subfolder_with_its_own_docker_files():
    _, found = findings_of("subfolder_uv")
    assert found.root == "" and found.app_dir == "src"
    assert found.dependencies.format == "uv" and found.dependencies.lock_file == "uv.lock"
    assert found.dependencies.has_postgres_driver and not found.dependencies.has_uwsgi
    assert found.wsgi.uwsgi == "archive.wsgi:application"
    database = found.prod.database
    assert database.kind == "fields"
    assert database.variables["db_host"] == "ARCHIVE_DBHOST"
    assert database.style == "ARCHIVE_DB*"
    notes = "\n".join(found.notes)
    assert "Dockerfile (yours) is left as it is" in notes
    assert "docker-compose.yml (yours)" in notes and "postgres:16" in notes
    assert ".dockerignore (yours)" in notes
    assert found.existing.has_env and found.existing.env_keys["ARCHIVE_DBHOST"] == "localhost"
    assert found.deploy_warnings == ["security.W019: X_FRAME_OPTIONS = 'SAMEORIGIN', not 'DENY'"]


def test_docker_quickstart_with_no_python_version_asks_for_one():
    _, found = findings_of("docker_sample", Choices())
    assert [q.flag for q in found.questions] == ["--python"]
    assert "no file states the Python version" in found.questions[0].prompt
    _, answered = findings_of("docker_sample", Choices(python="3.13"))
    assert answered.ready and answered.python.version == (3, 13)
    # Django <5.0 is 4.2, which supports Python up to 3.12: said, not hidden.
    assert any("Django <5.0,>=4.2 supports Python up to 3.12" in n for n in answered.notes)
    assert answered.prod.database.style == "POSTGRES_*"
    assert {v.name for v in answered.variables} == {
        "POSTGRES_NAME",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
    }


def test_pipenv_with_db_variables_and_a_required_secret_key():
    _, found = findings_of("pipenv_db")
    assert found.dependencies.format == "pipenv" and found.dependencies.lock_file
    assert found.dependencies.django == "4.2.30"
    assert found.python.version == (3, 11) and "Pipfile" in found.python.reason
    assert found.prod.database.style == "DB_*"
    secret = next(v for v in found.variables if v.name == "SECRET_KEY")
    assert secret.role == "secret_key" and secret.required
    assert any("loads a .env file itself" in note for note in found.notes)


def test_pipfile_without_its_lock_gets_one_made():
    tree = Tree.from_dir(PROJECTS / "pipenv_db")
    tree.files.pop("Pipfile.lock")
    found = detect(tree)
    assert found.dependencies.lock_file is None
    result = plan(found, Inputs("recipes", SECRET, "pw"), tree)
    assert result.installation.lock_needed
    assert result.installation.tool.lock_argv == ("pipenv", "lock")


def test_pep621_without_a_lock_and_a_wsgi_that_forces_its_settings():
    tree, found = findings_of("pep621_nolock")
    assert found.dependencies.format == "pep621"
    assert found.wsgi is None
    assert decision(found, "WSGI application") == "kiosk.djship_wsgi:application"
    roles = {v.name: v.role for v in found.variables}
    assert roles["POSTGRES_HOST"] == "db_host" and roles["DJANGO_SECRET_KEY"] == "secret_key"
    assert roles["SENTRY_DSN"] == "other"
    assert found.python.version == (3, 13)
    result = plan(found, Inputs("kiosk", SECRET, "pw"), tree)
    assert result.installation.lock_needed and result.installation.tool.lock_argv == ("uv", "lock")
    assert "kiosk/djship_wsgi.py" in result.files


def test_setup_py_with_extras_and_an_old_middleware_list():
    _, found = findings_of("setup_extras")
    assert found.dependencies.format == "setup"
    assert found.dependencies.extras == ["postgres"]
    assert found.dependencies.has_postgres_driver and not found.dependencies.has_uwsgi
    assert any("extras left out: docs" in note for note in found.notes)
    assert found.python.version == (3, 10) and "runtime.txt" in found.python.reason
    assert found.prod.database.kind == "url"
    assert found.deploy_warnings and found.deploy_warnings[0].startswith("security.W001")
    notes = "\n".join(found.notes)
    assert "uwsgi.ini (yours) is not used" in notes
    assert "options of yours djship's files lack: threads\n" in notes + "\n"  # stats: djship has
    assert "Procfile" in notes


def test_monorepo_puts_djship_beside_the_backend():
    _, found = findings_of("monorepo_backend")
    assert found.root == "backend" and found.app_dir == ""
    assert found.dev_module == "api.settings.dev" and found.prod_module == "api.settings.prod"
    assert found.python.version == (3, 12) and ".tool-versions" in found.python.reason
    assert found.dependencies.sources == ["backend/requirements.txt"]
    assert found.dependencies.has_uwsgi and found.dependencies.has_postgres_driver
    assert found.prod.database.style == "DB_*"
    assert any("W005" in warning for warning in found.deploy_warnings)


# --- what cannot be decided is asked, and blockers stop everything ------------------------


def test_two_production_modules_are_a_question():
    tree = Tree.from_dir(PROJECTS / "monorepo_backend")
    tree.files["backend/api/settings/production.py"] = "from .base import *\n"
    found = detect(tree)
    assert [q.flag for q in found.questions] == ["--prod-settings"]
    assert set(found.questions[0].candidates) == {"api.settings.prod", "api.settings.production"}
    answered = detect(tree, Choices(prod_settings="api.settings.production"))
    assert answered.prod_module == "api.settings.production"


def test_no_manage_py_default_and_two_settings_modules_is_a_question():
    tree = Tree.from_dict(
        {
            "manage.py": "import sys\n",
            "requirements.txt": "django\n",
            "one/settings.py": "DEBUG = True\n",
            "two/settings.py": "DEBUG = False\n",
        }
    )
    found = detect(tree, Choices(python="3.13"))
    assert [q.flag for q in found.questions] == ["--settings"]
    assert set(found.questions[0].candidates) == {"one.settings", "two.settings"}


def test_an_existing_compose_yaml_blocks_and_nothing_is_planned():
    tree = Tree.from_dir(PROJECTS / "poetry_app")
    tree.files["compose.yaml"] = "services: {}\n"
    found = detect(tree)
    assert not found.ready and "compose.yaml exists" in found.blockers[0]


def test_an_unreadable_env_blocks_with_the_line():
    tree = Tree.from_dir(PROJECTS / "poetry_app")
    tree.files[".env"] = 'SECRET="quoted"\n'
    found = detect(tree)
    assert any(".env, line 1" in b and "doctor --fix" in b for b in found.blockers)


# --- reading source without running it ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('import os\nX = os.environ["A"]', [("A", True)]),
        ('import os\nX = os.environ.get("A", "d")', [("A", False)]),
        ('from os import getenv\nX = getenv("A")', [("A", False)]),
        ('import environ\nenv = environ.Env()\nX = env("A")', [("A", True)]),
        ('import environ\nenv = environ.Env(A=(bool, False))\nX = env("A")', [("A", False)]),
        ("import environ\nenv = environ.Env()\nX = env.db()", [("DATABASE_URL", True)]),
        ('import environ\nenv = environ.Env()\nX = env.int("A", default=3)', [("A", False)]),
        ('from decouple import config\nX = config("A", cast=int)', [("A", True)]),
        ('from decouple import config\nX = config("A", default="")', [("A", False)]),
        ("import dj_database_url\nX = dj_database_url.config()", [("DATABASE_URL", False)]),
    ],
)
def test_environment_reads_are_recognised(source, expected):
    import ast

    syntax = ast.parse(source)
    found = [(r.name, r.required) for r in env_reads(syntax, names_of(syntax))]
    assert found == expected


def test_settings_follow_star_imports_and_subscript_assignments():
    tree = Tree.from_dict(
        {
            "conf/__init__.py": "",
            "conf/base.py": 'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}\n'
            'STATIC_URL = "/s/"\n',
            "conf/prod.py": "import os\nfrom .base import *\n"
            'DATABASES["default"] = {"ENGINE": "x", "HOST": os.environ["PGHOST"]}\n',
        }
    )
    settings = read_settings(tree, "", "conf.prod")
    assert settings.files == ["conf/base.py", "conf/prod.py"]
    assert settings.string_or_default("STATIC_URL") == "/s/"
    assert settings.database.kind == "fields"
    assert settings.database.variables == {"db_host": "PGHOST"}


def test_nothing_of_the_project_is_imported(monkeypatch):
    """Detection parses: a settings module that would explode when run is read all the same."""
    tree = Tree.from_dir(PROJECTS / "poetry_app")
    tree.files["notes/settings.py"] = (
        'raise SystemExit("imported!")\nSTATIC_URL = "/x/"\n' + tree.text("notes/settings.py")
    )
    found = detect(tree)
    assert found.ready
    assert "notes.settings" not in sys.modules


# --- dependency files -------------------------------------------------------------------


def test_requirements_includes_are_followed():
    requirements = read_requirements(
        Tree.from_dir(PROJECTS / "split_requirements"), "requirements/production.txt"
    )
    assert requirements.files == ("requirements/production.txt", "requirements/base.txt")
    assert {"django", "django-environ", "gunicorn", "psycopg"} <= requirements.names
    assert not requirements.pinned


def test_the_production_requirements_file_is_chosen_by_name():
    files = ["requirements.txt", "requirements/base.txt", "requirements/local.txt",
             "requirements/production.txt"]  # fmt: skip
    assert choose_requirements(files, "", None).chosen == "requirements/production.txt"
    assert choose_requirements(["requirements-dev.txt", "requirements.txt"], "", None).chosen == (
        "requirements.txt"
    )
    question = choose_requirements(["requirements/a.txt", "requirements/b.txt"], "", None)
    assert question.chosen is None and len(question.candidates) == 2


def test_setup_cfg_extras_are_read():
    tree = Tree.from_dict(
        {
            "setup.cfg": "[options]\ninstall_requires =\n    Django>=4.2\n    pillow\n"
            "python_requires = >=3.11\n[options.extras_require]\npostgres = psycopg[binary]\n"
        }
    )
    install, extras, notes = setup_requirements(tree, "")
    assert install == ["Django>=4.2", "pillow"] and extras == {"postgres": ["psycopg[binary]"]}
    assert notes == []


@pytest.mark.parametrize(
    ("poetry", "pep440"),
    [("^3.11", "<4,>=3.11"), ("~3.11", "<3.12,>=3.11"), (">=3.9,<3.13", "<3.13,>=3.9"),
     ("^0.4", "<0.5,>=0.4")],
)  # fmt: skip
def test_poetry_constraints_become_specifiers(poetry, pep440):
    assert poetry_specifier(poetry) == pep440


def test_django_versions_cap_the_python_version():
    assert django_series("4.2.30") == (4, 2) and django_series(">=3.2,<4.0") == (3, 2)
    tree = Tree.from_dict({"pyproject.toml": '[project]\nrequires-python = ">=3.9"\n'})
    choice = choose_python(statements(tree, [""]), "3.2.25")
    assert choice.version == (3, 10) and "the newest Django 3.2.25 supports" in choice.reason


def test_an_exact_version_wins_over_a_range_and_conflicts_are_said():
    tree = Tree.from_dict(
        {".python-version": "3.10.4\n", "pyproject.toml": '[project]\nrequires-python = ">=3.11"\n'}
    )
    choice = choose_python(statements(tree, [""]), None)
    assert choice.version == (3, 10)
    assert choice.conflicts and "does not allow 3.10" in choice.conflicts[0]


# --- the plan: files, and what is in them ------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_the_plan_never_touches_a_file_of_the_project(shape):
    found, result = plan_of(shape)
    root = PROJECTS / shape / result.root
    assert not [p for p in result.files if (root / p).exists()]
    for path, text in result.files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")
        if path.endswith((".yaml", ".yml")):
            yaml.safe_load(text)
    assert "compose.yaml" in result.files
    assert {"environments/dev/compose.yaml", "environments/prod/compose.yaml"} <= set(result.files)
    assert result.options.images["python"] == (
        f"python:{found.python.version[0]}.{found.python.version[1]}-slim"
    )


@pytest.mark.parametrize("shape", ["split_requirements", "subfolder_uv", "poetry_app"])
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_adopted_dockerfiles_pass_hadolint(shape, environment, tmp_path):
    _, result = plan_of(shape)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(result.files[f"environments/{environment}/Dockerfile"])
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    lint = subprocess.run([hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_compose_files_point_at_djship_settings_and_the_subfolder():
    _, result = plan_of("subfolder_uv", append_env=True)
    dev = yaml.safe_load(result.files["environments/dev/compose.yaml"])["services"]["web"]
    assert dev["working_dir"] == "/app/src"
    assert dev["command"] == ["uwsgi", "--ini", "/app/environments/dev/uwsgi.ini"]
    assert dev["environment"]["DJANGO_SETTINGS_MODULE"] == "archive.djship_settings"
    assert dev["environment"]["DJSHIP_PROJECT_SETTINGS"] == "archive.settings"
    prod = yaml.safe_load(result.files["environments/prod/compose.yaml"])
    assert "media:/srv/media" in prod["services"]["web"]["volumes"]
    assert prod["services"]["web"]["environment"]["DJANGO_MEDIA_ROOT"] == "/srv/media"
    assert "media" in prod["volumes"]
    dockerfile = result.files["environments/prod/Dockerfile"]
    assert "COPY . .\nWORKDIR /app/src\n" in dockerfile
    assert dockerfile.count("DJANGO_SETTINGS_MODULE=archive.djship_settings") == 2  # both stages
    assert "/srv/hotfix /srv/media" in dockerfile
    assert "COPY pyproject.toml uv.lock environments/serving.txt ./" in dockerfile
    assert "uv pip install --no-deps --require-hashes -r serving.txt" in dockerfile
    for environment in ("dev", "prod"):
        uwsgi = result.files[f"environments/{environment}/uwsgi.ini"]
        assert "chdir = /app/src\nmodule = archive.wsgi:application\n" in uwsgi


def test_uwsgi_serves_the_projects_static_url():
    _, result = plan_of("poetry_app")
    uwsgi = result.files["environments/prod/uwsgi.ini"]
    assert "static-map = /assets=/app/public/assets" in uwsgi
    assert r"static-expires = /app/public/assets/.*\.[0-9a-f]{12}" in uwsgi
    lines = uwsgi.splitlines()
    for index, line in enumerate(lines):  # every option still says why
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.startswith(";") and not key.startswith("route"):
            assert lines[index - 1].startswith(";") or "=" in lines[index - 1], line
    settings = result.files["notes/djship_settings.py"]
    assert 'STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT", "/app/public/assets")' in settings
    # The healthcheck is answered before the project's own middleware checks the host.
    assert 'MIDDLEWARE = ["notes.djship_health.HealthCheckMiddleware", *globals()' in settings
    assert "SECURE_REDIRECT_EXEMPT" not in settings
    health = result.files["notes/djship_health.py"]
    compile(health, "djship_health.py", "exec")
    assert "if request.path_info == PATH:" in health
    assert "get_resolver().url_patterns" in health  # a broken URLconf stays unhealthy
    compile(result.files["notes/djship_urls.py"], "djship_urls.py", "exec")


def test_env_is_filled_to_match_how_the_project_reads_its_database():
    _, split = plan_of("split_requirements")
    env = env_of(split.files[".env"])
    assert env["DATABASE_URL"] == "postgres://shop:dbpass123@db:5432/shop"
    assert env["DJANGO_ADMIN_URL"] == ""  # required, unknown: the user fills it in
    example = env_of(split.files[".env.example"])
    assert example["DATABASE_URL"] == "postgres://shop:change-me@db:5432/shop"
    assert "dbpass123" not in split.files[".env.example"]
    _, pipenv = plan_of("pipenv_db")
    env = env_of(pipenv.files[".env"])
    assert {k: env[k] for k in ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT")} == {
        "DB_NAME": "shop",
        "DB_USER": "shop",
        "DB_PASSWORD": "dbpass123",
        "DB_HOST": "db",
        "DB_PORT": "5432",
    }
    assert "SECRET_KEY" not in env  # bridged from DJANGO_SECRET_KEY: one secret, one place
    _, pep621 = plan_of("pep621_nolock")
    env = env_of(pep621.files[".env"])
    assert "POSTGRES_HOST" not in env  # it would mean an external database to `djship export`
    assert env["SENTRY_DSN"] == ""
    prod = yaml.safe_load(pep621.files["environments/prod/compose.yaml"])["services"]["web"]
    assert "SENTRY_DSN" in prod["environment"]


def test_an_existing_env_is_kept_and_djships_keys_go_beside_it():
    _, result = plan_of("subfolder_uv")
    assert ".env" not in result.files and result.env_append == ""
    beside = env_of(result.files[BESIDE_ENV])
    assert "ARCHIVE_DBHOST" not in beside  # the project's own line wins
    assert beside["COMPOSE_FILE"] == "compose.yaml:environments/dev/compose.yaml"
    assert BESIDE_ENV in result.private
    assert any("ARCHIVE_DBHOST=localhost" in note for note in result.notes)
    _, appended = plan_of("subfolder_uv", append_env=True)
    assert BESIDE_ENV not in appended.files and "DJANGO_SECRET_KEY=" in appended.env_append


def test_djship_adds_uwsgi_and_a_driver_without_editing_the_project():
    _, poetry = plan_of("poetry_app")
    assert poetry.installation.added == ("psycopg2-binary", "pyuwsgi")
    serving = parse_requirements(poetry.files["environments/serving.txt"])
    assert {p.name for p in serving} == {"psycopg2-binary", "pyuwsgi"}
    steps = poetry.installation.tool.install_steps
    assert steps[1].startswith("poetry install --only main --no-root")
    assert steps[-1] == "/opt/venv/bin/pip install --no-deps --require-hashes -r serving.txt"
    _, split = plan_of("split_requirements")
    assert "pyuwsgi>=2.0.30" in split.files["environments/requirements.in"]
    assert "psycopg" not in split.files["environments/requirements.in"]  # it has one
    assert split.installation.tool.lock_argv[-4:] == (
        "requirements/production.txt",
        "environments/requirements.in",
        "-o",
        "environments/requirements.txt",
    )
    _, setup = plan_of("setup_extras")
    argv = setup.installation.tool.lock_argv
    assert argv[argv.index("setup.py") + 1 : argv.index("setup.py") + 3] == ("--extra", "postgres")
    _, monorepo = plan_of("monorepo_backend")
    assert monorepo.installation.added == ()
    block = serving_block({"pyuwsgi"}).splitlines()
    assert [line for line in block if not line.startswith(("#", " "))] == [
        "pyuwsgi==2.0.30.post1 \\"
    ]


def test_djship_settings_run_as_the_containers_run_them(tmp_path):
    """The generated module, imported in a real interpreter with each environment's variables:
    the project's settings are imported (they need no Django), then overridden."""
    project = tmp_path / "notes_project"
    shutil.copytree(PROJECTS / "poetry_app", project)
    _, result = plan_of("poetry_app")
    write_plan(project, result)
    secret_file = tmp_path / "postgres_password"
    secret_file.write_text("from-the-file\n")
    key_file = tmp_path / "django_secret_key"
    key_file.write_text("k" * 60)
    script = (
        "import json, importlib; s = importlib.import_module('notes.djship_settings'); "
        "print(json.dumps({k: getattr(s, k, None) for k in ('DEBUG', 'SECRET_KEY', "
        "'ALLOWED_HOSTS', 'STATIC_ROOT', 'SECURE_SSL_REDIRECT', 'ROOT_URLCONF', "
        "'DJSHIP_PROJECT_URLCONF', 'TIME_ZONE', 'SECURE_PROXY_SSL_HEADER')} | "
        "{'DATABASE': s.DATABASES['default']}, default=str))"
    )

    def run(env: dict[str, str]) -> dict:
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=project,
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    dev = run({"DJANGO_SECRET_KEY": "dev-key", "DJANGO_DEBUG": "1", "POSTGRES_PASSWORD": "pw"})
    assert dev["DEBUG"] is True and dev["SECRET_KEY"] == "dev-key"
    assert dev["DATABASE"]["ENGINE"] == "django.db.backends.postgresql"
    assert dev["DATABASE"]["HOST"] == "db" and dev["DATABASE"]["PASSWORD"] == "pw"
    assert dev["ROOT_URLCONF"] == "notes.djship_urls" and dev["DJSHIP_PROJECT_URLCONF"] == (
        "notes.urls"
    )
    assert dev["TIME_ZONE"] == "Europe/Paris" and dev["SECURE_SSL_REDIRECT"] is None
    prod = run(
        {
            "DJANGO_SECRET_KEY_FILE": str(key_file),
            "POSTGRES_PASSWORD_FILE": str(secret_file),
            "DJANGO_HTTPS": "1",
            "DJANGO_ALLOWED_HOSTS": "notes.example.com",
            "DJANGO_STATIC_ROOT": "/app/public/assets",
        }
    )
    assert prod["DEBUG"] is False and prod["SECRET_KEY"] == "k" * 60
    assert prod["DATABASE"]["PASSWORD"] == "from-the-file"
    assert prod["ALLOWED_HOSTS"] == ["notes.example.com"]
    assert prod["SECURE_SSL_REDIRECT"] is True
    assert prod["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_required_variables_are_bridged_at_import_and_at_build(tmp_path):
    """kiosk's settings require DJANGO_SECRET_KEY and SENTRY_DSN: production passes the key
    as a file only, and the image build has neither."""
    project = tmp_path / "kiosk"
    shutil.copytree(PROJECTS / "pep621_nolock", project)
    _, result = plan_of("pep621_nolock")
    write_plan(project, result)
    key_file = tmp_path / "key"
    key_file.write_text("k" * 60)
    script = "import kiosk.djship_settings as s; print(s.DATABASES['default']['HOST'])"
    for env in (
        {"DJANGO_SECRET_KEY_FILE": str(key_file), "SENTRY_DSN": ""},  # production
        {"DJANGO_SECRET_KEY": "build-only"},  # the image build's collectstatic
    ):
        run = subprocess.run(
            [sys.executable, "-c", script],
            cwd=project,
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "db"


def test_system_packages_come_from_the_lock_for_the_projects_python(tmp_path):
    _, poetry = plan_of("poetry_app")
    packages, unknown = system_packages(
        PROJECTS / "poetry_app", poetry.installation, "debian", (3, 13), lambda d: ()
    )
    assert packages.build == () and unknown == []  # Django, Markdown, wheels only
    names = {p.name for p in locked_distributions(PROJECTS / "poetry_app", poetry.installation)}
    assert {"django", "markdown", "pyuwsgi", "psycopg2-binary"} <= names
    assert "pytest-django" not in names  # the dev group never reaches an image
    _, sample = plan_of("docker_sample")
    lock = tmp_path / "environments" / "requirements.txt"
    lock.parent.mkdir()
    lock.write_text("psycopg2==2.9.13 \\\n    --hash=sha256:00\ndjango==4.2.30\n")

    def files_of(dist: Pinned) -> tuple[str, ...]:
        return {"psycopg2": ("psycopg2-2.9.13.tar.gz",)}.get(
            dist.name, (f"{dist.name}-{dist.version}-py3-none-any.whl",)
        )

    packages, _ = system_packages(tmp_path, sample.installation, "debian", (3, 12), files_of)
    assert "libpq-dev" in packages.build and "libpq5" in packages.runtime


# --- writing: all or nothing, never over a file ------------------------------------------


def test_writing_creates_everything_with_modes_and_touches_nothing_else(tmp_path):
    project = tmp_path / "notes"
    shutil.copytree(PROJECTS / "poetry_app", project)
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    _, result = plan_of("poetry_app")
    write_plan(project, result)
    assert all(path.read_bytes() == content for path, content in before.items())
    assert (project / ".env").stat().st_mode & 0o777 == 0o600
    assert (project / "environments/prod/start-uwsgi.sh").stat().st_mode & 0o111
    assert (project / "notes/djship_settings.py").is_file()


def test_an_existing_file_is_refused_before_anything_is_written(tmp_path):
    project = tmp_path / "notes"
    shutil.copytree(PROJECTS / "poetry_app", project)
    (project / "environments").mkdir()
    (project / "environments" / ".gitignore").write_text("mine\n")
    _, result = plan_of("poetry_app")
    with pytest.raises(DjshipError, match="refusing to overwrite environments/.gitignore"):
        write_plan(project, result)
    assert sorted(p.name for p in (project / "environments").iterdir()) == [".gitignore"]
    assert not (project / "compose.yaml").exists()


def test_a_failure_half_way_undoes_everything(tmp_path):
    project = tmp_path / "notes"
    shutil.copytree(PROJECTS / "poetry_app", project)
    before = sorted(str(p) for p in project.rglob("*"))
    _, result = plan_of("poetry_app")
    result.files["compose.yaml/oops"] = "x"  # below a file: cannot be written
    with pytest.raises(OSError):
        write_plan(project, result)
    assert sorted(str(p) for p in project.rglob("*")) == before


def test_appending_to_an_existing_env_keeps_its_bytes(tmp_path):
    project = tmp_path / "archive"
    shutil.copytree(PROJECTS / "subfolder_uv", project)
    original = (project / ".env").read_bytes()
    _, result = plan_of("subfolder_uv", append_env=True)
    write_plan(project, result)
    text = (project / ".env").read_bytes()
    assert text.startswith(original)
    env = env_of(text.decode())
    assert env["ARCHIVE_DBHOST"] == "localhost" and env["COMPOSE_PROJECT_NAME"] == "shop"


def test_a_failing_lock_undoes_the_files(tmp_path, monkeypatch):
    project = tmp_path / "kiosk"
    shutil.copytree(PROJECTS / "pep621_nolock", project)
    before = sorted(str(p) for p in project.rglob("*"))
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the daemon' >&2\nexit 1\n")
    (fake / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    _, result = plan_of("pep621_nolock")
    with pytest.raises(DjshipError, match="nothing was written") as error:
        adopt(project, result, Output(plain=True))
    assert "--no-lock" in error.value.hint
    assert sorted(str(p) for p in project.rglob("*")) == before


def test_no_lock_writes_the_files_and_says_what_is_left(tmp_path, capsys):
    project = tmp_path / "kiosk"
    shutil.copytree(PROJECTS / "pep621_nolock", project)
    _, result = plan_of("pep621_nolock")
    adopt(project, result, Output(plain=True), lock=False)
    assert (project / "compose.yaml").is_file() and not (project / "uv.lock").exists()
    assert "djship lock" in capsys.readouterr().err


# --- the command ------------------------------------------------------------------------


def run_init(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    shim = "import sys, djship.cli.adopt; from djship.cli import main; main(sys.argv[1:])"
    return subprocess.run(
        [sys.executable, "-c", shim, "--plain", "init", *args],
        cwd=cwd,
        env=dict(os.environ, CI="1"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_the_command_names_the_flag_when_it_cannot_ask(tmp_path):
    project = tmp_path / "composeexample"
    shutil.copytree(PROJECTS / "docker_sample", project)
    result = run_init("--no-lock", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "--python" in result.stderr and not (project / "compose.yaml").exists()
    result = run_init("--no-lock", "--python", "3.12", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "Python: 3.12" in result.stderr and "why: --python 3.12" in result.stderr
    assert (project / "composeexample" / "djship_settings.py").is_file()
    again = run_init("--no-lock", "--python", "3.12", cwd=project)
    assert again.returncode == 1 and "compose.yaml exists" in again.stderr


def test_dry_run_reports_and_writes_nothing(tmp_path):
    project = tmp_path / "blog"
    shutil.copytree(PROJECTS / "split_requirements", project)
    result = run_init("--dry-run", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "settings (prod): config.settings.production" in result.stderr
    assert "why: named for production" in result.stderr
    assert "config/djship_settings.py" in result.stderr
    assert not (project / "compose.yaml").exists()


def test_a_project_with_its_own_compose_file_gets_another_compose_name():
    tree, found = findings_of("subfolder_uv")
    result = plan(found, Inputs("", SECRET, "pw", directory_name="Archive-2"), tree)
    assert result.options.name == "archive_2_djship"
    assert "orphans" in next(d.reason for d in result.decisions if d.topic == "Compose project")
    tree, found = findings_of("poetry_app")
    result = plan(found, Inputs("", SECRET, "pw", directory_name="notes"), tree)
    assert result.options.name == "notes"
    assert env_of(result.files[".env"])["COMPOSE_PROJECT_NAME"] == "notes"
