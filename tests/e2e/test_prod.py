"""The production stack on a real engine: static files, TLS, headers, logs, hardening, a real
browser, and uWSGI under load and faults. One prod project serves the whole session
(conftest.py's `prod`, shared with test_tls.py)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import urllib3

from djship.shipping.hotfix import STATS_SCRIPT, worker_pids
from tests.e2e.conftest import EXTRA_STATIC, GeneratedProject, run_in_image
from tests.e2e.load import Load

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
PROD = ("--env", "prod")

EXPECTED_TYPES = {
    "style.css": ("text/css",),
    "app.js": ("text/javascript", "application/javascript"),
    "logo.svg": ("image/svg+xml",),
    "font.woff2": ("font/woff2",),
    "data.json": ("application/json",),
    "pixel.png": ("image/png",),
}


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=15, verify=False, **kwargs)


def prod_compose(project: GeneratedProject, *args: str, check: bool = True):
    return project.compose(*args, env_name="prod", check=check)


def container_id(project: GeneratedProject, service: str) -> str:
    return prod_compose(project, "ps", "-q", service).stdout.strip()


def web_stdout(project: GeneratedProject) -> list[str]:
    result = subprocess.run(
        ["docker", "logs", container_id(project, "web")], capture_output=True, text=True
    )
    return [line for line in result.stdout.splitlines() if line.strip()]


def request_lines(project: GeneratedProject) -> list[dict]:
    """uWSGI's request lines (not its own messages, nor Django's, which also name the URL)."""
    parsed = [json.loads(line) for line in web_stdout(project)]
    return [entry for entry in parsed if entry.get("log") == "request"]


def uwsgi_processes(project: GeneratedProject) -> list[tuple[int, int]]:
    """(pid, ppid) on the host of every uWSGI process of the web container."""
    top = subprocess.run(
        ["docker", "top", container_id(project, "web"), "-eo", "pid,ppid,args"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[1:]
    rows = [line.split(None, 2) for line in top]
    return [(int(pid), int(ppid)) for pid, ppid, args in rows if "uwsgi" in args]


def pid_in_container(host_pid: int) -> int:
    """A process's pid inside its container (the last NSpid field)."""
    status = Path(f"/proc/{host_pid}/status").read_text()
    return int(re.search(r"^NSpid:.*?(\d+)$", status, re.MULTILINE).group(1))


def workers(project: GeneratedProject) -> list[int]:
    """Host pids of the serving uWSGI workers, as the stats server lists them: the master's
    other child, the HTTP router, is no worker."""
    stats = prod_compose(project, "exec", "-T", "web", "python", "-c", STATS_SCRIPT).stdout
    inside = worker_pids(json.loads(stats))
    return sorted(pid for pid, _ in uwsgi_processes(project) if pid_in_container(pid) in inside)


def manifest(project: GeneratedProject) -> dict[str, str]:
    return get(project.url + "static/staticfiles.json").json()["paths"]


# --- static files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_static_files_have_their_type_and_cache_headers(prod, name):
    hashed = manifest(prod)[f"welcome/{name}"]
    response = get(prod.url + "static/" + hashed)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] in EXPECTED_TYPES[name]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    assert "Expires" in response.headers
    if name in EXTRA_STATIC:
        assert response.content == EXTRA_STATIC[name]
    plain = get(prod.url + f"static/welcome/{name}")
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "public, no-cache"


def test_the_proxy_keeps_only_immutable_answers(prod):
    """Hashed static files are served from nginx's cache after the first request, byte for
    byte the same as uWSGI's; pages and unhashed files always reach uWSGI."""
    hashed = prod.url + "static/" + manifest(prod)["welcome/style.css"]
    first, second = get(hashed), get(hashed)
    assert second.headers["X-Cache-Status"] == "HIT"
    assert first.headers.get("X-Cache-Status") in {"MISS", "HIT"}  # another test may be first
    assert second.content == first.content and second.headers["Content-Type"].startswith("text/css")
    assert "immutable" in second.headers["Cache-Control"]
    for url in (prod.url, prod.url + "static/welcome/style.css"):
        get(url)
        assert get(url).headers["X-Cache-Status"] == "MISS", url


def test_a_missing_static_file_is_a_404_not_a_500(prod):
    response = get(prod.url + "static/welcome/missing.css")
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("Cache-Control", "")


# --- TLS, proxy headers, security headers ------------------------------------------------


def test_http_redirects_to_https_and_https_carries_hsts(prod):
    redirect = requests.get(prod.http_url, allow_redirects=False, timeout=10)
    assert redirect.status_code == 301
    assert redirect.headers["Location"] == prod.url  # to the published HTTPS port
    page = get(prod.url)
    assert page.status_code == 200
    assert "max-age=63072000" in page.headers["Strict-Transport-Security"]  # 2 years (Mozilla)
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_the_proxy_overwrites_forwarded_headers(prod):
    probe = uuid.uuid4().hex
    spoofed = {
        "X-Forwarded-For": "6.6.6.6",
        "X-Forwarded-Proto": "http",
        "X-Forwarded-SSL": "off",
        "X-Request-ID": "spoofed",
    }
    # uWSGI logs the requests worth a look (errors, slow ones): ask for a missing page.
    response = get(prod.url + f"missing-{probe}", headers=spoofed, allow_redirects=False)
    # X-Forwarded-Proto: http reaching Django would have made it redirect to HTTPS.
    assert response.status_code == 404
    line = next(entry for entry in request_lines(prod) if probe in entry["uri"])
    assert line["client"] != "6.6.6.6" and line["request_id"] != "spoofed"
    assert len(line["request_id"]) == 32


def test_the_proxy_logs_every_request_as_json_with_the_apps_request_id(prod):
    probe = uuid.uuid4().hex
    assert get(prod.url + f"?probe={probe}").status_code == 200
    assert get(prod.url + f"missing-{probe}").status_code == 404
    time.sleep(2)  # nginx writes its log in batches, at least once a second
    logs = subprocess.run(
        ["docker", "logs", container_id(prod, "proxy")], capture_output=True, text=True
    ).stdout
    access = [json.loads(line) for line in logs.splitlines() if probe in line]
    assert {entry["status"] for entry in access} == {200, 404}
    assert all(entry["log"] == "access" and len(entry["request_id"]) == 32 for entry in access)
    missing = next(entry for entry in access if entry["status"] == 404)
    app = next(entry for entry in request_lines(prod) if probe in entry["uri"])
    assert app["request_id"] == missing["request_id"]

    # `djship logs --request` follows it through nginx, uWSGI and Django (whose warning
    # names the request too: request_id.py), in time order.
    request_id = missing["request_id"]
    followed = prod.djship("logs", *PROD, "--request", request_id).stdout
    tags = [line.split()[1] for line in followed.splitlines()]
    assert sorted(tags) == ["proxy-1", "web-1", "web-1"], followed
    assert f"WARNING django.request request_id={request_id} Not Found: /missing-" in followed
    as_json = prod.djship("logs", *PROD, "--request", request_id, "--json").stdout
    records = [json.loads(line) for line in as_json.splitlines()]
    assert {r["service"] for r in records} == {"proxy", "web"}
    assert [r["time"] for r in records] == sorted(r["time"] for r in records)
    assert all(r["fields"].get("request_id", request_id) == request_id for r in records)
    grep = prod.djship("logs", *PROD, "web", "--grep", f"missing-{probe}").stdout
    assert grep and all(line.split()[1] == "web-1" for line in grep.splitlines())


def raw_get(url: str, target: str) -> int:
    """GET with the request target sent as is (HTTP libraries would percent-encode a quote)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            tls.sendall(
                f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            return int(tls.recv(64).split()[1])


def test_request_logs_are_one_json_object_per_line_even_with_quotes(prod):
    probe = uuid.uuid4().hex
    assert raw_get(prod.url, f"/?probe={probe}") == 200
    assert raw_get(prod.url, f"/missing?probe={probe}") == 404
    assert raw_get(prod.url, f'/static/welcome/style.css?q="{probe}') == 400
    assert raw_get(prod.url, f'/a"{probe}\\x') == 400
    time.sleep(1)
    lines = web_stdout(prod)
    parsed = [json.loads(line) for line in lines]  # every stdout line is valid JSON
    # uWSGI logs the 404, not the 200 (nginx logs every request): a line per request there too
    # would cost a fifth of the throughput.
    assert any(probe in entry.get("uri", "") and entry["status"] == 404 for entry in parsed)
    assert not any(probe in entry.get("uri", "") and entry["status"] == 200 for entry in parsed)
    refused = [e for e in parsed if "400 Bad Request: invalid character" in e.get("message", "")]
    assert len(refused) >= 2
    requests_logged = [entry for entry in parsed if entry.get("log") == "request"]
    fields = {"method", "uri", "status", "duration_ms", "client", "request_id"}
    assert requests_logged and all(fields <= entry.keys() for entry in requests_logged)
    assert any(entry.get("log") == "uwsgi" for entry in parsed)  # uWSGI's own lines, wrapped


# --- the image and the containers ---------------------------------------------------------


def test_containers_are_locked_down(prod):
    web = container_id(prod, "web")
    script = (
        "id -u; (touch /probe 2>/dev/null && echo writable) || echo read-only; "
        "grep NoNewPrivs /proc/1/status; grep CapEff /proc/1/status; "
        "command -v gcc cc make || echo no-compiler"
    )
    out = subprocess.run(
        ["docker", "exec", web, "sh", "-c", script], capture_output=True, text=True, check=True
    ).stdout
    uid, rootfs, nonewprivs, capeff, compiler = out.strip().splitlines()
    assert uid != "0" and rootfs == "read-only"
    assert nonewprivs.split() == ["NoNewPrivs:", "1"]
    assert capeff.split()[1] == "0000000000000000"
    assert compiler == "no-compiler"


def test_no_secret_or_env_file_in_the_image(prod):
    image = "e2e_prod-web:prod"
    assert run_in_image(image, "test ! -e /app/.env && test ! -e /app/.git").returncode == 0
    secret = env_values(prod)["DJANGO_SECRET_KEY"]
    history = subprocess.run(
        ["docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True
    ).stdout
    config = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, text=True, check=True
    ).stdout
    assert secret not in history and secret not in config
    assert (
        "lock-tool"
        not in subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "ls", image, "/opt"],
            capture_output=True,
            text=True,
        ).stdout
    )


def image_layers(image: str) -> list[str]:
    return json.loads(
        subprocess.run(
            ["docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", image],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip


def test_a_code_change_rebuilds_only_the_code_layer(prod):
    """What a registry push after a one-line change uploads: one layer, not the venv."""
    image = "e2e_prod-web:prod"
    views = prod.root / "welcome" / "views.py"
    original = views.read_text()
    before = image_layers(image)
    try:
        views.write_text(original + "\n# a one-line change\n")
        prod_compose(prod, "build", "web")
        after = image_layers(image)
    finally:
        views.write_text(original)
        prod_compose(prod, "build", "web")
    assert len(after) == len(before)
    assert sum(old != new for old, new in zip(before, after, strict=True)) == 1


def env_values(project: GeneratedProject) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in (project.root / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )


def test_no_container_shows_a_secret_in_docker_inspect(prod):
    values = env_values(prod)
    secrets = [values["DJANGO_SECRET_KEY"], values["POSTGRES_PASSWORD"]]
    for service in ("web", "proxy", "db"):
        inspect = subprocess.run(
            ["docker", "inspect", container_id(prod, service)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert not [secret for secret in secrets if secret in inspect], service
    # ...and yet the app has them: Django signs with the key, the database accepts the password.
    assert get(prod.url + "healthz").status_code == 200
    mounted = subprocess.run(
        ["docker", "exec", container_id(prod, "web"), "cat", "/run/secrets/django_secret_key"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert mounted == values["DJANGO_SECRET_KEY"]


def test_only_the_proxy_publishes_ports(prod):
    for service, published in (("proxy", True), ("web", False), ("db", False)):
        ports = subprocess.run(
            ["docker", "port", container_id(prod, service)], capture_output=True, text=True
        ).stdout.strip()
        assert bool(ports) is published, (service, ports)


# Accepted by design: base images are pinned by tag in .env (pin digests there for
# production). Secrets are files, so the rule on credentials in environment values is quiet.
ACCEPTED_LINT_RULES = {"CL-0019"}


def test_compose_lint_finds_nothing_else_in_the_resolved_prod_stack(prod, tmp_path):
    resolved = tmp_path / "compose.yaml"
    resolved.write_text(prod_compose(prod, "config").stdout)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "compose-lint"),
            "check",
            "--format",
            "json",
            "--no-env",
            str(resolved),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    findings = {finding["rule_id"] for finding in json.loads(result.stdout)["findings"]}
    assert findings <= ACCEPTED_LINT_RULES, findings


def test_doctor_finds_nothing_in_the_built_prod_stack(prod):
    """Every doctor rule, Django's deployment checklist in the built image included."""
    result = prod.djship("doctor", "--env", "prod", "--json")
    assert json.loads(result.stdout) == []


def test_django_deploy_checks_pass(prod):
    result = prod.djship("manage", *PROD, "check", "--deploy", "--fail-level", "WARNING")
    assert "no issues" in result.stdout + result.stderr


# --- a real browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--ignore-certificate-errors",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_a_browser_gets_styled_pages_without_console_errors(prod, browser):
    browser.get(prod.url)
    color = browser.execute_script(
        "return getComputedStyle(document.getElementById('headline')).color"
    )
    assert color == "rgb(12, 75, 51)"  # #0c4b33 from welcome/style.css
    assert browser.execute_script("return document.querySelector('img.logo').naturalWidth") > 0
    assert console_errors(browser) == []
    browser.get(prod.url + "admin/login/")
    primary = browser.execute_script(
        "return getComputedStyle(document.documentElement).getPropertyValue('--primary')"
    )
    assert primary.strip()  # the admin's stylesheet is applied
    assert console_errors(browser) == []


# --- uWSGI under load and faults ----------------------------------------------------------


def web_address(project: GeneratedProject) -> str:
    """The web container's address on the project's network (port 8000 is not published)."""
    out = subprocess.run(
        [
            "docker",
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
            container_id(project, "web"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()[0]


def test_port_8000_keeps_connections_open_and_sends_files_at_once(prod):
    """uWSGI's HTTP router: a client (load balancer, ingress, nginx on a swarm) keeps its
    connection between pages and files; a file arrives at once (without TCP_NODELAY on the
    router's connections, its body waited ~40 ms for the client's acknowledgement: Nagle)."""
    connection = http.client.HTTPConnection(web_address(prod), 8000, timeout=10)
    headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
    css = "/static/" + manifest(prod)["welcome/style.css"]
    timings, sockets = [], set()
    try:
        for path in ["/"] * 3 + [css] * 10:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            timings.append(time.perf_counter() - started)
            assert answer.status == 200 and body, path
            assert not answer.will_close, path  # the same connection serves the next request
            sockets.add(id(connection.sock))
    finally:
        connection.close()
    assert len(sockets) == 1  # one connection throughout
    files = sorted(timings[3:])
    assert files[len(files) // 2] < 0.025, timings  # no 40 ms wait for an acknowledgement


def test_a_killed_worker_is_respawned_and_only_its_request_fails(prod):
    before = workers(prod)
    assert before
    with Load(prod.url) as load:
        time.sleep(3)
        subprocess.run(["kill", "-9", str(before[0])], check=True)
        time.sleep(4)
    assert load.ok > 50
    assert load.failed <= 1, load.outcomes
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(workers(prod)) < len(before):
        time.sleep(0.5)
    after = workers(prod)
    assert len(after) >= len(before) and before[0] not in after


def test_a_hotfix_reload_under_load_fails_no_request(prod):
    views = prod.root / "welcome" / "views.py"
    views.write_text(views.read_text().replace("is up and running", "was hotfixed"))
    with Load(prod.url) as load:
        time.sleep(2)
        reload = prod.djship("reload", *PROD)
        # It returns once every worker (up to 4 with 2 CPUs) runs the new code: from then
        # on, every answer is the hotfix's, not only the first.
        assert re.search(r"all \d+ workers run the new code", reload.stderr), reload.stderr
        answers = [get(prod.url).text for _ in range(20)]
        time.sleep(2)
    assert all("was hotfixed" in text for text in answers)
    assert load.ok > 50
    assert load.failed == 0, load.outcomes


def test_worker_count_follows_the_cpu_limit(prod):
    def restart_web_with(cpus: str) -> list[int]:
        env = prod.root / ".env"
        env.write_text(
            "\n".join(
                line if not line.startswith("WEB_CPUS=") else f"WEB_CPUS={cpus}"
                for line in env.read_text().splitlines()
            )
            + "\n"
        )
        prod.djship("up", *PROD)
        time.sleep(2)
        return workers(prod)

    assert len(restart_web_with("1")) == 2  # 2 per CPU, the pool started full
    logs = subprocess.run(
        ["docker", "logs", container_id(prod, "web")], capture_output=True, text=True
    ).stderr
    assert "start-uwsgi: 1 CPU(s) usable; workers 1..2, 2 at start" in logs
    assert "a worker over 341 MB is recycled" in logs  # WEB_MEMORY=1g over 2 workers + master
    assert len(restart_web_with("2")) == 4


def test_a_full_reload_reexecutes_the_venv_python(prod):
    """SIGHUP re-executes uWSGI: with pyuwsgi in a venv this needs binary-path (known trap)."""
    web = container_id(prod, "web")
    subprocess.run(["docker", "kill", "-s", "HUP", web], check=True, capture_output=True)
    time.sleep(3)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and get(prod.url).status_code != 200:
        time.sleep(0.5)
    assert get(prod.url).status_code == 200
    logs = subprocess.run(["docker", "logs", web], capture_output=True, text=True).stdout
    assert "No module named" not in logs
    assert "gracefully (RE)spawned uWSGI master process" in logs


def test_tls_can_be_handed_to_an_upstream_balancer(prod):
    env = prod.root / ".env"
    original = env.read_text()
    env.write_text(original.replace("TLS_TERMINATION=proxy", "TLS_TERMINATION=upstream"))
    try:
        prod.djship("up", *PROD)
        behind_balancer = requests.get(
            prod.http_url, headers={"X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=10
        )
        assert behind_balancer.status_code == 200
        assert "Strict-Transport-Security" in behind_balancer.headers
        direct = requests.get(prod.http_url, allow_redirects=False, timeout=10)
        assert direct.status_code == 301  # Django's SSL redirect: the client used plain HTTP
    finally:
        env.write_text(original)
        prod.djship("up", *PROD)


def test_docker_stop_lets_in_flight_requests_finish(prod):
    result: dict[str, object] = {}

    def slow_request() -> None:
        try:
            response = get(prod.url + "slow/?seconds=4")
            result["status"], result["body"] = response.status_code, response.text
        except requests.RequestException as error:
            result["error"] = repr(error)

    request = threading.Thread(target=slow_request)
    request.start()
    time.sleep(1.5)
    started = time.monotonic()
    prod_compose(prod, "stop", "web")
    stopped_after = time.monotonic() - started
    request.join(timeout=30)
    assert result.get("status") == 200 and result.get("body") == "slow done", result
    assert stopped_after < 60  # drained, not killed at the grace period's end
    prod.djship("up", *PROD)
