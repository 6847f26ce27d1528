import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from djship.errors import DjshipError
from djship.project.envfile import parse_env
from djship.project.locking import TOOLS
from djship.scaffold.render import (
    DEFAULT_IMAGES,
    check_target,
    default_images,
    images_from_environment,
    new_secret,
    render_project,
    validate_name,
    write_project,
)
from tests.unit.conftest import options_for


def compose(rendered, path="compose.yaml"):
    return yaml.safe_load(rendered[path])


def test_every_brick_is_named_in_compose_yaml(rendered):
    services = compose(rendered)["services"]
    assert set(services) == {"web", "proxy", "db"}
    assert (
        compose(rendered, "environments/dev/compose.yaml")["services"]["web"]["env_file"] == ".env"
    )
    assert services["web"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    for service in services.values():
        assert "healthcheck" in service
    assert "pg_isready -h 127.0.0.1" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["db"]["volumes"] == ["db-data:/var/lib/postgresql/data"]
    assert "db-data" in compose(rendered)["volumes"]


def test_compose_yaml_explains_itself_in_comments(rendered):
    lines = rendered["compose.yaml"].splitlines()
    assert sum("#" in line for line in lines) >= 10


def test_base_images_are_variables_defaulting_to_official_images(rendered):
    text = rendered["compose.yaml"] + rendered["environments/dev/compose.yaml"]
    assert "${NGINX_IMAGE:-nginx:1.28-alpine}" in text
    assert "${POSTGRES_IMAGE:-postgres:17-alpine}" in text
    assert "${PYTHON_IMAGE:-python:3.13-slim}" in text
    env = {k: e.value for k, e in parse_env(rendered[".env"]).items()}
    assert env["PYTHON_IMAGE"] == DEFAULT_IMAGES["python"]


ENVIRONMENT_FILES = {
    "dev": ("compose.yaml", "Dockerfile", "uwsgi.ini", "nginx.conf"),
    "prod": (
        "compose.yaml",
        "Dockerfile",
        "uwsgi.ini",
        "start-uwsgi.sh",
        "nginx-tls-proxy.conf.template",
        "nginx-tls-upstream.conf.template",
    ),
}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_each_environment_has_its_files(rendered, environment):
    for name in ENVIRONMENT_FILES[environment]:
        assert f"environments/{environment}/{name}" in rendered
    override = compose(rendered, f"environments/{environment}/compose.yaml")
    build = override["services"]["web"]["build"]
    assert build["dockerfile"] == f"environments/{environment}/Dockerfile"


def test_env_selects_the_environment_through_compose_file(rendered):
    env = {k: e.value for k, e in parse_env(rendered[".env"]).items()}
    assert env["COMPOSE_FILE"] == "compose.yaml:environments/dev/compose.yaml"
    assert env["COMPOSE_PROJECT_NAME"] == "shop"


def test_env_is_valid_unquoted_and_carries_fresh_secrets(rendered):
    env = {k: e.value for k, e in parse_env(rendered[".env"]).items()}
    assert env["DJANGO_SECRET_KEY"].startswith("kkk")
    assert env["POSTGRES_PASSWORD"] == "dbpass123"
    assert env["DEV_UID"] == "1234" and env["DEV_GID"] == "2345"
    assert env["HTTP_PORT"] == "8123"


def test_env_example_has_the_same_keys_and_no_secret(rendered):
    example = parse_env(rendered[".env.example"])
    real = parse_env(rendered[".env"])
    assert example.keys() == real.keys()
    assert "dbpass123" not in rendered[".env.example"]
    assert "kkkk" not in rendered[".env.example"]


def test_env_is_git_ignored_and_docker_ignored(rendered):
    assert ".env" in rendered[".gitignore"].splitlines()
    dockerignore = rendered[".dockerignore"].splitlines()
    assert ".env" in dockerignore and ".git" in dockerignore


def test_dev_runs_on_loopback_with_the_source_mounted(rendered):
    dev = compose(rendered, "environments/dev/compose.yaml")["services"]
    assert dev["proxy"]["ports"] == ["127.0.0.1:${HTTP_PORT:-8000}:80"]
    assert ".:/app" in dev["web"]["volumes"]
    assert dev["web"]["environment"]["DJANGO_DEBUG"] == "1"
    assert "ports" not in dev["web"] and "ports" not in compose(rendered)["services"]["db"]


def test_lock_service_runs_the_lock_tool_only_on_demand(rendered, lock_name):
    lock = compose(rendered, "environments/dev/compose.yaml")["services"]["lock"]
    assert lock["profiles"] == ["tools"]
    assert lock["command"] == ["with-ca-bundle", *TOOLS[lock_name].lock_argv]
    assert lock["build"]["target"] == "tools"


def test_dependencies_come_from_the_chosen_lock_tool_only(rendered, lock_name):
    tool = TOOLS[lock_name]
    for other in TOOLS.values():
        for path in other.files:
            assert (path in rendered) == (path in tool.files)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_dockerfiles_enforce_the_lock(rendered, lock_name, environment):
    dockerfile = rendered[f"environments/{environment}/Dockerfile"]
    enforced = {
        "uv": "uv sync --locked",
        "pipenv": "pipenv install --deploy",
        "requirements": "pip install --no-deps --require-hashes -r requirements.txt",
    }[lock_name]
    assert enforced in dockerfile
    assert "PATH=/opt/venv/bin:$PATH" in dockerfile
    # Only what the engine on Debian 12 (20.10) understands: no syntax line, no heredoc, no --link.
    assert "# syntax=" not in dockerfile and "<<" not in dockerfile and "--link" not in dockerfile


def test_the_dev_image_has_the_dev_dependencies_and_prod_has_not(rendered, lock_name):
    dev, prod = (rendered[f"environments/{env}/Dockerfile"] for env in ("dev", "prod"))
    dev_install = {
        "uv": "with-ca-bundle uv sync --locked\n",  # the dev group: uv's default
        "pipenv": "pipenv install --deploy --dev",
        "requirements": "-r requirements.txt",  # no dev set: the same in both
    }[lock_name]
    assert dev_install in dev
    assert "--no-dev" in prod or lock_name != "uv"
    assert "--dev" not in prod.replace("--no-dev", "")


def test_health_probes_are_answered_before_host_checks_and_redirects(rendered):
    settings = rendered["shop/settings.py"]
    middleware = settings.split("MIDDLEWARE = [", 1)[1].split("]", 1)[0].split()
    assert middleware[0] == '"shop.health.HealthCheckMiddleware",'
    assert "SECURE_REDIRECT_EXEMPT" not in settings  # nothing to exempt: it never gets there
    assert "healthz" not in rendered["shop/urls.py"].replace("/healthz is answered", "")
    assert 'PATH = "/healthz"' in rendered["shop/health.py"]
    assert "load_urls()" in rendered["shop/health.py"]  # a release with broken URLs is unhealthy


def test_uv_lock_names_the_project_as_pyproject_does():
    rendered = render_project(options_for("uv", name="my_shop"))
    assert tomllib.loads(rendered["pyproject.toml"])["project"]["name"] == "my_shop"
    packages = tomllib.loads(rendered["uv.lock"])["package"]
    assert any(p["name"] == "my-shop" and p["source"] == {"virtual": "."} for p in packages)


def test_requirements_lock_pins_everything_with_hashes():
    from djship.dependencies.lockfiles import parse_requirements

    rendered = render_project(options_for("requirements"))
    pinned = {p.name for p in parse_requirements(rendered["requirements.txt"])}
    assert {"django", "psycopg", "psycopg-binary", "pyuwsgi"} <= pinned
    assert rendered["requirements.txt"].count("--hash=sha256:") >= 2 * len(pinned)


def test_pipfile_lock_is_valid_json_with_django():
    rendered = render_project(options_for("pipenv"))
    assert "django" in json.loads(rendered["Pipfile.lock"])["default"]


def test_django_package_is_named_after_the_project(rendered):
    assert "shop/settings.py" in rendered and "shop/wsgi.py" in rendered
    assert 'DJANGO_SETTINGS_MODULE", "shop.settings"' in rendered["manage.py"]
    assert "module = shop.wsgi:application" in rendered["environments/dev/uwsgi.ini"]


def test_generated_python_compiles(rendered):
    for path, text in rendered.items():
        if path.endswith(".py"):
            compile(text, path, "exec")


@pytest.mark.parametrize("name", ["shop", "my_shop2", "a"])
def test_valid_names(name):
    validate_name(name)


@pytest.mark.parametrize(
    "name", ["Shop", "2shop", "my-shop", "", "class", "django", "x" * 41, "json", "email", "uwsgi"]
)
def test_invalid_names_are_refused(name):
    with pytest.raises(DjshipError, match="invalid project name"):
        validate_name(name)


def test_secrets_are_long_and_safe_in_env_files():
    secret = new_secret()
    assert len(secret) >= 50 and len(set(secret)) >= 5
    assert not set(secret) & set("\"'$# =")


def test_image_variables_from_the_shell_win():
    images = images_from_environment({"PYTHON_IMAGE": "mirror/python:3.13-slim"})
    assert images["python"] == "mirror/python:3.13-slim"
    assert images["nginx"] == DEFAULT_IMAGES["nginx"]


def test_write_project_writes_everything_with_modes(tmp_path, rendered):
    target = tmp_path / "shop"
    write_project(target, rendered)
    assert (target / "compose.yaml").read_text() == rendered["compose.yaml"]
    assert (target / "manage.py").stat().st_mode & 0o111
    assert (target / ".env").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["shop"]


def test_write_project_accepts_an_empty_directory(tmp_path, rendered):
    (tmp_path / "shop").mkdir()
    write_project(tmp_path / "shop", rendered)
    assert (tmp_path / "shop" / "compose.yaml").exists()


def test_a_non_empty_target_is_refused_and_left_alone(tmp_path, rendered):
    target = tmp_path / "shop"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    with pytest.raises(DjshipError, match="not empty"):
        check_target(target)
    with pytest.raises(DjshipError):
        write_project(target, rendered)
    assert [p.name for p in target.iterdir()] == ["mine.txt"]


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path, rendered):
    broken = dict(rendered) | {"compose.yaml/oops": "x"}  # a file below a file: cannot be written
    with pytest.raises(OSError):
        write_project(tmp_path / "shop", broken)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_dockerfiles_pass_hadolint(rendered, environment, tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(rendered[f"environments/{environment}/Dockerfile"])
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prod_image_runs_as_a_numeric_non_root_user(rendered):
    users = [
        line
        for line in rendered["environments/prod/Dockerfile"].splitlines()
        if line.startswith("USER ")
    ]
    assert users == ["USER 10001:10001"]


def test_alpine_projects_use_apk_musl_images_and_lint_clean(tmp_path):
    from djship.scaffold.render import template_packages

    rendered = render_project(
        options_for(
            "uv",
            base="alpine",
            images=default_images("alpine"),
            packages=template_packages("alpine"),
        )
    )
    for environment in ("dev", "prod"):
        dockerfile = rendered[f"environments/{environment}/Dockerfile"]
        assert "apk add --no-cache" in dockerfile and "apt-get" not in dockerfile
        assert "python:3.13-alpine" in dockerfile
        path = tmp_path / f"Dockerfile.{environment}"
        path.write_text(dockerfile)
        hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
        result = subprocess.run([hadolint, "--no-color", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
    assert "mailcap" in rendered["environments/prod/Dockerfile"]
    env = {k: e.value for k, e in parse_env(rendered[".env"]).items()}
    assert env["PYTHON_IMAGE"] == "python:3.13-alpine"


def test_package_lines_are_rewritten_and_nothing_else():
    from djship.dependencies.dockerfile import SystemPackages, rewrite

    text = render_project(options_for("uv"))["environments/prod/Dockerfile"]
    assert 'ARG BUILD_PACKAGES=""' in text and 'ARG RUNTIME_PACKAGES=""' in text
    new = rewrite(text, SystemPackages(("gcc", "libpq-dev"), ("libpq5",)))
    assert 'ARG BUILD_PACKAGES="gcc libpq-dev"' in new
    assert 'ARG RUNTIME_PACKAGES="libpq5"' in new
    pairs = zip(new.splitlines(), text.splitlines(), strict=True)
    changed = [line for line, old in pairs if line != old]
    assert len(changed) == 2


@pytest.mark.parametrize("base", ["debian", "alpine"])
def test_build_packages_stay_in_the_build_stage(base):
    from djship.dependencies.dockerfile import SystemPackages

    packages = SystemPackages(("gcc", "libpq-dev"), ("libpq5",))
    dockerfile = render_project(options_for("uv", base=base, packages=packages))[
        "environments/prod/Dockerfile"
    ]
    build_stage, final_stage = dockerfile.split("\nFROM ${PYTHON_IMAGE}\n")
    assert 'ARG BUILD_PACKAGES="gcc libpq-dev"' in build_stage
    assert "BUILD_PACKAGES" not in final_stage and "gcc" not in final_stage
    assert 'ARG RUNTIME_PACKAGES="libpq5"' in final_stage and "RUNTIME_PACKAGES" not in build_stage


@pytest.mark.parametrize("base", ["debian", "alpine"])
def test_the_venv_comes_from_a_stage_the_code_does_not_touch(base):
    """A code change must leave the venv's stage as it was: BuildKit then reuses the checksum
    of the final stage's copy of it instead of rereading every installed file."""
    dockerfile = render_project(options_for("uv", base=base))["environments/prod/Dockerfile"]
    stages = dockerfile.split("\nFROM ")
    assert [stage.split("\n", 1)[0] for stage in stages[1:]] == [
        "${PYTHON_IMAGE} AS dependencies", "dependencies AS build", "${PYTHON_IMAGE}",
    ]  # fmt: skip
    dependencies, build, final = stages[1:]
    assert "uv sync" in dependencies and "COPY . ." not in dependencies
    assert "COPY . ." in build and "collectstatic" in build
    assert "COPY --from=dependencies /opt/venv /opt/venv" in final
    assert "COPY --from=build /app /app" in final


def test_the_generated_readme_explains_djship_and_plain_compose(rendered, lock_name):
    readme = rendered["README.md"]
    assert "djship up" in readme and "docker compose up --build --detach --wait" in readme
    assert TOOLS[lock_name].lock_file in readme and "{{" not in readme
