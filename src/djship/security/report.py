"""What `djship audit` reports: findings (what, where, why, the fix, and for a vulnerability
its CVE, the installed and the fixed version and the advisory), what was checked, and the
two renderings (text for people, JSON for CI). Severities and exit codes are `djship
doctor`'s: 0 nothing above a note, 1 warnings, 2 errors. Pure data.

Something that could not be checked (no advisory source answered, a kernel whose version
tells nothing) is a warning with status "not checked": never silently clean.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from djship.doctor.findings import ERROR, EXIT_CODES, NOTE, SEVERITY_ORDER, WARNING

AFFECTED = "affected"
MAY_BE_AFFECTED = "may be affected"
NOT_CHECKED = "not checked"
SETTING = "setting"
INFO = "info"
PENDING = "pending updates"
DETAIL_LINES = 20

__all__ = ["ERROR", "WARNING", "NOTE", "Finding", "Check", "Report"]


@dataclass(frozen=True)
class Finding:
    rule: str  # a CVE id, or a stable id such as engine-tcp-without-tls
    severity: str  # error, warning, note
    subject: str  # what is concerned: "runc 1.1.5+ds1-1+deb12u1", "engine", "image shop-web:1a2b"
    message: str  # what is wrong
    why: str  # why it matters
    fix: str  # how to fix it
    status: str = ""  # affected, may be affected, not checked, setting, pending updates, info
    installed: str = ""  # the installed version, for a vulnerability
    fixed: str = ""  # the fixed version(s), for a vulnerability
    source: str = ""  # the advisory or reference
    details: tuple[str, ...] = ()  # one line per item: "libssl3 3.0.11-1 -> 3.0.13-1"


@dataclass(frozen=True)
class Check:
    """One thing compared with the table (a component against its entries), for the record:
    what is fine is listed as well as what is not."""

    subject: str
    version: str
    results: dict[str, str] = field(default_factory=dict)  # CVE -> fixed, affected, ...


@dataclass
class Report:
    facts: dict[str, str] = field(default_factory=dict)  # engine, kernel, machine, image...
    findings: list[Finding] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    reviewed: str = ""  # the vulnerability table's review date

    def extend(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    @property
    def exit_code(self) -> int:
        return max((EXIT_CODES[f.severity] for f in self.findings), default=0)

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.subject, f.rule))


def as_json(report: Report) -> str:
    data = {
        "exit_code": report.exit_code,
        "table_reviewed": report.reviewed,
        "facts": report.facts,
        "findings": [asdict(f) for f in report.sorted_findings()],
        "checked": [asdict(c) for c in report.checks],
        "counts": counts(report),
    }
    return json.dumps(data, indent=2)


def counts(report: Report) -> dict[str, int]:
    return {s: sum(f.severity == s for f in report.findings) for s in (ERROR, WARNING, NOTE)}


def as_text(report: Report) -> str:
    lines = [f"{key}: {value}" for key, value in report.facts.items()]
    if report.checks:
        lines.append("checked:")
        for check in report.checks:
            results = ", ".join(f"{cve} {status}" for cve, status in check.results.items())
            lines.append(f"  {check.subject} {check.version}: {results or 'no entry applies'}")
    lines.append("")
    for f in report.sorted_findings():
        lines.append(f"{f.subject}: {f.severity} [{f.rule}] {f.message}")
        if f.installed or f.fixed:
            lines.append(f"  installed: {f.installed or '?'}; fixed in: {f.fixed or 'no fix yet'}")
        lines += [f"    {item}" for item in f.details[:DETAIL_LINES]]
        if len(f.details) > DETAIL_LINES:
            lines.append(f"    ... and {len(f.details) - DETAIL_LINES} more (--json lists all)")
        lines.append(f"  why: {f.why}")
        lines.append(f"  fix: {f.fix}")
        if f.source:
            lines.append(f"  see: {f.source}")
    total = counts(report)
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in total.items() if n)
    lines.append(summary or "No finding: everything djship checks is up to date.")
    return "\n".join(lines)
