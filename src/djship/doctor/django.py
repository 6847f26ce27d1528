"""Django's own deployment checklist (`manage.py check --deploy`), run in the production
image with the production settings, read into doctor findings."""

from __future__ import annotations

import re

from djship.doctor.findings import ERROR, NOTE, WARNING, Finding

CHECK_ARGV = ["python", "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"]
# "?: (security.W004) You have not set a value for the SECURE_HSTS_SECONDS setting."
MESSAGE = re.compile(r"^(?P<obj>[^:]*): \((?P<id>[a-z_.]+\.(?P<level>[EWIC])\d+)\) (?P<text>.+)$")
LEVELS = {"C": ERROR, "E": ERROR, "W": WARNING, "I": NOTE}
DOCS = "https://docs.djangoproject.com/en/stable/ref/checks/"


def parse_check(output: str, where: str) -> list[Finding]:
    findings, lines = [], output.splitlines()
    for index, line in enumerate(lines):
        match = MESSAGE.match(line.strip())
        if not match:
            continue
        hint = lines[index + 1].strip() if index + 1 < len(lines) else ""
        fix = hint.removeprefix("HINT: ") if hint.startswith("HINT:") else f"See {DOCS}"
        findings.append(
            Finding(
                f"django-{match['id']}", LEVELS[match["level"]], where, 0, match["text"],
                f"Django's deployment checklist ({match['id']}), in the production image",
                fix,
            )
        )  # fmt: skip
    return findings


def not_checked(where: str, reason: str) -> Finding:
    return Finding(
        "django-deploy-not-checked",
        NOTE,
        where,
        0,
        "Django's deployment checks did not run",
        reason,
        "Build the production image (`djship build --env prod`), then run doctor again.",
    )
