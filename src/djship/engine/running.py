"""One project environment's running stack, as `up` and `build` see it: its resolved
configuration, the wait until every service is healthy, the URL it answers on, its image."""

from __future__ import annotations

import json
import time
from pathlib import Path

from djship.console import Output
from djship.engine.compose import Compose
from djship.engine.health import judge, parse_ps, services_with_healthcheck
from djship.engine.logtarget import apply_log_target
from djship.engine.preflight import check_port_settings
from djship.engine.runner import Command, capture, last_lines
from djship.errors import DjshipError
from djship.project.layout import DEFAULT_ENVIRONMENT
from djship.project.secrets import environment_secrets, write_secret_files
from djship.project.tls import check_tls_termination


def compose_config(compose: Compose) -> dict:
    """The resolved configuration; an invalid file is reported as such, with Compose's reason."""
    result = capture(compose.config_json(), check=False)
    if result.returncode != 0:
        files = compose.project.compose_files(compose.environment)
        broken = first_unparsable(compose.project.root, files)
        which = broken or f"the Compose files of environment {compose.environment!r}"
        verb = "is" if broken else "are"
        raise DjshipError(f"{which} {verb} invalid:\n" + last_lines(result.stderr))
    return json.loads(result.stdout)


def first_unparsable(root: Path, files: list[str]) -> str | None:
    """The first of `files` that is not YAML at all: Compose's "yaml: line 2: ..." does not
    say which file it read."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    for name in files:
        try:
            YAML(typ="safe").load((root / name).read_text(encoding="utf-8"))
        except (YAMLError, OSError, UnicodeDecodeError):
            return name
    return None


def prepare(compose: Compose, out: Output | None = None) -> dict:
    """The resolved configuration, once the files it reads are written from .env (the
    logging override, the secrets it mounts): what every command that creates containers
    needs first."""
    check_port_settings(compose.project)
    check_tls_termination(compose.project)
    apply_log_target(compose.project, compose.environment, out)
    config = compose_config(compose)
    write_secret_files(environment_secrets(compose.project, compose.environment, config))
    return config


def wait_until_healthy(
    compose: Compose,
    config: dict,
    timeout: int,
    output: Output,
    services: tuple[str, ...] = (),
) -> None:
    """Poll the containers until all (or `services`) are healthy; on failure show the broken
    ones' logs."""
    expected = set(services or config["services"])
    checked = services_with_healthcheck(config)
    deadline = time.monotonic() + timeout
    with output.status("Waiting for the services to be healthy") as line:
        while True:
            verdict = judge(parse_ps(capture(compose.ps_json()).stdout), expected, checked)
            line.update(f"Waiting for health: {verdict.summary}")
            if verdict.ready:
                return
            if verdict.failed or time.monotonic() > deadline:
                break
            time.sleep(1)
    reason = "failed" if verdict.failed else f"not healthy after {timeout} s"
    raise broken_services(compose, verdict.failed or sorted(expected), reason, verdict.summary)


def start_failure(compose: Compose, config: dict) -> DjshipError:
    """`up` itself failed (a dependency never became healthy, say): name what broke, show why."""
    expected, checked = set(config["services"]), services_with_healthcheck(config)
    states = parse_ps(capture(compose.ps_json(), check=False).stdout)
    verdict = judge(states, expected, checked)
    not_ready = sorted(
        s.service for s in states if s.service in expected and not s.ready(s.service in checked)
    )
    broken = verdict.failed or not_ready or sorted(expected)
    return broken_services(compose, broken, "did not start", verdict.summary)


def broken_services(compose: Compose, broken: list[str], reason: str, summary: str) -> DjshipError:
    """An error naming the broken services, with their last log lines."""
    logs = capture(compose.logs(tuple(broken), tail="25", timestamps=False), check=False).stdout
    return DjshipError(
        f"{', '.join(broken)} {reason} ({summary}).\nLast log lines:\n{logs.rstrip()}",
        hint="See everything with `djship logs SERVICE`.",
    )


def proxy_url(compose: Compose) -> str:
    """The address the proxy answers on: HTTPS where it terminates TLS, else HTTP."""
    https = compose.environment != DEFAULT_ENVIRONMENT and (
        compose.project.env.get("TLS_TERMINATION", "proxy") == "proxy"
    )
    scheme, port = ("https", 443) if https else ("http", 80)
    address = capture(compose.port(container_port=port), check=False).stdout.strip().splitlines()
    if not address:
        return f"{scheme}://127.0.0.1/"
    return f"{scheme}://{address[0].replace('0.0.0.0', '127.0.0.1')}/"


def image_size_suffix(image: str) -> str:
    """` (123 MB)` for a local image, or nothing when the engine does not know it."""
    result = capture(Command(["docker", "image", "inspect", "-f", "{{.Size}}", image]), check=False)
    value = result.stdout.strip()
    return f" ({int(value) / 1e6:.0f} MB)" if value.isdigit() else ""
