"""Shipping on one host, on a real engine, under a steady load with a writer: releases v1,
v2 (a changed page and a migration adding a column), a broken v3 that never becomes
healthy, then a rollback to v1 that reverses v2's migration. Across the whole sequence no
request fails, every row the writer was told was written is still there, and the backup
taken before v2 restores into a fresh database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from djship.project.envfile import set_value
from tests.e2e.conftest import GeneratedProject, create_prod_project
from tests.e2e.load import Load, Writer

PROD = ("--env", "prod")
LOAD_SECONDS = 900  # bounded: the whole sequence fits well within it

MODELS_V1 = '''from django.db import models


class Row(models.Model):
    """One row per write request: the test finds each acknowledged number here."""

    n = models.IntegerField(unique=True)
'''
MIGRATION_0001 = """from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Row",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("n", models.IntegerField(unique=True)),
            ],
        ),
    ]
"""
# v2 adds a nullable column: v1's code keeps working on v2's schema (it runs on it while the
# deploy migrates, and again after a rollback until the column is reversed).
MODELS_V2 = MODELS_V1 + "    note = models.CharField(max_length=40, null=True, blank=True)\n"
MIGRATION_0002 = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("welcome", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="row",
            name="note",
            field=models.CharField(blank=True, max_length=40, null=True),
        ),
    ]
"""
WRITE_VIEW = '''

@csrf_exempt
def write(request: HttpRequest) -> HttpResponse:
    """Test helper: inserts the row numbered by the POSTed n."""
    from welcome.models import Row

    Row.objects.create(n=int(request.POST["n"]))
    return HttpResponse("written", content_type="text/plain")
'''


def git(project: GeneratedProject, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", *args],
        cwd=project.root,
        check=True,
        capture_output=True,
    )


def commit(project: GeneratedProject, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)


def set_headline(project: GeneratedProject, text: str) -> None:
    views = project.root / "welcome" / "views.py"
    views.write_text(re.sub(r'"headline": "[^"]*"', f'"headline": "{text}"', views.read_text()))


def customise(project: GeneratedProject) -> None:
    """v1 of the app: a model, its migration, a write view, and a headline naming v1."""
    app = project.root / "welcome"
    (app / "models.py").write_text(MODELS_V1)
    (app / "migrations").mkdir()
    (app / "migrations" / "__init__.py").write_text("")
    (app / "migrations" / "0001_initial.py").write_text(MIGRATION_0001)
    views = app / "views.py"
    views.write_text(
        views.read_text().replace(
            "from django.shortcuts import render",
            "from django.shortcuts import render\nfrom django.views.decorators.csrf import "
            "csrf_exempt",
        )
        + WRITE_VIEW
    )
    urls = app / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            'path("", views.index, name="index"),',
            'path("", views.index, name="index"),\n    path("write/", views.write),',
        )
    )
    set_headline(project, "release one")


def make_v2(project: GeneratedProject) -> None:
    """v2: a new page, and a migration adding a nullable column."""
    set_headline(project, "release two")
    (project.root / "welcome" / "models.py").write_text(MODELS_V2)
    (project.root / "welcome" / "migrations" / "0002_row_note.py").write_text(MIGRATION_0002)
    commit(project, "v2")


def make_broken_v3(project: GeneratedProject) -> None:
    """v3 starts but answers 500 everywhere, /healthz included: it never becomes healthy."""
    urls = project.root / "welcome" / "urls.py"
    urls.write_text(urls.read_text() + '\nraise RuntimeError("release three is broken")\n')
    commit(project, "v3 (broken)")


def release(project: GeneratedProject) -> str:
    return project.djship("release", *PROD).stdout.strip().splitlines()[-1]


def db_rows(project: GeneratedProject, container: str | None = None) -> set[int]:
    target = container or container_of(project, "db")
    result = subprocess.run(
        ["docker", "exec", target, "psql", "-U", project.name, "-d", project.name, "-tAc",
         "SELECT n FROM welcome_row"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {int(line) for line in result.stdout.split()}


def db_columns(project: GeneratedProject) -> set[str]:
    query = "SELECT column_name FROM information_schema.columns WHERE table_name='welcome_row'"
    result = subprocess.run(
        ["docker", "exec", container_of(project, "db"), "psql", "-U", project.name, "-d",
         project.name, "-tAc", query],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(result.stdout.split())


def container_of(project: GeneratedProject, service: str) -> str:
    return project.compose("ps", "-q", service, env_name="prod").stdout.split()[0]


def headline(url: str) -> str:
    page = requests.get(url, timeout=10, verify=False).text
    return re.search(r'<h1 id="headline">([^<]*)</h1>', page).group(1)


@pytest.fixture(scope="module")
def shop(image_env, tmp_path_factory):
    base = tmp_path_factory.mktemp("ship")
    project = GeneratedProject(base / "e2e_ship", "e2e_ship", image_env)
    try:
        project = create_prod_project(base, image_env, "e2e_ship")
        customise(project)
        git(project, "init", "-q")
        commit(project, "v1")
        yield project
    finally:
        project.teardown()
        remove_releases(project)


def remove_releases(project: GeneratedProject) -> None:
    """The ledger's volumes and the release images this module made."""
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", f"label=io.djship.ledger={project.name}"],
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    if volumes:
        subprocess.run(["docker", "volume", "rm", *volumes], capture_output=True)
    images = subprocess.run(
        ["docker", "image", "ls", "-q", "--filter", f"label=io.djship.project={project.name}"],
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    if images:
        subprocess.run(["docker", "image", "rm", "-f", *set(images)], capture_output=True)


def test_deploy_v2_deploy_broken_v3_roll_back_to_v1_without_a_failed_request(shop, tmp_path):
    v1 = release(shop)
    assert re.fullmatch(r"[0-9a-f]{12}", v1)
    shop.djship("deploy", *PROD)
    assert headline(shop.url) == "release one"

    readers = Load(shop.url, threads=3, max_seconds=LOAD_SECONDS)
    writer = Writer(shop.url + "write/", max_seconds=LOAD_SECONDS)
    with readers, writer:
        time.sleep(2)
        # v2: a new page and a migration; a backup is taken before the migration runs.
        make_v2(shop)
        v2 = release(shop)
        written_before_v2 = writer.last
        deployed = shop.djship("deploy", v2, *PROD)
        backup = re.search(r"Backup: (backups/\S+\.dump)", deployed.stderr).group(1)
        assert v2 in backup and "welcome.0002_row_note" in deployed.stderr
        assert headline(shop.url) == "release two"
        assert "note" in db_columns(shop)

        # v3 never becomes healthy: it is stopped, v2 keeps serving, the command says why.
        make_broken_v3(shop)
        v3 = release(shop)
        # Compose's tag keeps naming what runs until a deploy moves traffic.
        assert image_id(shop, "prod") == image_id(shop, v2) != image_id(shop, v3)
        failed = shop.djship("deploy", v3, *PROD, check=False)
        assert failed.returncode != 0
        assert f"release {v3} never became healthy" in failed.stderr
        assert "release three is broken" in failed.stderr  # its last log lines
        assert "Traceback" not in failed.stderr.split("Its last log lines")[0]
        assert headline(shop.url) == "release two"
        assert image_id(shop, "prod") == image_id(shop, v2)  # `docker compose up` runs v2

        # Back to v1: refused while v1 lacks v2's migration, then reversed with --migrate.
        refused = shop.djship("rollback", *PROD, check=False)
        assert refused.returncode != 0 and "welcome.0002_row_note" in refused.stderr
        assert headline(shop.url) == "release two"
        shop.djship("rollback", *PROD, "--migrate")
        assert headline(shop.url) == "release one"
        time.sleep(2)

    assert readers.ok > 200 and writer.last > 100
    assert readers.failed == 0, readers.outcomes
    assert not writer.failures, writer.failures
    assert set(writer.acknowledged) <= db_rows(shop)
    assert "note" not in db_columns(shop)

    listing = json.loads(shop.djship("releases", "--json").stdout)
    status = {row["version"]: row["status"] for row in listing}
    assert status == {v1: "live", v2: "rolled back", v3: "failed"}
    latest = {row["version"]: row["migrations"]["welcome"] for row in listing}
    assert latest == {v1: "0001_initial", v2: "0002_row_note", v3: "0002_row_note"}

    # The backup taken before v2 restores into a fresh database, with the rows of that time.
    restored = restore_into_fresh_database(shop, shop.root / backup)
    assert set(range(1, written_before_v2 + 1)) <= restored <= db_rows(shop)


def image_id(project: GeneratedProject, tag: str) -> str:
    name = f"{project.name}-web:{tag}"
    run = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", name],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return run.stdout.strip()


def restore_into_fresh_database(project: GeneratedProject, dump: Path) -> set[int]:
    name = f"e2e-restore-{uuid.uuid4().hex[:8]}"
    image = project.env["POSTGRES_IMAGE"]
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--network", "none",
         "-e", f"POSTGRES_USER={project.name}", "-e", "POSTGRES_PASSWORD=fresh", image],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = subprocess.run(
                ["docker", "exec", name, "pg_isready", "-h", "127.0.0.1", "-U", project.name],
                capture_output=True,
            )
            if ready.returncode == 0:
                break
            time.sleep(1)
        with dump.open("rb") as data:
            subprocess.run(
                ["docker", "exec", "-i", name, "pg_restore", "--no-owner", "-U", project.name,
                 "-d", project.name],
                stdin=data, check=True, capture_output=True,
            )  # fmt: skip
        return db_rows(project, container=name)
    finally:
        # -v: the image declares a VOLUME for its data, which would outlive the container.
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)


FAILING_MIGRATION = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("welcome", "0001_initial")]
    operations = [
        migrations.RunSQL("CREATE TABLE welcome_half_done (id int)", migrations.RunSQL.noop),
        migrations.RunSQL("SELECT 1 / 0", migrations.RunSQL.noop),
    ]
"""


def lock_exists(project: GeneratedProject) -> bool:
    name = f"{project.name}-deploy-lock"
    return (
        subprocess.run(["docker", "container", "inspect", name], capture_output=True).returncode
        == 0
    )


def test_bad_input_leaves_the_live_release_serving(shop):
    """After the sequence above, v1 is live: nothing below may change that."""
    unknown = shop.djship("deploy", "0000deadbeef", *PROD, check=False)
    assert unknown.returncode != 0 and "unknown release '0000deadbeef'" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    no_swarm = shop.djship("deploy", *PROD, "--target", "swarm", check=False)
    assert no_swarm.returncode != 0 and "not part of a swarm" in no_swarm.stderr

    # A second deploy while one runs is refused, and names the first.
    listing = json.loads(shop.djship("releases", "--json").stdout)
    live = next(row["version"] for row in listing if row["status"] == "live")
    first = subprocess.Popen(  # the live release again: a redeploy
        [sys.executable, "-m", "djship", "--plain", "deploy", live, *PROD],
        cwd=shop.root, env={**os.environ, **shop.env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not lock_exists(shop) and time.monotonic() < deadline:
        time.sleep(0.1)
    second = shop.djship("deploy", *PROD, check=False)
    assert second.returncode != 0 and "another deploy or rollback" in second.stderr
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert not lock_exists(shop)

    # A release whose migrations fail changes nothing: one transaction, v1 keeps serving.
    git(shop, "checkout", "HEAD~2", "--", "welcome")  # v1's code again...
    (shop.root / "welcome" / "migrations" / "0002_row_note.py").unlink()
    (shop.root / "welcome" / "migrations" / "0002_fails.py").write_text(FAILING_MIGRATION)
    commit(shop, "v4: a migration that fails")
    # A registry that does not answer: the release is not recorded, and can be made again.
    dotenv = shop.root / ".env"
    original = dotenv.read_text()
    dotenv.write_text(set_value(original, "REGISTRY", "127.0.0.1:9"))
    try:
        releases_before = shop.djship("releases", "--json").stdout
        unreachable = shop.djship("release", *PROD, check=False)
        assert (
            unreachable.returncode != 0
            and "is REGISTRY=127.0.0.1:9 reachable" in unreachable.stderr
        )
        assert shop.djship("releases", "--json").stdout == releases_before
    finally:
        dotenv.write_text(original)

    v4 = release(shop)
    failed = shop.djship("deploy", v4, *PROD, check=False)
    assert failed.returncode != 0 and "division by zero" in failed.stderr
    assert "Nothing was applied" in failed.stderr
    tables = subprocess.run(
        ["docker", "exec", container_of(shop, "db"), "psql", "-U", shop.name, "-d", shop.name,
         "-tAc", "SELECT count(*) FROM pg_tables WHERE tablename = 'welcome_half_done'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert tables == "0"
    assert headline(shop.url) == "release one"
    status = {
        r["version"]: r["status"] for r in json.loads(shop.djship("releases", "--json").stdout)
    }
    assert status[v4] == "failed"

    # Restoring a backup over the production database asks for --force.
    backup = sorted((shop.root / "backups").glob("*.dump"))[-1]
    refused = shop.djship("db", "restore", str(backup), *PROD, "--yes", check=False)
    assert refused.returncode != 0 and "--force" in refused.stderr
    before = db_rows(shop)
    shop.djship("db", "restore", str(backup), *PROD, "--yes", "--force")
    assert db_rows(shop) <= before and headline(shop.url) == "release one"
