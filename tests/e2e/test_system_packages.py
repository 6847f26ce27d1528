"""System packages on a real engine: every Debian name djship knows exists in the target
distribution, and a project with C dependencies built from source gets a working prod image
with nothing of the build left in it."""

from __future__ import annotations

import subprocess

import pytest

from djship.dependencies.sysdeps import load_knowledge
from tests.e2e.conftest import free_port, run_in_image

DEBIAN_BASE = "djship-standin/debian:trixie"  # the same Debian release as python:3.13-slim
HEAVY_DEPENDENCIES = ('    "psycopg2==2.9.10",\n', '    "pillow>=11",\n', '    "lxml==5.2.2",\n')
USE_THEM = """
import io, os
import psycopg2
from lxml import etree
from PIL import Image

buffer = io.BytesIO()
Image.new("RGB", (32, 16), (12, 75, 51)).save(buffer, "JPEG")
image = Image.open(io.BytesIO(buffer.getvalue()))
image.load()
assert (image.format, image.size) == ("JPEG", (32, 16)), (image.format, image.size)

xslt = etree.XSLT(etree.XML(
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
    '<xsl:template match="/"><out><xsl:value-of select="/in"/></out></xsl:template>'
    '</xsl:stylesheet>'))
assert str(xslt(etree.XML("<in>ok</in>"))).strip().endswith("<out>ok</out>")

connection = psycopg2.connect(host="db", dbname=os.environ["POSTGRES_DB"],
                              user=os.environ["POSTGRES_USER"],
                              password=open(os.environ["POSTGRES_PASSWORD_FILE"]).read())
with connection.cursor() as cursor:
    cursor.execute("SELECT 40 + 2")
    assert cursor.fetchone() == (42,)
print("ALL-USED", psycopg2.__version__, etree.LXML_VERSION, Image.__version__)
"""


def test_every_debian_package_djship_names_exists(image_env):
    names = sorted(
        {
            name
            for entry in load_knowledge().values()
            for name in (*entry.build.get("debian", ()), *entry.runtime.get("debian", ()))
        }
    )
    script = (
        "apt-get update -qq >/dev/null 2>&1; for p in "
        + " ".join(names)
        + "; do apt-cache show --no-all-versions $p >/dev/null 2>&1 || echo MISSING $p; done"
    )
    result = subprocess.run(
        ["docker", "run", "--rm", DEBIAN_BASE, "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "MISSING" not in result.stdout, result.stdout


@pytest.fixture
def heavy_project(new_project):
    project = new_project("e2e_heavy", "--port", str(free_port()), "--https-port", str(free_port()))
    pyproject = project.root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace(
            '    "pyuwsgi>=2.0.30",\n', '    "pyuwsgi>=2.0.30",\n' + "".join(HEAVY_DEPENDENCIES)
        )
    )
    project.djship("lock")
    # `djship lock` already brought the Dockerfiles' package lines in step with the new lock.
    for environment in ("dev", "prod"):
        dockerfile = (project.root / "environments" / environment / "Dockerfile").read_text()
        assert "libpq-dev" in dockerfile and "libxml2-dev" in dockerfile
    return project


def dpkg_dev_packages(image: str) -> set[str]:
    out = run_in_image(image, "dpkg-query -W -f '${Package}\\n'", check=True).stdout
    return {name for name in out.split() if name.endswith("-dev")}


def test_c_dependencies_build_from_source_and_leave_nothing_behind(heavy_project, image_env):
    project = heavy_project
    deps = project.djship("deps").stdout + project.djship("deps").stderr
    assert "psycopg2" in deps and "source" in deps

    built = project.djship("build", "--env", "prod", timeout=1800)
    assert "MB" in built.stderr
    dockerfile = (project.root / "environments" / "prod" / "Dockerfile").read_text()
    build_line = next(
        line for line in dockerfile.splitlines() if line.startswith("ARG BUILD_PACKAGES=")
    )
    runtime_line = next(
        line for line in dockerfile.splitlines() if line.startswith("ARG RUNTIME_PACKAGES=")
    )
    for package in ("gcc", "libpq-dev", "libxml2-dev", "libxslt1-dev"):
        assert package in build_line
    for package in ("libpq5", "libxml2", "libxslt1.1"):
        assert package in runtime_line

    image = "e2e_heavy-web:prod"
    # Each package works in the runtime image, psycopg2 against the real database.
    (project.root / "environments" / "prod" / "tls").mkdir(parents=True, exist_ok=True)
    project.djship("certificate", "--force")
    # Plain Compose, as the generated README says: the secret files written by hand first.
    subprocess.run(["bash", "-c", readme_secrets_recipe(project)], cwd=project.root, check=True)
    used = project.compose("run", "--rm", "-T", "web", "python", "-c", USE_THEM, env_name="prod")
    assert "ALL-USED" in used.stdout

    # Nothing of the build in the runtime image: no compiler, no -dev package djship added.
    compiler = run_in_image(image, "command -v gcc cc c++ make || echo none").stdout.strip()
    assert compiler == "none"
    assert dpkg_dev_packages(image) <= dpkg_dev_packages(image_env["PYTHON_IMAGE"])


def readme_secrets_recipe(project) -> str:
    """The shell lines of the generated README that write the secret files without djship."""
    readme = (project.root / "README.md").read_text()
    after = readme.split("Without djship:", 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]
