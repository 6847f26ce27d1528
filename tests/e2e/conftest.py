"""End-to-end fixtures: a real Docker engine, local stand-ins for the official images, and
generated projects that are always taken down (containers, networks, volumes) afterwards.

These tests never skip: when no engine answers they fail, so a green run means they ran.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STANDINS = REPO / "tests" / "standins" / "build.sh"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def engine() -> None:
    result = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(
            "end-to-end tests need a Docker engine and none answers "
            f"(run scripts/engine.sh): {result.stderr.strip()[-300:]}"
        )


@pytest.fixture(scope="session")
def image_env(engine) -> dict[str, str]:
    """PYTHON_IMAGE, POSTGRES_IMAGE, NGINX_IMAGE of the stand-ins (built once per machine)."""
    result = subprocess.run(["bash", str(STANDINS)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"building the stand-in images failed:\n{result.stderr[-2000:]}")
    env = dict(line.split("=", 1) for line in result.stdout.split() if "=" in line)
    if HOST_CA_BUNDLE.exists():  # this machine's TLS-inspecting proxy, for pip/uv/pipenv
        env["BUILD_CA_BUNDLE"] = str(HOST_CA_BUNDLE)
    return env


def run_in_image(image: str, script: str, **kwargs) -> subprocess.CompletedProcess[str]:
    """A shell script in a throwaway container of `image` (its entry point bypassed)."""
    return subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", image, "-c", script],
        capture_output=True,
        text=True,
        **kwargs,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class GeneratedProject:
    root: Path
    name: str
    env: dict[str, str]

    def djship(
        self,
        *args: str,
        check: bool = True,
        extra_env: dict[str, str] | None = None,
        timeout: int = 900,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "djship", "--plain", *args],
            cwd=self.root,
            env={**os.environ, **self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"djship {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )
        return result

    def compose(
        self, *args: str, env_name: str = "dev", check: bool = True, timeout: int = 900
    ) -> subprocess.CompletedProcess[str]:
        """Plain `docker compose`, as a user without djship would type it."""
        files = ["-f", "compose.yaml", "-f", f"environments/{env_name}/compose.yaml"]
        result = subprocess.run(
            ["docker", "compose", *files, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            pytest.fail(f"docker compose {' '.join(args)} failed:\n{result.stderr[-5000:]}")
        return result

    def teardown(self) -> None:
        for env_name in ("prod", "dev"):
            self.compose(
                "down",
                "--volumes",
                "--remove-orphans",
                "--timeout",
                "5",
                env_name=env_name,
                check=False,
            )


def create_project(base: Path, env: dict[str, str], name: str, *args: str) -> GeneratedProject:
    """`djship new NAME ARGS` in `base`, as a user would type it."""
    result = subprocess.run(
        [sys.executable, "-m", "djship", "--plain", "new", name, *args],
        cwd=base,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return GeneratedProject(base / name, name, env)


def create_prod_project(base: Path, env: dict[str, str], name: str) -> GeneratedProject:
    """`djship new NAME` on free ports, with a self-signed TLS pair: ready for `--env prod`.
    Sets `url` (HTTPS, where the proxy answers), `http_url` and `https_port` on it."""
    http_port, https_port = free_port(), free_port()
    project = create_project(
        base, env, name, "--port", str(http_port), "--https-port", str(https_port)
    )
    project.djship("certificate")
    project.url = f"https://127.0.0.1:{https_port}/"
    project.http_url = f"http://127.0.0.1:{http_port}/"
    project.https_port = https_port
    return project


@pytest.fixture
def new_project(image_env, tmp_path) -> Iterator[Callable[..., GeneratedProject]]:
    """Create projects with `djship new`; each one is taken down afterwards, even on failure."""
    created: list[GeneratedProject] = []

    def create(name: str, *args: str) -> GeneratedProject:
        # Registered before it exists: a failure half-way is cleaned up too.
        created.append(GeneratedProject(tmp_path / name, name, image_env))
        created[-1] = create_project(tmp_path, image_env, name, *args)
        return created[-1]

    yield create
    for project in created:
        project.teardown()


# --- the shared production stack ----------------------------------------------------------

SLOW_VIEW = '''

def slow(request):
    """Test helper: answers after ?seconds= (the drain test keeps one request in flight)."""
    import time

    time.sleep(float(request.GET.get("seconds", "3")))
    return HttpResponse("slow done", content_type="text/plain")
'''


def png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x0c\x4b\x33")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


EXTRA_STATIC = {
    "app.js": b"document.documentElement.dataset.js = 'loaded';\n",
    "font.woff2": b"wOF2" + bytes(range(64)),
    "data.json": b'{"ok": true}\n',
    "pixel.png": png_1x1(),
}


def customise_prod(project: GeneratedProject) -> None:
    """What a developer adds: a few static files of every kind and a slow view."""
    static = project.root / "welcome" / "static" / "welcome"
    for name, content in EXTRA_STATIC.items():
        (static / name).write_bytes(content)
    views = project.root / "welcome" / "views.py"
    views.write_text(
        views.read_text().replace(
            "from django.http import HttpRequest, HttpResponse",
            "from django.http import HttpRequest, HttpResponse",
        )
        + SLOW_VIEW
    )
    urls = project.root / "welcome" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            'path("", views.index, name="index"),',
            'path("", views.index, name="index"),\n    path("slow/", views.slow, name="slow"),',
        )
    )


@pytest.fixture(scope="session")
def prod(image_env, tmp_path_factory) -> Iterator[GeneratedProject]:
    """One production stack for the session (test_prod.py, test_tls.py): `djship up --env prod`
    of a customised project, migrated; taken down at the end of the session."""
    base = tmp_path_factory.mktemp("prod")
    project = GeneratedProject(base / "e2e_prod", "e2e_prod", image_env)
    try:
        project = create_prod_project(base, image_env, "e2e_prod")
        customise_prod(project)
        up = project.djship("up", "--env", "prod")
        assert up.stdout.strip().splitlines()[-1] == project.url
        project.djship("manage", "--env", "prod", "migrate")
        yield project
    finally:
        project.teardown()
