"""Dockerfile, uWSGI and Django settings checks: what the write-up learned the hard way
(no supervisord in a container, MIME types for uWSGI's static files, %k under a CPU limit,
a drain on SIGTERM) and the usual image mistakes (compilers and caches in the final stage,
root, no healthcheck). Pure functions over file texts."""

from __future__ import annotations

import re

from djship.doctor.findings import NOTE, WARNING, Finding

COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cargo|rustc|[a-z0-9.+-]+-dev)\b")
MIME_PACKAGES = re.compile(r"\b(media-types|mime-support|mailcap)\b")
SUPERVISOR = re.compile(r"\bsupervisor(d)?\b")
DEBUG_ON = re.compile(r"^[ \t]*DEBUG[ \t]*=[ \t]*True\b", re.MULTILINE)


def final_stage(text: str) -> tuple[int, list[str]]:
    """The first line number and the lines of the Dockerfile's last stage."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"^\s*FROM\s", line, re.IGNORECASE)]
    start = starts[-1] if starts else 0
    return start + 1, lines[start:]


def check_dockerfile(text: str, path: str, has_compose_healthcheck: bool) -> list[Finding]:
    first, lines = final_stage(text)
    findings = []

    def at(offset: int, rule, severity, message, why, fix) -> Finding:
        return Finding(rule, severity, path, first + offset, message, why, fix)

    for offset, line in enumerate(lines):
        if re.search(r"\b(apt-get|apk)\b.*\binstall\b|\bapk add\b", line) and COMPILERS.search(
            line
        ):
            findings.append(at(
                offset, "docker-compiler-in-final-stage", WARNING,
                f"the final stage installs {COMPILERS.search(line).group(1)}",
                "compilers and -dev packages make the image bigger and give an intruder tools",
                "Build in a first stage (FROM ... AS build) and copy only the results.",
            ))  # fmt: skip
        if (
            re.search(r"\bpip3? install\b", line)
            and "--no-cache-dir" not in line
            and ("--mount=type=cache" not in " ".join(lines[max(0, offset - 2) : offset + 1]))
        ):
            findings.append(at(
                offset, "docker-pip-cache", NOTE, "pip keeps its download cache in the image",
                "tens of megabytes of wheels nobody uses at run time",
                "pip install --no-cache-dir, or RUN --mount=type=cache,target=/root/.cache.",
            ))  # fmt: skip
        if SUPERVISOR.search(line) and re.search(r"install|apk add", line):
            findings.append(at(
                offset, "docker-supervisord", WARNING, "supervisord is installed in the image",
                "the engine (restart policies) and uWSGI's master already restart what dies; a "
                "supervisor inside hides crashes from them and breaks signals",
                "One process per container: uWSGI with `master = true`, restart: unless-stopped.",
            ))  # fmt: skip
    users = [line.split(None, 1)[1].strip() for line in lines if re.match(r"^\s*USER\s", line)]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        findings.append(at(
            0, "docker-root", WARNING, "the final stage runs as root",
            "a flaw in the app becomes root in the container, closer to the host",
            "Create a user and end with USER 10001:10001 (numeric: orchestrators can check it).",
        ))  # fmt: skip
    healthcheck = any(re.match(r"^\s*HEALTHCHECK\s", line) for line in lines)
    if not has_compose_healthcheck and not healthcheck:
        findings.append(at(
            0, "docker-no-healthcheck", NOTE, "no HEALTHCHECK",
            "Docker cannot tell a container that runs from one that serves",
            "HEALTHCHECK CMD on an endpoint that checks the database (or one in Compose).",
        ))  # fmt: skip
    return findings


def ini_options(text: str) -> list[tuple[int, str, str]]:
    """(line, key, value) of the [uwsgi] section."""
    options, inside = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.lower() == "[uwsgi]"
            continue
        if inside and "=" in stripped and not stripped.startswith((";", "#")):
            key, value = stripped.split("=", 1)
            options.append((number, key.strip(), value.strip()))
    return options


def check_uwsgi(text: str, path: str, cpu_limited: bool, mime_types: bool) -> list[Finding]:
    options = ini_options(text)
    keys = {key: (number, value) for number, key, value in options}

    def at(key, rule, severity, message, why, fix) -> Finding:
        return Finding(rule, severity, path, keys.get(key, (0, ""))[0], message, why, fix)

    findings = []
    if keys.get("master", (0, "false"))[1].lower() not in ("true", "1", "yes", "on"):
        findings.append(at(
            "master", "uwsgi-no-master", WARNING, "no master process",
            "nothing respawns a worker that dies, and graceful reloads are not possible",
            "master = true",
        ))  # fmt: skip
    hooks = " ".join(value for _, key, value in options if key.startswith("hook-"))
    if "die-on-term" in keys and "gracefully_kill_them_all" not in hooks:
        findings.append(at(
            "die-on-term", "uwsgi-die-on-term", WARNING, "die-on-term stops without draining",
            "`docker stop` then cuts the requests in flight",
            "hook-master-start = unix_signal:15 gracefully_kill_them_all (instead).",
        ))  # fmt: skip
    processes = keys.get("processes") or keys.get("workers")
    if processes and "%k" in processes[1] and cpu_limited:
        findings.append(at(
            "processes" if "processes" in keys else "workers", "uwsgi-percent-k", WARNING,
            "the worker count uses %k under a CPU limit",
            "%k counts the host's cores, not the container's limit: too many workers fight "
            "for a slice of CPU",
            "Compute it from the cgroup quota at start (djship's start-uwsgi.sh does).",
        ))  # fmt: skip
    if "static-map" in keys and not mime_types:
        findings.append(at(
            "static-map", "uwsgi-static-no-mime", WARNING,
            "uWSGI serves static files but the image installs no MIME types",
            "without /etc/mime.types uWSGI sends CSS and JS with no Content-Type: browsers "
            "refuse them (slim images lack the file)",
            "Install media-types (Debian) or mailcap (Alpine) in the final stage.",
        ))  # fmt: skip
    if "harakiri" not in keys:
        findings.append(at(
            "harakiri", "uwsgi-no-harakiri", WARNING, "no harakiri",
            "a request stuck on a dead backend holds its worker forever",
            "harakiri = 60 (and a stop grace period above it).",
        ))  # fmt: skip
    if processes and "cheaper" not in keys and "%" not in processes[1] and "$(" not in processes[1]:
        findings.append(at(
            "processes" if "processes" in keys else "workers", "uwsgi-fixed-workers", NOTE,
            f"a fixed worker count ({processes[1]})",
            "the same count on every machine, whatever its CPU and load",
            "Size from the CPU limit and let the cheaper subsystem adapt (cheaper-algo).",
        ))  # fmt: skip
    return findings


def check_settings(text: str, path: str) -> list[Finding]:
    match = DEBUG_ON.search(text)
    if not match:
        return []
    line = text[: match.start()].count("\n") + 1
    return [Finding(
        "django-debug-on", WARNING, path, line, "DEBUG is hard-coded to True",
        "tracebacks with settings and local variables reach any visitor in production",
        "DEBUG = os.environ.get('DJANGO_DEBUG') == '1' (or a production settings module).",
    )]  # fmt: skip


def installs_mime_types(dockerfile: str) -> bool:
    _, lines = final_stage(dockerfile)
    return any(MIME_PACKAGES.search(line) for line in lines)
