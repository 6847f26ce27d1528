"""Failures on a real engine: one clear message, a non-zero exit, nothing lost."""

from __future__ import annotations

import json
import socket
import subprocess

from tests.e2e.conftest import free_port


def assert_clear_failure(result, *fragments):
    assert result.returncode != 0
    # djship's own traceback would start a line; the app's, quoted from its logs, does not
    assert not any(line.startswith("Traceback") for line in result.stderr.splitlines())
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_a_taken_port_is_reported_before_anything_starts(new_project):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        project = new_project("e2e_port", "--port", str(port))
        result = project.djship("up", check=False)
    assert_clear_failure(result, f"port {port} on 127.0.0.1 is already taken")
    assert project.compose("ps", "-a", "-q").stdout.strip() == ""


def test_a_broken_dockerfile_fails_the_build_clearly(new_project):
    project = new_project("e2e_broken", "--port", str(free_port()))
    dockerfile = project.root / "environments" / "dev" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("EXPOSE 8000", "RUN exit 3\nEXPOSE 8000"))
    result = project.djship("up", "--build", check=False)
    assert_clear_failure(result, "error: building the images failed")
    assert project.compose("ps", "-a", "-q").stdout.strip() == ""


def test_a_service_that_cannot_start_is_named_with_its_last_log_lines(new_project):
    project = new_project("e2e_crash", "--port", str(free_port()))
    settings = project.root / "e2e_crash" / "settings.py"
    settings.write_text(settings.read_text() + '\nraise RuntimeError("settings are broken")\n')
    result = project.djship("up", check=False, timeout=600)
    assert_clear_failure(result, "web ", "settings are broken", "djship logs")


def test_doctor_finds_nothing_in_a_new_project_and_names_a_broken_env_line(new_project):
    project = new_project("e2e_doctor")
    assert "No finding" in project.djship("doctor").stdout
    # prod: nothing but a note that Django's deploy checks need the image built first.
    prod = project.djship("doctor", "--env", "prod", "--json")
    assert [f["rule"] for f in json.loads(prod.stdout)] == ["django-deploy-not-checked"]
    with (project.root / ".env").open("a") as dotenv:
        dotenv.write('API_TOKEN = "s3cr$t"\r\n')
    broken = project.djship("doctor", check=False)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    line = len((project.root / ".env").read_text().splitlines())
    assert f".env:{line}: error [env-spaces]" in broken.stdout
    assert "[env-quoted-value]" in broken.stdout and "[env-crlf]" in broken.stdout
    project.djship("doctor", "--fix", check=False)
    assert (project.root / ".env").read_bytes().endswith(b"API_TOKEN=s3cr$$t\n")
    after = project.djship("doctor", "--json")  # exit 0: only a note on '$$' is left
    assert [f["rule"] for f in json.loads(after.stdout)] == ["env-double-dollar"]


def test_down_leaves_alone_a_project_of_the_same_name_in_another_directory(new_project):
    mine = new_project("e2e_owner", "--port", str(free_port()))
    mine.compose("create", "db")  # its container and its database volume, nothing started
    copy = new_project("e2e_owner_copy", "--port", str(free_port()))
    env = copy.root / ".env"
    env.write_text(env.read_text().replace("=e2e_owner_copy\n", "=e2e_owner\n", 1))
    assert "COMPOSE_PROJECT_NAME=e2e_owner\n" in env.read_text()

    result = copy.djship("down", "--volumes", "--yes", check=False)
    assert_clear_failure(
        result, "belong to another directory", str(mine.root), "COMPOSE_PROJECT_NAME"
    )
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "e2e_owner_db-data" in volumes
    assert mine.compose("ps", "--all", "--quiet").stdout.strip()
