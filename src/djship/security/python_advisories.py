"""Python dependencies of an image against an advisory source: the distributions installed
in the image (read from its own Python, whatever the lock tool) audited by pip-audit (on
PATH, else `uvx pip-audit`), asking PyPI's advisory data first, then OSV.

When no source answers (offline, a mirror without PyPI's JSON API), or pip-audit skips a
dependency it could not look up, the report says "not checked": pip-audit itself prints
"No known vulnerabilities found" in that case, which is not the same as none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from djship.engine.docker import Docker
from djship.engine.runner import Command
from djship.security.report import AFFECTED, ERROR, NOT_CHECKED, WARNING, Finding

SERVICES = ("pypi", "osv")
TIMEOUT_SECONDS = 20

DISTRIBUTIONS_SCRIPT = (
    "import importlib.metadata as m, json; "
    "print(json.dumps(sorted({(d.metadata['Name'], d.version) for d in m.distributions() "
    "if d.metadata['Name']})))"
)


def distributions_command(image: str, docker: Docker | None = None) -> Command:
    """The image's Python lists what it has installed (the venv on PATH): no network."""
    docker = docker or Docker()
    return docker.command(
        "run", "--rm", "--entrypoint", "python", "--network", "none", image,
        "-c", DISTRIBUTIONS_SCRIPT,
    )  # fmt: skip


def parse_distributions(text: str) -> list[tuple[str, str]] | None:
    try:
        return [(str(name), str(version)) for name, version in json.loads(text)]
    except (ValueError, TypeError):
        return None


def requirements(distributions: list[tuple[str, str]]) -> str:
    return "".join(f"{name}=={version}\n" for name, version in distributions)


def audit_tool(which: Callable[[str], str | None]) -> list[str] | None:
    """The pip-audit to run: one on PATH, else through uvx (downloaded from the index)."""
    if which("pip-audit"):
        return ["pip-audit"]
    if which("uvx"):
        return ["uvx", "pip-audit"]
    return None


def pip_audit_command(tool: list[str], requirements_file: str, service: str) -> Command:
    return Command(
        [
            *tool, "--requirement", requirements_file, "--no-deps", "--disable-pip",
            "--vulnerability-service", service, "--format", "json",
            "--progress-spinner", "off", "--timeout", str(TIMEOUT_SECONDS),
        ]
    )  # fmt: skip


@dataclass(frozen=True)
class Vulnerability:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class AuditResult:
    service: str
    audited: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...]  # (name, reason)
    vulnerabilities: tuple[Vulnerability, ...]


def parse_pip_audit(text: str, service: str) -> AuditResult | None:
    """pip-audit's JSON; None when it is not JSON (the tool failed before auditing)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "dependencies" not in data:
        return None
    audited, skipped, found = [], [], []
    for item in data["dependencies"]:
        name, version = item.get("name", "?"), item.get("version", "")
        if "skip_reason" in item:
            skipped.append((name, item["skip_reason"]))
            continue
        audited.append((name, version))
        for vuln in item.get("vulns") or []:
            found.append(
                Vulnerability(
                    package=name,
                    version=version,
                    id=vuln.get("id", "?"),
                    aliases=tuple(vuln.get("aliases") or []),
                    fix_versions=tuple(vuln.get("fix_versions") or []),
                    description=(vuln.get("description") or "").strip(),
                )
            )
    return AuditResult(service, tuple(audited), tuple(skipped), tuple(found))


def advisory_link(vuln: Vulnerability) -> str:
    return f"https://osv.dev/vulnerability/{vuln.id}"


def advisory_findings(subject: str, result: AuditResult | None, tried: list[str]) -> list[Finding]:
    """Findings for the image's Python dependencies. `result` is the best answer (None: no
    source answered at all); `tried` says what was attempted, for the not-checked case."""
    if result is None or not result.audited:
        reasons = "; ".join(tried) or "no advisory source was tried"
        return [
            Finding(
                rule="python-not-checked",
                severity=WARNING,
                subject=subject,
                message="Python dependencies: not checked (no advisory source answered)",
                why=f"{reasons}. Unknown is not clean: a dependency may carry a published "
                "vulnerability.",
                fix="Run the audit where PyPI's JSON API or osv.dev answers (pip-audit needs "
                "one), or install pip-audit and point it at a reachable mirror.",
                status=NOT_CHECKED,
            )
        ]
    findings = []
    if result.skipped:
        findings.append(
            Finding(
                rule="python-partly-checked",
                severity=WARNING,
                subject=subject,
                message=f"{len(result.skipped)} of {len(result.audited) + len(result.skipped)} "
                "Python dependencies not checked",
                why="The advisory source did not know them (a private package, or a mirror "
                "without them): nothing is known of their advisories.",
                fix="Check those with their publisher's advisories.",
                status=NOT_CHECKED,
                details=tuple(f"{name}: {reason}" for name, reason in result.skipped),
            )
        )
    for vuln in result.vulnerabilities:
        cves = [alias for alias in vuln.aliases if alias.startswith("CVE-")]
        name = cves[0] if cves else vuln.id
        fixed = ", ".join(vuln.fix_versions)
        findings.append(
            Finding(
                rule=name,
                severity=ERROR if vuln.fix_versions else WARNING,
                subject=subject,
                message=f"{vuln.package} {vuln.version} is affected by {vuln.id}"
                + (f" ({', '.join(cves)})" if cves else ""),
                why=(vuln.description.splitlines() or ["A published advisory."])[0][:300],
                fix=f"Upgrade {vuln.package} to {fixed} or later in the lock file, then release."
                if fixed
                else "No fixed version yet: check the advisory for a workaround.",
                status=AFFECTED,
                installed=vuln.version,
                fixed=fixed,
                source=advisory_link(vuln),
            )
        )
    return findings
