"""Production secrets reach containers as files derived from .env, never as environment values."""

from __future__ import annotations

import stat

import pytest
import yaml

from djship.errors import DjshipError
from djship.project.layout import Project
from djship.project.secrets import environment_secrets, write_secret_files

SECRET_VARIABLES = ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD")


def prod_services(rendered) -> dict:
    base = yaml.safe_load(rendered["compose.yaml"])["services"]
    prod = yaml.safe_load(rendered["environments/prod/compose.yaml"])
    return {name: {**base.get(name, {}), **spec} for name, spec in prod["services"].items()}


def test_no_prod_service_gets_a_secret_as_an_environment_value(rendered):
    for name, service in prod_services(rendered).items():
        assert "env_file" not in service, name
        environment = service.get("environment") or {}
        for variable in SECRET_VARIABLES:
            assert variable not in environment, (name, variable)


def test_prod_secrets_are_files_the_services_read_through_file_variables(rendered):
    prod = yaml.safe_load(rendered["environments/prod/compose.yaml"])
    services = prod["services"]
    assert services["web"]["environment"]["DJANGO_SECRET_KEY_FILE"] == (
        "/run/secrets/django_secret_key"
    )
    assert services["db"]["environment"]["POSTGRES_PASSWORD_FILE"] == (
        "/run/secrets/postgres_password"
    )
    assert set(services["web"]["secrets"]) == {"django_secret_key", "postgres_password"}
    assert services["db"]["secrets"] == ["postgres_password"]
    for name in ("django_secret_key", "postgres_password"):
        assert prod["secrets"][name]["file"] == f"./environments/prod/secrets/{name}"


def test_secret_files_stay_out_of_git_and_images(rendered):
    assert "/environments/*/secrets/" in rendered[".gitignore"].splitlines()
    assert "environments/*/secrets" in rendered[".dockerignore"].splitlines()


def config_with_secrets(root, *names, elsewhere=None):
    secrets = {
        name: {"name": f"p_{name}", "file": str(root / "environments/prod/secrets" / name)}
        for name in names
    }
    if elsewhere:
        secrets["ca_bundle"] = {"name": "p_ca_bundle", "file": elsewhere}
    return {"secrets": secrets}


@pytest.fixture
def project(tmp_path):
    (tmp_path / ".env").write_text("DJANGO_SECRET_KEY=k3y$$x\nPOSTGRES_PASSWORD=pw\n")
    return Project(tmp_path)


def test_each_secret_file_takes_the_value_of_its_variable(project, tmp_path):
    config = config_with_secrets(tmp_path, "django_secret_key", "postgres_password", elsewhere="/x")
    secrets = environment_secrets(project, "prod", config)
    assert [(s.name, s.variable, s.value) for s in secrets] == [
        ("django_secret_key", "DJANGO_SECRET_KEY", "k3y$x"),
        ("postgres_password", "POSTGRES_PASSWORD", "pw"),
    ]


def test_written_files_are_readable_by_containers_in_a_private_directory(project, tmp_path):
    secrets = environment_secrets(
        project, "prod", config_with_secrets(tmp_path, "postgres_password")
    )
    write_secret_files(secrets)
    path = tmp_path / "environments/prod/secrets/postgres_password"
    assert path.read_text() == "pw"  # no trailing newline: the value, exactly
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_secret_missing_from_env_is_named(project, tmp_path):
    with pytest.raises(DjshipError, match="no STRIPE_KEY line"):
        environment_secrets(project, "prod", config_with_secrets(tmp_path, "stripe_key"))
