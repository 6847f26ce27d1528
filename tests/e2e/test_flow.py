"""The core promise, on a real engine: new -> up -> pages -> manage -> live edit -> lock ->
rebuild -> down -> up, for each lock tool."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
import requests

from tests.e2e.conftest import GeneratedProject, free_port

SUPERUSER = {
    "DJANGO_SUPERUSER_USERNAME": "admin",
    "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
    "DJANGO_SUPERUSER_PASSWORD": "correct-horse-battery-staple",
}
NEW_DEPENDENCY = "humanize"


def wait_for_text(url: str, text: str, timeout: float = 30) -> float:
    """Seconds until `url` answers 200 with `text` in it."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            response = requests.get(url, timeout=5)
            if response.status_code == 200 and text in response.text:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not serve {text!r} within {timeout} s")


def container_start(project: GeneratedProject, service: str) -> tuple[str, str]:
    cid = project.compose("ps", "-q", service).stdout.strip()
    started = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", cid], capture_output=True, text=True
    ).stdout.strip()
    return cid, started


def add_dependency(project: GeneratedProject, lock: str) -> None:
    if lock == "uv":
        path = project.root / "pyproject.toml"
        text = path.read_text().replace(
            '    "pyuwsgi>=2.0.30",\n', f'    "pyuwsgi>=2.0.30",\n    "{NEW_DEPENDENCY}>=4.9",\n'
        )
    elif lock == "pipenv":
        path = project.root / "Pipfile"
        text = path.read_text().replace(
            "[dev-packages]", f'{NEW_DEPENDENCY} = ">=4.9"\n\n[dev-packages]'
        )
    else:
        path = project.root / "requirements.in"
        text = path.read_text() + f"{NEW_DEPENDENCY}>=4.9\n"
    assert NEW_DEPENDENCY in text
    path.write_text(text)


def superusers(result: subprocess.CompletedProcess[str]) -> list[str]:
    match = re.search(r"SUPERUSERS=(\[.*\])", result.stdout)
    assert match, result.stdout + result.stderr
    return json.loads(match.group(1))


COUNT_SUPERUSERS = (
    "import json; from django.contrib.auth.models import User; "
    "print('SUPERUSERS=' + json.dumps(list(User.objects.filter(is_superuser=True)"
    ".values_list('username', flat=True))))"
)


LOCK_FILES = {"uv": "uv.lock", "pipenv": "Pipfile.lock", "requirements": "requirements.txt"}


@pytest.mark.parametrize("lock", sorted(LOCK_FILES))
def test_the_whole_development_loop(new_project, lock):
    port = free_port()
    project = new_project(f"e2e_{lock}", "--lock", lock, "--port", str(port))

    # up: detached, healthy, and the URL printed last.
    up = project.djship("up")
    url = up.stdout.strip().splitlines()[-1]
    assert url == f"http://127.0.0.1:{port}/"

    # The welcome page through the proxy, with its stylesheet and image.
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    assert f"e2e_{lock} is up and running" in page.text
    css = requests.get(url + "static/welcome/style.css", timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert ".welcome" in css.text
    svg = requests.get(url + "static/welcome/logo.svg", timeout=10)
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert requests.get(url + "healthz", timeout=10).text == "ok\n"

    # manage: migrate, then a superuser created without prompts.
    assert "Applying auth" in project.djship("manage", "migrate").stdout
    project.djship("manage", "createsuperuser", "--noinput", extra_env=SUPERUSER)
    login = requests.get(url + "admin/login/", timeout=10)
    assert login.status_code == 200 and "csrfmiddlewaretoken" in login.text

    # Edit a view: served without restarting anything.
    before = container_start(project, "web")
    views = project.root / "welcome" / "views.py"
    views.write_text(views.read_text().replace("is up and running", "was edited live"))
    wait_for_text(url, f"e2e_{lock} was edited live")
    assert container_start(project, "web") == before

    # A deployment names its domain alone in DJANGO_ALLOWED_HOSTS: Django refuses any other
    # Host for pages, but the healthcheck (which asks 127.0.0.1) still passes: up waits on it.
    env_file = project.root / ".env"
    original = env_file.read_text()
    assert "DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1\n" in original
    try:
        env_file.write_text(original.replace(
            "DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1\n", "DJANGO_ALLOWED_HOSTS=shop.example.com\n"
        ))  # fmt: skip
        project.djship("up")
        assert requests.get(url, timeout=10).status_code == 400
        assert requests.get(url + "healthz", timeout=10).text == "ok\n"
    finally:
        env_file.write_text(original)
    project.djship("up")
    assert requests.get(url, timeout=10).status_code == 200

    # Add a dependency and lock: the lock file on the host changes, owned by the host user.
    tool_lock = project.root / LOCK_FILES[lock]
    old_lock = tool_lock.read_text()
    add_dependency(project, lock)
    assert "updated" in project.djship("lock").stderr
    assert tool_lock.read_text() != old_lock and NEW_DEPENDENCY in tool_lock.read_text()
    assert tool_lock.stat().st_uid == os.getuid()

    # The next build installs it.
    project.djship("up", "--build")
    imported = project.djship(
        "manage", "shell", "-c", f"import {NEW_DEPENDENCY}; print('IMPORTED')"
    )
    assert "IMPORTED" in imported.stdout

    # down keeps the data; up again: the superuser is still there.
    project.djship("down")
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q"], capture_output=True, text=True
    ).stdout
    assert f"e2e_{lock}_db-data" in volumes.split()
    if lock == "uv":
        # Plain Compose, no djship: COMPOSE_FILE in .env picks the dev environment.
        plain = subprocess.run(
            ["docker", "compose", "up", "--detach", "--wait"],
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert plain.returncode == 0, plain.stderr
        result = project.compose(
            "exec", "-T", "web", "python", "manage.py", "shell", "-c", COUNT_SUPERUSERS
        )
    else:
        project.djship("up")
        result = project.djship("manage", "shell", "-c", COUNT_SUPERUSERS)
    assert superusers(result) == ["admin"]
    assert requests.get(url, timeout=10).status_code == 200
