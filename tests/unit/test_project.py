import pytest

from djship.errors import DjshipError
from djship.project.layout import find_project
from tests.unit.test_compose import project


def test_found_from_a_subdirectory(tmp_path):
    project(tmp_path)
    (tmp_path / "app" / "deep").mkdir(parents=True)
    assert find_project(tmp_path / "app" / "deep").root == tmp_path


def test_outside_a_project_is_a_clear_error(tmp_path):
    with pytest.raises(DjshipError, match="not inside a djship project"):
        find_project(tmp_path)


def test_environments_and_the_default_one(tmp_path):
    found = project(tmp_path)
    assert found.environments == ["dev", "prod"]
    assert found.default_environment() == "prod"
    assert found.resolve_environment(None) == "prod"
    assert found.resolve_environment("dev") == "dev"


def test_an_unknown_environment_lists_the_known_ones(tmp_path):
    with pytest.raises(
        DjshipError, match="unknown environment 'staging'; this project has: dev, prod"
    ):
        project(tmp_path).resolve_environment("staging")


def test_default_is_dev_when_env_does_not_say(tmp_path):
    found = project(tmp_path)
    (tmp_path / ".env").write_text("A=1\n")
    assert found.default_environment() == "dev"


def test_a_bad_env_line_surfaces_with_its_number(tmp_path):
    found = project(tmp_path)
    (tmp_path / ".env").write_text("A=1\nB='x'\n")
    with pytest.raises(DjshipError, match=r"\.env, line 2: the value of B is quoted"):
        found.resolve_environment(None)


def test_lock_tool_is_detected_from_the_files(tmp_path):
    found = project(tmp_path)
    (tmp_path / "Pipfile").write_text("")
    assert found.lock_tool.name == "pipenv"
    (tmp_path / "Pipfile").unlink()
    (tmp_path / "pyproject.toml").write_text("")
    assert found.lock_tool.name == "uv"
