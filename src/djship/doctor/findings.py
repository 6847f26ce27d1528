"""What `djship doctor` reports: findings with a place, a reason and a fix, and their three
renderings (for people, JSON, SARIF 2.1.0 for code-scanning tools). Pure data."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

ERROR, WARNING, NOTE = "error", "warning", "note"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, NOTE: 2}
EXIT_CODES = {ERROR: 2, WARNING: 1, NOTE: 0}  # the worst finding decides; none: 0
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


@dataclass(frozen=True)
class Finding:
    rule: str  # a stable id, such as env-quoted-value
    severity: str
    file: str  # relative to the project
    line: int  # 1-based; 0 when the whole file is concerned
    message: str  # what is wrong
    why: str  # why it matters
    fix: str  # how to fix it

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.file, f.line, f.rule))


def exit_code(findings: list[Finding]) -> int:
    return max((EXIT_CODES[f.severity] for f in findings), default=0)


def as_text(findings: list[Finding]) -> str:
    if not findings:
        return "No finding: this setup follows every rule djship checks."
    blocks = [
        f"{f.place}: {f.severity} [{f.rule}] {f.message}\n  why: {f.why}\n  fix: {f.fix}"
        for f in sort_findings(findings)
    ]
    counts = {s: sum(f.severity == s for f in findings) for s in (ERROR, WARNING, NOTE)}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
    return "\n".join(blocks) + f"\n{summary}"


def as_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(f) for f in sort_findings(findings)], indent=2)


def as_sarif(findings: list[Finding], version: str) -> str:
    """SARIF 2.1.0, the format GitHub code scanning and most CI tools read."""
    rules = sorted({f.rule: f for f in findings}.values(), key=lambda f: f.rule)
    run = {
        "tool": {
            "driver": {
                "name": "djship doctor",
                "version": version,
                "informationUri": "https://pypi.org/project/djship/",
                "rules": [
                    {"id": f.rule, "shortDescription": {"text": f.why}, "help": {"text": f.fix}}
                    for f in rules
                ],
            }
        },
        "results": [sarif_result(f) for f in sort_findings(findings)],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def sarif_result(finding: Finding) -> dict:
    location = {"artifactLocation": {"uri": finding.file}}
    if finding.line:
        location["region"] = {"startLine": finding.line}
    return {
        "ruleId": finding.rule,
        "level": finding.severity,
        "message": {"text": f"{finding.message}. {finding.fix}"},
        "locations": [{"physicalLocation": location}],
    }
