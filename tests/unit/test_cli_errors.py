"""Bad input gets one readable message and a non-zero exit: checked through the real CLI,
with a stand-in `docker` on PATH where the engine's answer is what is being tested."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD_INFO = 'if [ "$1" = info ]; then echo 20.10.24; exit 0; fi\n'
FAKE_DOCKERS = {
    "daemon down": 'echo "Cannot connect to the Docker daemon at unix:///var/run/d.sock." >&2\n'
    "exit 1\n",
    "no compose": GOOD_INFO + "echo \"docker: 'compose' is not a docker command.\" >&2\nexit 1\n",
    "socket denied": 'echo "permission denied while trying to connect to the Docker daemon" >&2\n'
    "exit 1\n",
}


def djship(*args: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CI="1")
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "djship", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def assert_one_clear_error(result, *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture
def project_dir(tmp_path) -> Path:
    result = djship("new", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "shop"


def fake_docker_path(tmp_path: Path, script: str) -> str:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text("#!/bin/sh\n" + script)
    docker.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin"


def test_docker_not_installed(project_dir, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    assert_one_clear_error(
        djship("up", cwd=project_dir, path=str(empty)), "Docker is not installed"
    )


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("daemon down", "the Docker daemon is not answering"),
        ("no compose", "Docker Compose v2 is missing"),
        ("socket denied", "permission denied on the Docker socket"),
    ],
)
def test_engine_problems(project_dir, tmp_path, case, message):
    path = fake_docker_path(tmp_path, FAKE_DOCKERS[case])
    assert_one_clear_error(djship("up", cwd=project_dir, path=path), message)


def test_outside_a_project(tmp_path):
    assert_one_clear_error(djship("ps", cwd=tmp_path), "not inside a djship project")


def test_invalid_project_name(tmp_path):
    assert_one_clear_error(djship("new", "My-Shop", cwd=tmp_path), "invalid project name")
    assert list(tmp_path.iterdir()) == []


def test_target_not_empty_is_left_untouched(tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "notes.txt").write_text("mine")
    assert_one_clear_error(djship("new", "shop", cwd=tmp_path), "already exists and is not empty")
    assert [p.name for p in (tmp_path / "shop").iterdir()] == ["notes.txt"]


def test_malformed_env_line_is_named(project_dir):
    env = project_dir / ".env"
    env.write_text(env.read_text() + 'EXTRA="quoted"\n')
    line = len(env.read_text().splitlines())
    assert_one_clear_error(djship("up", cwd=project_dir), f".env, line {line}", "quoted")


def test_unknown_environment(project_dir):
    assert_one_clear_error(
        djship("up", "--env", "staging", cwd=project_dir),
        "unknown environment 'staging'",
        "dev, prod",
    )


def test_deleting_prod_volumes_needs_force(project_dir):
    result = djship("down", "--env", "prod", "--volumes", "--yes", cwd=project_dir)
    assert_one_clear_error(result, "refusing to delete the volumes of the prod environment")


def test_deleting_volumes_without_a_terminal_needs_yes(project_dir):
    assert_one_clear_error(djship("down", "--volumes", cwd=project_dir), "confirm with --yes")


def test_plain_new_succeeds_and_says_what_next(tmp_path):
    result = djship("new", "shop", "--lock", "pipenv", cwd=tmp_path)
    assert result.returncode == 0
    assert "Next: cd" in result.stderr
    assert (tmp_path / "shop" / "Pipfile.lock").exists()


def test_cli_choices_match_the_platforms_module():
    from djship.cli import dependencies, develop
    from djship.dependencies import platforms

    assert set(develop.BASES) == set(platforms.TARGETS)
    assert set(dependencies.ARCHITECTURES) == set(platforms.ARCHITECTURES)


RECORDING_DOCKER = (
    GOOD_INFO + 'if [ "$1 $2" = "compose version" ]; then echo 2.40.3; exit 0; fi\n'
    'echo "$@" >> "$DOCKER_CALLS"\n'
)


@pytest.mark.parametrize(("answer", "deleted"), [("n", False), ("y", True)])
def test_deleting_volumes_asks_first_on_a_terminal(project_dir, tmp_path, answer, deleted):
    import pty

    calls = tmp_path / "calls"
    path = fake_docker_path(tmp_path, RECORDING_DOCKER)
    controller, terminal = pty.openpty()
    os.write(controller, f"{answer}\n".encode())
    result = subprocess.run(
        [sys.executable, "-m", "djship", "--plain", "down", "--volumes"],
        cwd=project_dir,
        env=dict(os.environ, PATH=path, DOCKER_CALLS=str(calls)),
        stdin=terminal,
        capture_output=True,
        text=True,
        timeout=60,
    )
    os.close(controller)
    os.close(terminal)
    recorded = calls.read_text() if calls.exists() else ""
    assert ("down --volumes" in recorded) is deleted
    assert (result.returncode == 0) is deleted
    assert "Traceback" not in result.stderr


def test_a_target_below_a_file_is_one_line_naming_it(tmp_path):
    (tmp_path / "afile").write_text("")
    result = djship("new", "shop", "--directory", str(tmp_path / "afile" / "sub"), cwd=tmp_path)
    assert_one_clear_error(result, str(tmp_path / "afile"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_file_that_is_no_utf8_text_is_named(project_dir):
    dockerfile = project_dir / "environments" / "prod" / "Dockerfile"
    dockerfile.write_bytes(dockerfile.read_bytes() + b"\xff\n")
    result = djship("doctor", "--env", "prod", cwd=project_dir)
    assert_one_clear_error(result, f"{dockerfile} is not UTF-8 text (byte 0xff", "save it as UTF-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = [\n", "pyproject.toml is not valid TOML"),
        ('[project]\nname = "shop"\n[tool.uv]\nno-binary-package = 5\n', "must be a list"),
    ],
)
def test_a_broken_pyproject_is_named(project_dir, text, message):
    (project_dir / "pyproject.toml").write_text(text)
    assert_one_clear_error(djship("deps", cwd=project_dir), message)


def test_an_empty_certificate_host_is_refused(project_dir):
    result = djship("certificate", "--host", "", cwd=project_dir)
    assert_one_clear_error(result, "--host '' is no host name or IP address")
    assert not (project_dir / "environments" / "prod" / "tls" / "cert.pem").exists()


def test_doctor_fails_on_compose_files_compose_refuses(project_dir):
    (project_dir / "compose.yaml").write_text("services:\n  web:\n    image: [unclosed\n")
    result = djship("doctor", cwd=project_dir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Compose refuses these files" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_compose_yaml_is_named(project_dir):
    (project_dir / "compose.yaml").unlink()
    result = djship("ps", cwd=project_dir / "environments")
    assert_one_clear_error(result, f"{project_dir / 'compose.yaml'} is missing")


@pytest.mark.parametrize("port", ["0", "99999", "-5"])
def test_a_port_out_of_range_is_refused_before_anything_is_written(tmp_path, port):
    result = djship("new", "shop", "--port", port, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--port" in result.stderr and "1<=x<=65535" in result.stderr
    assert not (tmp_path / "shop").exists()


def test_lock_names_a_bad_env_line_before_any_container(project_dir, tmp_path):
    with (project_dir / ".env").open("a") as env:
        env.write("BAD LINE\n")
    path = fake_docker_path(tmp_path, 'echo "docker must not be called" >&2\nexit 1\n')
    result = djship("lock", cwd=project_dir, path=path)
    assert_one_clear_error(result, "expected KEY=value, found 'BAD LINE'")
    assert "docker must not be called" not in result.stderr
