"""Where the containers' logs go: LOG_TARGET in .env, decided here as plain data.

LOG_TARGET names one of Docker's own logging drivers and its receiver; djship turns it into
a Compose override file, `environments/<env>/logging.yaml`, applied to every service of the
environment. Docker then ships the lines itself, and since engine 20.10 it keeps a local
copy too ("dual logging"): `docker logs` and `djship logs` work with any driver.

    json-file (default)           rotated files on the host (the environment's own setting)
    local                         Docker's compact local format, rotated
    syslog+tcp://HOST[:514]       syslog, RFC 5424 with microseconds; syslog+udp://, and
    syslog+tls://HOST[:6514]      syslog over TLS (the host's CAs check the receiver)
    gelf://HOST[:12201]           Graylog's GELF over UDP; gelf+tcp:// over TCP
    fluentd://HOST[:24224]        Fluentd or Fluent Bit's forward protocol

Every driver writes in non-blocking mode: a line goes to a 4 MB buffer and the app never
waits for the receiver (a full buffer drops lines instead). Each line is tagged with the
service, and the release for the web service: `<container or swarm service>@<version>`;
syslog and GELF carry the engine's host name (the node), the fluentd tag starts with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from djship.errors import DjshipError

VARIABLE = "LOG_TARGET"
# The first line of a file djship wrote: one without it is the user's and is never touched.
WRITTEN_BY = "# Written by djship from LOG_TARGET in .env"
DEFAULT_DRIVER = "json-file"
BUFFER = "4m"
ROTATION = {"max-size": "10m", "max-file": "5"}
# The service (Compose's container name, or the swarm service's), then the release when the
# image is a djship release. Docker fills it in per container; Compose leaves `{{` alone
# (but not `$`: none here, `with ... else` keeps the container as dot).
TAG = (
    '{{with index .ContainerLabels "com.docker.swarm.service.name"}}{{.}}{{else}}{{.Name}}'
    '{{end}}{{with index .ContainerLabels "org.opencontainers.image.version"}}@{{.}}{{end}}'
)
VERSION_LABEL = "org.opencontainers.image.version"

# scheme -> (driver, transport, default port)
SCHEMES = {
    "syslog+tcp": ("syslog", "tcp", 514),
    "syslog+udp": ("syslog", "udp", 514),
    "syslog+tls": ("syslog", "tls", 6514),
    "gelf": ("gelf", "udp", 12201),
    "gelf+udp": ("gelf", "udp", 12201),
    "gelf+tcp": ("gelf", "tcp", 12201),
    "fluentd": ("fluentd", "tcp", 24224),
}
PLAIN = ("json-file", "local")


class LogTargetError(DjshipError):
    """A LOG_TARGET value djship cannot turn into a logging driver."""


@dataclass(frozen=True)
class LogTarget:
    """A logging driver and, for a remote one, the receiver it talks to."""

    driver: str = DEFAULT_DRIVER
    transport: str = ""  # tcp, udp or tls; "" for the local drivers
    host: str = ""
    port: int = 0

    @property
    def remote(self) -> bool:
        return bool(self.host)

    @property
    def needs_receiver_at_start(self) -> bool:
        """Docker dials these when it creates a container, and refuses to start it when the
        receiver does not answer (moby #21966); UDP and fluentd's async mode do not dial."""
        return self.driver in ("syslog", "gelf") and self.transport in ("tcp", "tls")

    @property
    def address(self) -> str:
        if self.driver == "fluentd":
            return f"{self.host}:{self.port}"
        scheme = "tcp+tls" if self.transport == "tls" else self.transport
        return f"{scheme}://{self.host}:{self.port}"

    def describe(self) -> str:
        return f"{self.driver} {self.address}" if self.remote else self.driver

    def options(self) -> dict[str, str]:
        """The driver's --log-opt values: only those it accepts (Docker refuses the rest)."""
        options = {"mode": "non-blocking", "max-buffer-size": BUFFER}
        if self.driver in PLAIN:
            return options | ROTATION
        options[f"{self.driver}-address"] = self.address
        options["tag"] = TAG if self.driver != "fluentd" else "{{.Hostname}}." + TAG
        if self.driver == "syslog":
            options["syslog-format"] = "rfc5424micro"
        else:  # GELF and fluentd records take labels as fields of their own
            options["labels"] = VERSION_LABEL
        if self.driver == "fluentd":
            options["fluentd-async"] = "true"  # connects in the background: never blocks a start
        return options


def parse_log_target(value: str) -> LogTarget:
    """LOG_TARGET's value as a LogTarget; an empty value is the default (json-file)."""
    value = value.strip()
    if not value or value in PLAIN:
        return LogTarget(value or DEFAULT_DRIVER)
    parts = urlsplit(value)
    if parts.scheme not in SCHEMES:
        known = ", ".join([*PLAIN, *(f"{scheme}://HOST:PORT" for scheme in SCHEMES)])
        raise LogTargetError(f"{VARIABLE}={value}: not a known target (one of: {known})")
    driver, transport, default_port = SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise LogTargetError(
            f"{VARIABLE}={value}: the port is not a number from 1 to 65535"
        ) from None
    if not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise LogTargetError(f"{VARIABLE}={value}: expected {parts.scheme}://HOST[:PORT]")
    return LogTarget(driver, transport, parts.hostname, port)


def override_text(target: LogTarget, services: list[str], reason: str = "") -> str:
    """The Compose override that sends every service's logs to `target`. Compose replaces a
    service's logging options wholesale when the driver changes, so the environment's own
    json-file options (max-size...) never reach a driver that would refuse them."""
    lines = [
        f"{WRITTEN_BY} ({target.describe()}); djship rewrites it, so edit",
        "# LOG_TARGET rather than this file. Plain `docker compose` reads it too once COMPOSE_FILE",
        "# in .env ends with :environments/<env>/logging.yaml.",
    ]
    if reason:
        lines.append(f"# {reason}")
    lines += ["", "x-logging: &logging", f"  driver: {target.driver}", "  options:"]
    lines += [f"    {key}: {json.dumps(value)}" for key, value in target.options().items()]
    lines += ["", "services:"]
    for service in services:
        lines += [f"  {service}:", "    logging: *logging"]
    return "\n".join(lines) + "\n"


def is_ours(text: str) -> bool:
    return text.startswith(WRITTEN_BY)
