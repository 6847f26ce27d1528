"""`djship init` on a real engine, for three existing projects (tests/data/projects/): init,
then `up`, `manage migrate`, a page and a static file, then `up --env prod` and Django's
deployment checks, as a user would run them. Each copy is taken down afterwards (containers,
networks, volumes), also when a step fails."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import urllib3

from tests.e2e.conftest import GeneratedProject, free_port

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
PROJECTS = Path(__file__).resolve().parents[1] / "data" / "projects"
PROD = ("--env", "prod")


@dataclass(frozen=True)
class Shape:
    fixture: str
    name: str
    init_args: tuple[str, ...]
    page_text: str
    static_prefix: str  # where the page links its static files
    deploy_warnings: tuple[str, ...]  # what `check --deploy` still says, and why (see below)


SHAPES = {
    # requirements/ with -r includes, no lock (djship locks it at init, in a container); a
    # settings package with production.py; DATABASE_URL through django-environ.
    "split": Shape("split_requirements", "e2e_init_split", (), "The blog", "/static/", ()),
    # Poetry with package-mode = false, a literal SQLite DATABASES, no uWSGI and no driver
    # (djship's serving layer adds them), static files under /assets/.
    "poetry": Shape("poetry_app", "e2e_init_poetry", (), "Notes board", "/assets/", ()),
    # uv, manage.py in src/, its own Dockerfile, docker-compose.yml and .env (appended to),
    # ARCHIVE_DB* variables. Its settings choose X_FRAME_OPTIONS = "SAMEORIGIN" (previews in
    # frames): Django's deployment check warns about it, and djship leaves that choice alone.
    "subfolder": Shape(
        "subfolder_uv",
        "e2e_init_subfolder",
        ("--append-env",),
        "Archive inbox",
        "/static/",
        ("security.W019",),
    ),
}


ONLY_A_DOMAIN = (
    "from django.test import Client\n"
    "from django.test.utils import override_settings\n"
    "with override_settings(ALLOWED_HOSTS=['only.example.com']):\n"
    "    client = Client(HTTP_HOST='127.0.0.1:8000')\n"
    "    print(client.get('/healthz').status_code, client.get('/').status_code)\n"
)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=15, verify=False)


def static_links(html: str, prefix: str) -> list[str]:
    return re.findall(rf'(?:href|src)="({re.escape(prefix)}[^"]+)"', html)


@pytest.fixture
def adopted(image_env, tmp_path, request):
    """A copy of the fixture project, adopted with `djship init`; taken down afterwards."""
    shape = SHAPES[request.param]
    root = tmp_path / shape.name
    shutil.copytree(PROJECTS / shape.fixture, root)
    project = GeneratedProject(root, shape.name, image_env)
    try:
        before = snapshot(root)
        http_port, https_port = free_port(), free_port()
        args = ("--port", str(http_port), "--https-port", str(https_port), *shape.init_args)
        result = project.djship("init", *args)
        project.init_output = result.stderr
        project.before = before
        project.url = f"http://127.0.0.1:{http_port}/"
        project.https_url = f"https://127.0.0.1:{https_port}/"
        yield shape, project
    finally:
        project.teardown()


@pytest.mark.parametrize("adopted", sorted(SHAPES), indirect=True)
def test_init_then_dev_and_prod(adopted):
    shape, project = adopted
    root = project.root

    # Nothing of the project was overwritten: every file is as it was (an existing .env
    # only gained djship's keys, below its own lines).
    after = snapshot(root)
    for path, content in project.before.items():
        if path == ".env":
            assert after[path].startswith(content)
        else:
            assert after[path] == content, f"{path} changed"
    assert "why:" in project.init_output and "Adopted" in project.init_output

    # Development: up, migrate, a page and its static files through the proxy.
    up = project.djship("up")
    assert up.stdout.strip().splitlines()[-1] == project.url
    assert "Applying" in project.djship("manage", "migrate").stdout
    page = get(project.url)
    assert page.status_code == 200 and shape.page_text in page.text
    links = static_links(page.text, shape.static_prefix)
    assert links, page.text
    for link in links:
        static = get(project.url + link.lstrip("/"))
        assert static.status_code == 200, link
        assert static.headers["Content-Type"].startswith(("text/css", "text/javascript"))
    assert get(project.url + "healthz").text == "ok\n"
    # With ALLOWED_HOSTS naming only a domain, the healthcheck's 127.0.0.1 still gets its 200
    # (djship's middleware answers first), while a page for that host is refused.
    statuses = project.djship("manage", "shell", "-c", ONLY_A_DOMAIN).stdout.split()
    assert statuses[-2:] == ["200", "400"]
    project.djship("down")

    # Production: what the project requires and djship cannot know is asked for in .env.
    env_file = root / ".env"
    text = env_file.read_text()
    if "DJANGO_ADMIN_URL=\n" in text:
        env_file.write_text(text.replace("DJANGO_ADMIN_URL=\n", "DJANGO_ADMIN_URL=team-admin/\n"))
    project.djship("certificate")
    up = project.djship("up", *PROD)
    assert up.stdout.strip().splitlines()[-1] == project.https_url
    project.djship("manage", *PROD, "migrate")
    page = get(project.https_url)
    assert page.status_code == 200 and shape.page_text in page.text
    for link in static_links(page.text, shape.static_prefix):
        static = get(project.https_url + link.lstrip("/"))
        assert static.status_code == 200, link
        assert "Cache-Control" in static.headers  # served by uWSGI from the image
    redirect = requests.get(project.url, timeout=15, allow_redirects=False)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")

    check = project.djship(
        "manage", *PROD, "check", "--deploy", "--fail-level", "WARNING", check=False
    )
    found = sorted(set(re.findall(r"\((security\.[WE]\d+)\)", check.stdout + check.stderr)))
    assert found == sorted(shape.deploy_warnings), check.stdout + check.stderr
    assert (check.returncode == 0) == (not shape.deploy_warnings)
    if shape.deploy_warnings:
        assert "will still warn" in project.init_output  # init said so beforehand

    if shape.fixture == "subfolder_uv":
        # Uploads go to the `media` volume (the root filesystem is read-only) and are served.
        saved = project.djship(
            "manage",
            *PROD,
            "shell",
            "-c",
            "from django.core.files.base import ContentFile; "
            "from django.core.files.storage import default_storage; "
            "print('SAVED=' + default_storage.save('originals/scan.txt', ContentFile(b'scan')))",
        )
        name = re.search(r"SAVED=(\S+)", saved.stdout).group(1)
        upload = get(project.https_url + "media/" + name)
        assert upload.status_code == 200 and upload.text == "scan"
