"""Compose checks, on the configuration as Compose resolves it (`docker compose config`:
every file merged, every variable filled in), so they hold for any project, made by djship
or not. A finding is placed on the line of the files that declares what it is about."""

from __future__ import annotations

import re
from dataclasses import dataclass

from djship.doctor.findings import ERROR, WARNING, Finding

DATABASES = "postgres|postgis|mysql|mariadb|mongo|redis|valkey"
DATABASE_IMAGES = re.compile(rf"(^|/)({DATABASES})([:@]|$)")
CREDENTIAL = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL")
ALL_INTERFACES = ("", "0.0.0.0", "::", None)


@dataclass(frozen=True)
class Sources:
    """The Compose files' texts, to find the line a finding is about."""

    texts: dict[str, str]  # relative path -> text

    def locate(self, service: str, key: str | None = None) -> tuple[str, int]:
        """The last file declaring `service` (an override wins), at `key` in its block when
        that file has it, else at the service's own line."""
        found = ("compose.yaml", 0)
        for path, text in self.texts.items():
            lines = text.splitlines()
            header = re.compile(rf"^\s+{re.escape(service)}:\s*(#.*)?$")
            start = next((i for i, line in enumerate(lines) if header.match(line)), None)
            if start is None:
                continue
            found = (path, start + 1)
            if key:
                for offset, line in enumerate(lines[start + 1 :], start=start + 2):
                    if re.match(r"^\s{0,2}\S", line):  # the next service, or a top-level key
                        break
                    if re.match(rf"^\s+-?\s*{re.escape(key)}\b", line.lstrip(" ")) or key in line:
                        found = (path, offset)
                        break
        return found


def check_compose(config: dict, environment: str, sources: Sources) -> list[Finding]:
    production = environment != "dev"
    findings = []
    for name, service in sorted(config.get("services", {}).items()):

        def at(key, rule, severity, message, why, fix, name=name):
            path, line = sources.locate(name, key)
            return Finding(rule, severity, path, line, f"{name}: {message}", why, fix)

        findings += service_findings(name, service, production, at)
    return findings


def service_findings(name: str, service: dict, production: bool, at) -> list[Finding]:
    findings = []
    if not service.get("healthcheck") or service["healthcheck"].get("disable"):
        findings.append(at(
            None, "compose-no-healthcheck", WARNING, "no healthcheck",
            "nothing tells Compose, Swarm or a depends_on condition that it actually serves",
            "Add a healthcheck (test, interval, timeout, retries, start_period).",
        ))  # fmt: skip
    for dependency, spec in sorted((service.get("depends_on") or {}).items()):
        if (spec or {}).get("condition", "service_started") == "service_started":
            findings.append(at(
                "depends_on", "compose-depends-started", WARNING,
                f"depends_on {dependency} waits only for it to start",
                "a started database does not accept connections yet: the first requests or "
                "migrations fail",
                f"depends_on: {{{dependency}: {{condition: service_healthy}}}} "
                f"(and a healthcheck on {dependency}).",
            ))  # fmt: skip
    findings += image_findings(service, at)
    findings += port_findings(service, at)
    if production:  # dev passes .env as it is, on purpose: quick to change
        findings += credential_findings(service, at)
        findings += production_findings(service, at)
    return findings


def image_findings(service: dict, at) -> list[Finding]:
    image = service.get("image", "")
    if not image or service.get("build"):
        return []
    name = image.rsplit("/", 1)[-1]
    if "@" in name or (":" in name and not name.endswith(":latest")):
        return []
    return [at(
        "image", "compose-image-latest", WARNING, f"image {image} has no version tag",
        "`latest` moves: two machines, or two pulls, run different code",
        "Pin a tag (postgres:17-alpine), or a digest for production.",
    )]  # fmt: skip


def port_findings(service: dict, at) -> list[Finding]:
    if not DATABASE_IMAGES.search(service.get("image", "")):
        return []
    return [
        at(
            "ports", "compose-database-port-public", ERROR,
            f"database port {port.get('published')} published on every interface",
            "anyone who reaches the machine can try passwords on the database",
            "Remove the port (containers reach it by name), or bind it to 127.0.0.1.",
        )
        for port in service.get("ports", [])
        if port.get("host_ip") in ALL_INTERFACES and port.get("published")
    ]  # fmt: skip


def credential_findings(service: dict, at) -> list[Finding]:
    return [
        at(
            key, "compose-secret-in-environment", WARNING,
            f"{key} is given as an environment value",
            "`docker inspect`, `docker compose config` and every process's /proc show it",
            f"Mount it as a secret file and read {key}_FILE (Compose `secrets:`).",
        )
        for key, value in sorted((service.get("environment") or {}).items())
        if CREDENTIAL.search(key) and not key.endswith("_FILE") and value
    ]  # fmt: skip


def production_findings(service: dict, at) -> list[Finding]:
    findings = []
    if service.get("restart", "no") == "no" and not (service.get("deploy") or {}).get(
        "restart_policy"
    ):
        findings.append(at(
            None, "compose-no-restart", WARNING, "no restart policy",
            "after a crash or a reboot of the machine, it stays down",
            "restart: unless-stopped",
        ))  # fmt: skip
    logging = service.get("logging") or {}
    driver = logging.get("driver", "json-file")
    if driver == "json-file" and "max-size" not in (logging.get("options") or {}):
        findings.append(at(
            "logging", "compose-no-log-rotation", WARNING, "logs are not rotated",
            "the json-file driver keeps every line: a chatty service fills the disk",
            'logging: {driver: json-file, options: {max-size: "10m", max-file: "5"}}',
        ))  # fmt: skip
    for volume in service.get("volumes", []):
        if volume.get("type") == "bind" and not looks_like_a_file(volume.get("source", "")):
            findings.append(at(
                "volumes", "compose-source-mount", WARNING,
                f"{volume.get('source')} is bind-mounted at {volume.get('target')}",
                "production runs the code of this checkout rather than the image's: "
                "what runs is not what was built and tested",
                "Bake the code into the image (COPY); mount single config files read-only.",
            ))  # fmt: skip
    return findings


def looks_like_a_file(source: str) -> bool:
    """A single file (a config, a certificate) rather than a directory of code."""
    return bool(re.search(r"\.[A-Za-z0-9]{1,12}$", source.rsplit("/", 1)[-1]))
