"""LOG_TARGET on a real engine, with a real receiver (Debian's rsyslog, in a stand-in image):
a production release's web, proxy and db lines reach it tagged with the service, the release
and the host; the receiver stopping under load fails no request (lines are dropped, never
waited for) and lines flow again once it is back; a receiver down at start never stops a
container. Every driver's options are accepted by the engine itself."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass

import pytest
import requests

from djship.project.envfile import set_value
from djship.project.logtarget import parse_log_target
from tests.e2e.conftest import GeneratedProject, create_prod_project, free_port
from tests.e2e.load import Load
from tests.e2e.test_ship_host import PROD, commit, git, release

RECEIVED = "/var/log/remote/all.log"


@dataclass
class Receiver:
    """An rsyslog container on 127.0.0.1:port (TCP and UDP)."""

    name: str
    port: int

    def lines(self) -> list[str]:
        run = subprocess.run(
            ["docker", "exec", self.name, "cat", RECEIVED], capture_output=True, text=True
        )
        return run.stdout.splitlines()

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        """The first received line matching `pattern` (a regular expression)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines() if re.search(pattern, line)]
            if found:
                return found[0]
            time.sleep(0.5)
        tail = "\n".join(self.lines()[-15:])
        raise AssertionError(f"no line matching {pattern!r} in {timeout} s; last lines:\n{tail}")

    def docker(self, *args: str) -> None:
        subprocess.run(["docker", *args, self.name], check=True, capture_output=True)


@pytest.fixture(scope="module")
def receiver(image_env):
    port = free_port()
    receiver = Receiver(f"e2e-rsyslog-{uuid.uuid4().hex[:8]}", port)
    publish = [f"127.0.0.1:{port}:514/tcp", f"127.0.0.1:{port}:514/udp"]
    subprocess.run(
        ["docker", "run", "-d", "--name", receiver.name,
         *(arg for p in publish for arg in ("-p", p)), image_env["RSYSLOG_IMAGE"]],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        wait_until_listening(port)
        yield receiver
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", receiver.name], capture_output=True)


def wait_until_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"the receiver never listened on {port}")


@pytest.fixture(scope="module")
def shipped(image_env, receiver, tmp_path_factory):
    """A released and deployed production project whose LOG_TARGET is the receiver (TCP)."""
    base = tmp_path_factory.mktemp("logs")
    project = GeneratedProject(base / "e2e_logs", "e2e_logs", image_env)
    try:
        project = create_prod_project(base, image_env, "e2e_logs")
        set_target(project, f"syslog+tcp://127.0.0.1:{receiver.port}")
        git(project, "init", "-q")
        commit(project, "v1")
        project.version = release(project)
        project.djship("deploy", project.version, *PROD)
        yield project
    finally:
        project.teardown()
        from tests.e2e.test_ship_host import remove_releases

        remove_releases(project)


def set_target(project: GeneratedProject, value: str) -> None:
    env = project.root / ".env"
    env.write_text(set_value(env.read_text(), "LOG_TARGET", value))


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=10, verify=False)


def test_web_proxy_and_db_lines_reach_the_receiver_tagged(shipped, receiver):
    answer = get(shipped.url + f"?probe={uuid.uuid4().hex}")
    assert answer.status_code == 200
    request_id = answer.headers["X-Request-ID"]
    host = re.escape(socket.gethostname())
    name, version = re.escape(shipped.name), shipped.version
    # nginx's JSON line for that very request, tagged with its container.
    proxy = receiver.wait_for(rf"^{host} {name}-proxy-\d+ .*\"request_id\":\"{request_id}\"")
    assert '"status":200' in proxy
    # The web container's lines carry the release; PostgreSQL's came at its start.
    receiver.wait_for(rf"^{host} {name}-web-\d+@{version} ")
    receiver.wait_for(rf"^{host} {name}-db-\d+ .*database system is ready")
    # Dual logging: the engine's own copy still answers `docker logs` and `djship logs`.
    logs = shipped.djship("logs", *PROD, "--request", request_id)
    assert request_id in logs.stdout


def test_the_receiver_down_under_load_fails_no_request_and_only_drops_lines(shipped, receiver):
    run = uuid.uuid4().hex[:8]
    load = Load(shipped.url + f"?load={run}", threads=3, max_seconds=120)
    with load:
        time.sleep(3)
        receiver.docker("stop", "--time", "1")
        during = load.ok
        time.sleep(8)
        during = load.ok - during
        assert get(shipped.url).status_code == 200  # still serving
        receiver.docker("start")
        wait_until_listening(receiver.port)
        time.sleep(4)
    assert load.failed == 0, load.outcomes
    assert load.ok > 50 and during > 10

    # Lines flow again: a request made now arrives (the driver reconnects at its next line).
    after = uuid.uuid4().hex
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        get(shipped.url + f"?after={after}")
        if any(f"after={after}" in line for line in receiver.lines()):
            break
        time.sleep(1)
    else:
        raise AssertionError("no line arrived after the receiver came back")
    received = sum(f"load={run}" in line for line in receiver.lines())
    dropped = load.ok - received
    print(f"receiver away ~8 s: {load.ok} requests, {received} lines received, {dropped} dropped")
    assert 0 < received < load.ok  # lines from before and after; those in between are lost


def test_a_receiver_down_at_start_never_stops_a_container(shipped, receiver):
    receiver.docker("stop", "--time", "1")
    try:
        up = shipped.djship("up", *PROD, "--no-build")
        assert "did not answer" in up.stderr and "local" in up.stderr
        assert get(shipped.url).status_code == 200
        logging = (shipped.root / "environments/prod/logging.yaml").read_text()
        assert "driver: local" in logging
    finally:
        receiver.docker("start")
        wait_until_listening(receiver.port)
    # With the receiver back, the next start ships to it again.
    shipped.djship("up", *PROD, "--no-build")
    logging = (shipped.root / "environments/prod/logging.yaml").read_text()
    assert "driver: syslog" in logging
    marker = uuid.uuid4().hex
    get(shipped.url + f"?again={marker}")
    receiver.wait_for(f"again={marker}")


@pytest.mark.parametrize(
    "value",
    ["json-file", "local", "syslog+udp://127.0.0.1:{port}", "syslog+tcp://127.0.0.1:{port}",
     "gelf://127.0.0.1:{port}", "gelf+tcp://127.0.0.1:{port}", "fluentd://127.0.0.1:{port}"],
)  # fmt: skip
def test_the_engine_accepts_every_drivers_options(value, receiver, image_env):
    """What djship writes for each driver, handed to the real engine (20.10 refuses an option
    a driver does not know). TCP targets dial the rsyslog receiver, which accepts any TCP."""
    target = parse_log_target(value.format(port=receiver.port))
    options = [arg for k, v in target.options().items() for arg in ("--log-opt", f"{k}={v}")]
    run = subprocess.run(
        ["docker", "run", "--rm", "--log-driver", target.driver, *options,
         image_env["PYTHON_IMAGE"], "echo", "hello"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "hello"  # dual logging: the client still reads the output
