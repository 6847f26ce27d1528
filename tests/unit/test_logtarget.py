"""LOG_TARGET: what each value means for Docker's logging drivers, the override file djship
writes for it, and the fallback when a receiver Docker must reach at start is down."""

from __future__ import annotations

import socket

import pytest
import yaml

from djship.engine.logtarget import apply_log_target
from djship.errors import DjshipError
from djship.project.envfile import set_value
from djship.project.layout import Project
from djship.project.logtarget import TAG, LogTarget, LogTargetError, parse_log_target
from djship.scaffold.render import render_project
from tests.unit.conftest import options_for

# Options each driver of Docker 20.10 accepts (daemon/logger/*/ValidateLogOpt), plus the
# two every driver takes (mode, max-buffer-size): anything else makes `docker run` fail.
ACCEPTED = {
    "json-file": {"max-size", "max-file", "compress", "labels", "env", "tag"},
    "local": {"max-size", "max-file", "compress"},
    "syslog": {"syslog-address", "syslog-format", "syslog-facility", "tag", "labels", "env",
               "syslog-tls-ca-cert", "syslog-tls-cert", "syslog-tls-key",
               "syslog-tls-skip-verify"},
    "gelf": {"gelf-address", "gelf-compression-type", "tag", "labels", "env"},
    "fluentd": {"fluentd-address", "fluentd-async", "tag", "labels", "env"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("value", "driver", "address"),
    [
        ("", "json-file", "json-file"),
        ("json-file", "json-file", "json-file"),
        ("local", "local", "local"),
        ("syslog+tcp://logs.example", "syslog", "syslog tcp://logs.example:514"),
        ("syslog+udp://10.0.0.5:5514", "syslog", "syslog udp://10.0.0.5:5514"),
        ("syslog+tls://logs.example", "syslog", "syslog tcp+tls://logs.example:6514"),
        ("gelf://graylog:12201", "gelf", "gelf udp://graylog:12201"),
        ("gelf+tcp://graylog", "gelf", "gelf tcp://graylog:12201"),
        ("fluentd://fluent-bit", "fluentd", "fluentd fluent-bit:24224"),
    ],
)
def test_each_target_names_a_driver_and_its_receiver(value, driver, address):
    target = parse_log_target(value)
    assert target.driver == driver
    assert target.describe() == address


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("syslog://logs:514", "not a known target"),
        ("loki://logs:3100", "not a known target"),
        ("syslog+tcp://logs:99999", "port is not a number"),
        ("syslog+tcp://logs:514/path", "expected syslog+tcp://HOST[:PORT]"),
        ("gelf://", "expected gelf://HOST[:PORT]"),
    ],
)
def test_a_bad_target_is_refused_with_the_reason(value, reason):
    with pytest.raises(LogTargetError, match=reason.replace("[", r"\[").replace("+", r"\+")):
        parse_log_target(value)


@pytest.mark.parametrize(
    "value", ["json-file", "local", "syslog+tcp://h", "syslog+tls://h", "gelf://h", "fluentd://h"]
)
def test_every_driver_gets_only_options_it_accepts_and_never_blocks(value):
    target = parse_log_target(value)
    options = target.options()
    assert options["mode"] == "non-blocking" and options["max-buffer-size"]
    assert set(options) - {"mode", "max-buffer-size"} <= ACCEPTED[target.driver]


def test_remote_lines_carry_the_service_and_the_release():
    for value in ("syslog+udp://h", "gelf://h"):
        assert parse_log_target(value).options()["tag"] == TAG
    assert "com.docker.swarm.service.name" in TAG and "{{.Name}}" in TAG  # swarm or Compose
    assert "$" not in TAG  # Compose would read it as a variable
    assert "org.opencontainers.image.version" in TAG  # djship's release label
    assert parse_log_target("fluentd://h").options()["tag"].startswith("{{.Hostname}}.")


def test_only_tcp_receivers_of_syslog_and_gelf_must_answer_at_start():
    wait = {v: parse_log_target(v).needs_receiver_at_start for v in (
        "syslog+tcp://h", "syslog+tls://h", "gelf+tcp://h", "syslog+udp://h", "gelf://h",
        "fluentd://h", "local")}  # fmt: skip
    assert [v for v, needed in wait.items() if needed] == [
        "syslog+tcp://h",
        "syslog+tls://h",
        "gelf+tcp://h",
    ]


@pytest.fixture
def project(tmp_path) -> Project:
    for path, text in render_project(options_for()).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / ".env").write_text((tmp_path / ".env.example").read_text())
    return Project(tmp_path)


def set_target(project: Project, value: str) -> Project:
    env = project.root / ".env"
    env.write_text(set_value(env.read_text(), "LOG_TARGET", value))
    return Project(project.root)  # .env is read once per Project


@pytest.fixture
def receiver():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def override(project: Project) -> dict:
    return yaml.safe_load((project.root / "environments/prod/logging.yaml").read_text())


def test_the_default_writes_no_override_and_compose_uses_the_environment_files(project):
    assert apply_log_target(project, "prod", None).driver == "json-file"
    assert not (project.root / "environments/prod/logging.yaml").exists()
    assert project.compose_files("prod") == ["compose.yaml", "environments/prod/compose.yaml"]


def test_a_remote_target_becomes_an_override_for_every_service(project, receiver):
    project = set_target(project, f"syslog+tcp://127.0.0.1:{receiver}")
    assert apply_log_target(project, "prod", None).driver == "syslog"
    data = override(project)
    assert set(data["services"]) == {"web", "proxy", "db"}
    logging = data["services"]["web"]["logging"]
    assert logging["driver"] == "syslog"
    assert logging["options"]["syslog-address"] == f"tcp://127.0.0.1:{receiver}"
    assert project.compose_files("prod")[-1] == "environments/prod/logging.yaml"

    # Back to the default: djship's file goes, nothing else of the environment changes.
    project = set_target(project, "json-file")
    apply_log_target(project, "prod", None)
    assert not (project.root / "environments/prod/logging.yaml").exists()


def test_dev_is_never_shipped(project, receiver):
    project = set_target(project, f"syslog+tcp://127.0.0.1:{receiver}")
    assert apply_log_target(project, "dev", None).driver == "json-file"
    assert not (project.root / "environments/dev/logging.yaml").exists()


def test_a_tcp_receiver_down_at_start_falls_back_to_local_logs_and_says_so(project, capsys):
    from djship.console import Output

    project = set_target(project, f"syslog+tcp://127.0.0.1:{free_port()}")
    assert apply_log_target(project, "prod", Output(plain=True)).driver == "local"
    assert override(project)["services"]["web"]["logging"]["driver"] == "local"
    assert "did not answer" in capsys.readouterr().err
    text = (project.root / "environments/prod/logging.yaml").read_text()
    assert "did not answer" in text  # the file says why too


def test_a_udp_target_needs_no_receiver_at_start(project):
    project = set_target(project, f"syslog+udp://127.0.0.1:{free_port()}")
    assert apply_log_target(project, "prod", None).driver == "syslog"


def test_a_users_own_logging_file_is_left_alone(project, receiver):
    path = project.root / "environments/prod/logging.yaml"
    path.write_text("# mine\nservices: {}\n")
    project = set_target(project, f"syslog+tcp://127.0.0.1:{receiver}")
    apply_log_target(project, "prod", None)
    assert path.read_text() == "# mine\nservices: {}\n"


def test_a_bad_target_names_its_env_line(project):
    project = set_target(project, "syslog://logs")
    with pytest.raises(DjshipError) as caught:
        apply_log_target(project, "prod", None)
    line = next(
        n for n, text in enumerate((project.root / ".env").read_text().splitlines(), 1)
        if text.startswith("LOG_TARGET=")
    )  # fmt: skip
    assert caught.value.message.startswith(f".env, line {line}: LOG_TARGET=syslog://logs")


def test_unchanged_target_rewrites_nothing(project, receiver):
    project = set_target(project, f"gelf://127.0.0.1:{receiver}")
    apply_log_target(project, "prod", None)
    path = project.root / "environments/prod/logging.yaml"
    before = path.stat().st_mtime_ns
    apply_log_target(project, "prod", None)
    assert path.stat().st_mtime_ns == before
    assert LogTarget().driver == "json-file"
