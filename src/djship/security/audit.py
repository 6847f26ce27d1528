"""`djship audit`: gathers what the deciding modules judge, and assembles the report.

The host and its engine always; the live release's image when run in a project (or the
image named with --image): its pending OS security updates, its base image's age, and its
Python dependencies against an advisory source.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from djship.console import Output
from djship.engine.compose import WEB_SERVICE, Compose
from djship.engine.docker import Docker
from djship.engine.runner import capture, last_lines, stream
from djship.engine.running import compose_config
from djship.errors import DjshipError
from djship.project.layout import Project
from djship.security import host, images, python_advisories
from djship.security.report import Report
from djship.security.vulnerabilities import load_table
from djship.shipping.deploy import events
from djship.shipping.ledger import live_version, released
from djship.shipping.release import local_image, prod_image
from djship.shipping.targets import ledger_for, shipping_environment, target_name

BASE_IMAGE_ARG = "PYTHON_IMAGE"
BASE_NAME_LABEL = "org.opencontainers.image.base.name"  # set by some builders
REASON_CHARS = 200


@dataclass(frozen=True)
class AuditedImage:
    name: str
    base: str  # the base image's name, "" when unknown
    what: str  # "live release 1a2b3c4d5e6f", "image given with --image"


def audit(
    out: Output,
    project: Project | None,
    *,
    image: str | None = None,
    environment: str | None = None,
    target: str | None = None,
    host_only: bool = False,
) -> Report:
    docker = Docker()
    table = load_table()
    report = Report(reviewed=table.reviewed.isoformat())
    out.step("Reading the engine and its machine")
    facts = host.gather(docker)
    found = host.machine(facts)
    report.facts.update(host.engine_facts(facts, found))
    report.extend(host.table_findings(table, images.now_utc().date()))
    vulnerable, checks = host.host_vulnerabilities(table, facts)
    report.extend(vulnerable)
    report.checks.extend(checks)
    report.extend(host.engine_settings(facts))
    report.findings.append(host.machine_finding(found))
    if host_only:
        report.facts["image"] = "not audited (--host-only)"
        return report
    chosen = choose_image(project, image, environment, target, docker, out)
    if chosen is None:
        report.facts["image"] = (
            "not audited (no release: `djship release` and `djship deploy` make one)"
            if project
            else "not audited (no project here; --image IMAGE audits one)"
        )
        return report
    audit_image(report, chosen, docker, out)
    return report


def choose_image(
    project: Project | None,
    image: str | None,
    environment: str | None,
    target: str | None,
    docker: Docker,
    out: Output,
) -> AuditedImage | None:
    base = base_image(project, environment) if project else ""
    if image:
        return AuditedImage(image, base, "image given with --image")
    if project is None:
        return None
    history = events(ledger_for(project, target_name(project, target)))
    live = live_version(history)
    if live:
        name = local_image(project.name, live)
        if capture(docker.image_id(name), check=False).returncode != 0:
            remote = released(history)[live].details.get("image", "")
            if not remote or remote == name:
                raise DjshipError(f"this engine has no image of the live release {live} ({name})")
            out.step(f"Pulling {remote}")
            stream(docker.pull(remote), what=f"pulling {remote} (is REGISTRY reachable?)")
            name = remote
        return AuditedImage(name, base, f"live release {live}")
    prod = prod_image(project.name)
    if capture(docker.image_id(prod), check=False).returncode == 0:
        return AuditedImage(prod, base, "no live release: the image `up --env prod` built")
    return None


def base_image(project: Project, environment: str | None) -> str:
    """The web image's base: the PYTHON_IMAGE build argument of the shipping environment."""
    compose = Compose(project, shipping_environment(project, environment))
    service = compose_config(compose).get("services", {}).get(WEB_SERVICE, {})
    return ((service.get("build") or {}).get("args") or {}).get(BASE_IMAGE_ARG, "")


def audit_image(report: Report, chosen: AuditedImage, docker: Docker, out: Output) -> None:
    subject = f"image {chosen.name}"
    inspected = capture(docker.inspect("image", chosen.name), check=False)
    if inspected.returncode != 0:
        raise DjshipError(f"no image {chosen.name} on this engine")
    release = images.ImageFacts.from_inspect(inspected.stdout)
    report.facts["image"] = f"{chosen.name} ({chosen.what})"

    base_name = chosen.base or release.labels.get(BASE_NAME_LABEL, "")
    base = None
    if base_name:
        found = capture(docker.inspect("image", base_name), check=False)
        base = images.ImageFacts.from_inspect(found.stdout) if found.returncode == 0 else None
    findings, fact = images.base_findings(subject, base_name, release, base, images.now_utc())
    report.facts["base image"] = fact
    report.extend(findings)
    base_packages = None
    if base is not None and images.built_on(release, base):
        listed = capture(images.packages_command(base_name, docker), check=False)
        base_packages = set(images.parse_packages(listed.stdout) or {}) or None

    out.step(f"Asking the distribution's security repository about {chosen.name}")
    run = capture(images.security_updates_command(chosen.name, docker), check=False)
    updates = images.parse_security_updates(run.stdout + run.stderr, run.returncode)
    report.facts["image os"] = updates.os or "unknown"
    report.extend(images.update_findings(subject, updates, base_name, base_packages))

    out.step(f"Checking the Python dependencies of {chosen.name} against advisories")
    findings, fact = python_findings(subject, chosen.name, docker)
    report.facts["python advisories"] = fact
    report.extend(findings)


def python_findings(subject: str, image: str, docker: Docker) -> tuple[list, str]:
    """Findings on the image's Python dependencies, and the fact line saying what was
    checked against which source."""
    findings, best = python_audit(subject, image, docker)
    if best is None or not best.audited:
        return findings, "not checked (no advisory source answered)"
    total = len(best.audited) + len(best.skipped)
    return findings, f"{len(best.audited)} of {total} distributions checked against {best.service}"


def python_audit(
    subject: str, image: str, docker: Docker
) -> tuple[list, python_advisories.AuditResult | None]:
    listed = capture(python_advisories.distributions_command(image, docker), check=False)
    distributions = python_advisories.parse_distributions(listed.stdout)
    if not distributions:
        reason = f"the image's Python did not list its packages: {last_lines(listed.stderr, 2)}"
        return python_advisories.advisory_findings(subject, None, [reason]), None
    tool = python_advisories.audit_tool(shutil.which)
    if tool is None:
        reason = "neither pip-audit nor uvx is installed here"
        return python_advisories.advisory_findings(subject, None, [reason]), None
    tried, best = [], None
    with tempfile.TemporaryDirectory(prefix="djship-audit-") as folder:
        path = Path(folder) / "requirements.txt"
        path.write_text(python_advisories.requirements(distributions), encoding="utf-8")
        for service in python_advisories.SERVICES:
            command = python_advisories.pip_audit_command(tool, str(path), service)
            try:
                run = capture(command, check=False)
            except DjshipError as error:
                tried.append(f"{' '.join(tool)}: {error.message}")
                break
            result = python_advisories.parse_pip_audit(run.stdout, service)
            if result is None:
                reason = last_lines(run.stderr, 1)[:REASON_CHARS]
                tried.append(f"pip-audit ({service}) failed: {reason}")
                continue
            if best is None or len(result.audited) > len(best.audited):
                best = result
            if not result.skipped:
                break
            example = result.skipped[0][1]
            tried.append(
                f"pip-audit ({service}) looked up {len(result.audited)} of "
                f"{len(result.audited) + len(result.skipped)} dependencies ({example})"
            )
    return python_advisories.advisory_findings(subject, best, tried), best
