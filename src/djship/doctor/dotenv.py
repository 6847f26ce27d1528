"""`.env` checks: the one file that Compose (interpolation and `env_file`), `docker run
--env-file`, python-dotenv (Pipenv, many settings modules) and uWSGI's `for-readline` all
read, and read differently as soon as a line leaves plain `KEY=value`. The write-up's trap:
quotes that reach the application.

Unlike djship.project.envfile (which refuses the first bad line), this reads every line and
reports each problem, and `repair` fixes what has one safe meaning (BOM, line ends, spaces
around '=', quotes, a lone '$').
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from djship.doctor.findings import ERROR, NOTE, WARNING, Finding

BOM = "\ufeff"
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LONE_DOLLAR = re.compile(r"(?<!\$)\$(?=[A-Za-z_{])(?!\$)")
INLINE_COMMENT = re.compile(r"\s+#")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY|PRIVATE_KEY")


@dataclass(frozen=True)
class Line:
    number: int
    raw: str  # without its line end


def lines_of(text: str) -> Iterator[Line]:
    for number, raw in enumerate(text.removeprefix(BOM).split("\n"), start=1):
        yield Line(number, raw.rstrip("\r"))


def check_env(text: str, path: str = ".env") -> list[Finding]:
    findings = file_level(text, path)
    seen: dict[str, int] = {}
    for line in lines_of(text):
        stripped = line.raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        findings += check_line(line, path)
        key = stripped.removeprefix("export ").split("=", 1)[0].strip()
        if key in seen:
            findings.append(duplicate(path, line, key, seen[key]))
        else:
            seen[key] = line.number
    return findings


def file_level(text: str, path: str) -> list[Finding]:
    findings = []
    if text.startswith(BOM):
        findings.append(
            Finding(
                "env-bom", ERROR, path, 1, "the file starts with a byte-order mark",
                "Compose and docker read the first key as '\\ufeffKEY': that variable is lost",
                "Save the file as UTF-8 without BOM (`djship doctor --fix` removes it).",
            )
        )  # fmt: skip
    if "\r\n" in text:
        first = text[: text.index("\r\n")].count("\n") + 1
        findings.append(
            Finding(
                "env-crlf", WARNING, path, first, "Windows line ends (CRLF)",
                "`docker run --env-file` and uWSGI keep the \\r at the end of every value "
                "(a password that never matches); Compose and python-dotenv drop it",
                "Save with Unix line ends (`djship doctor --fix` converts them).",
            )
        )  # fmt: skip
    return findings


def check_line(line: Line, path: str) -> list[Finding]:
    raw = line.raw
    if raw.lstrip().startswith("export "):
        return [exported(path, line)] + check_line(Line(line.number, raw.lstrip()[7:]), path)
    if "=" not in raw:
        return [
            finding(
                "env-no-equals", ERROR, path, line, f"no '=' in {raw.strip()!r}",
                "Compose refuses the file; python-dotenv sets the name with no value",
                "Write KEY=value, or comment the line out with #.",
            )
        ]  # fmt: skip
    key, value = raw.split("=", 1)
    findings = []
    if key != key.strip() or value[:1].isspace():
        findings.append(
            finding(
                "env-spaces", ERROR, path, line, f"spaces around '=' in {raw.strip()!r}",
                "`docker run --env-file` reads the key with its space and the value with its "
                "leading one; Compose and python-dotenv strip them: one file, two settings",
                f"Write {key.strip()}={value.strip()}",
            )
        )  # fmt: skip
    if not KEY.fullmatch(key.strip()):
        findings.append(
            finding(
                "env-bad-key", ERROR, path, line, f"{key.strip()!r} is not a variable name",
                "shells, Compose and Django's os.environ cannot all address it",
                "Use letters, digits and underscores, not starting with a digit.",
            )
        )  # fmt: skip
    return findings + check_value(key.strip(), value.strip(), path, line)


def check_value(key: str, value: str, path: str, line: Line) -> list[Finding]:
    findings = []
    if value[:1] in {'"', "'"}:
        findings.append(
            finding(
                "env-quoted-value", WARNING, path, line, f"the value of {key} is quoted",
                "Compose and python-dotenv strip the quotes, but `docker run --env-file` and "
                "uWSGI pass them into the app as part of the value (the write-up's trap)",
                f"Write {key}={unquote(value)} (`djship doctor --fix` removes them).",
            )
        )  # fmt: skip
    elif INLINE_COMMENT.search(value):
        findings.append(
            finding(
                "env-inline-comment", WARNING, path, line, f"a comment after the value of {key}",
                "Compose and python-dotenv drop ' # ...', `docker run --env-file` and uWSGI "
                "keep it in the value",
                "Put the comment on a line of its own, above.",
            )
        )  # fmt: skip
    if LONE_DOLLAR.search(value):
        findings.append(
            finding(
                "env-dollar", WARNING, path, line, f"a '$' in the value of {key}",
                "Compose substitutes $NAME and ${NAME} with other variables (often empty); "
                "a password with a '$' silently changes",
                "Write a literal '$' as '$$' (`djship doctor --fix` does it).",
            )
        )  # fmt: skip
    elif "$$" in value:
        findings.append(
            finding(
                "env-double-dollar", NOTE, path, line, f"'$$' in the value of {key}",
                "Compose reads it as one '$'; python-dotenv (Pipenv, settings that load .env "
                "themselves) and `docker run --env-file` keep both",
                "Load the file through Compose only, or avoid '$' in this value.",
            )
        )  # fmt: skip
    if SECRET_NAME.search(key) and not value:
        findings.append(
            finding(
                "env-empty-secret", WARNING, path, line, f"{key} is empty",
                "an empty secret key or password is either refused or, worse, accepted",
                f"Set {key} to a long random value (python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))').",
            )
        )  # fmt: skip
    return findings


def finding(rule, severity, path, line: Line, message, why, fix) -> Finding:
    return Finding(rule, severity, path, line.number, message, why, fix)


def exported(path: str, line: Line) -> Finding:
    return finding(
        "env-export",
        WARNING,
        path,
        line,
        "'export' before the variable",
        "python-dotenv and Compose accept it, `docker run --env-file` and uWSGI read a "
        "variable named 'export KEY'",
        "Remove 'export ': the file is not a shell script.",
    )


def duplicate(path: str, line: Line, key: str, first: int) -> Finding:
    return finding(
        "env-duplicate",
        WARNING,
        path,
        line,
        f"{key} is set again (first on line {first})",
        "Compose keeps the last value, some tools the first: which one runs depends on who reads",
        f"Keep one {key} line.",
    )


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


# --- repairs ------------------------------------------------------------------------------


def repair(text: str) -> tuple[str, list[str]]:
    """The text with the safe repairs made (BOM, CRLF, quotes, lone '$'), and what changed."""
    changes = []
    if text.startswith(BOM):
        text = text.removeprefix(BOM)
        changes.append("removed the byte-order mark")
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
        changes.append("converted CRLF line ends to LF")
    out = []
    for line in text.split("\n"):
        fixed, what = repair_line(line)
        out.append(fixed)
        changes += what
    return "\n".join(out), changes


def repair_line(line: str) -> tuple[str, list[str]]:
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or "=" not in line:
        return line, []
    key, value = line.split("=", 1)
    changes = []
    if key != key.strip() or value[:1].isspace():
        key, value = key.strip(), value.strip()
        changes.append(f"{key}: removed the spaces around '='")
    if value[:1] in {'"', "'"} and unquote(value.strip()) != value.strip():
        value = unquote(value.strip())
        changes.append(f"{key.strip()}: removed the quotes")
    if LONE_DOLLAR.search(value):
        value = LONE_DOLLAR.sub("$$", value)
        changes.append(f"{key.strip()}: escaped '$' as '$$'")
    return (f"{key}={value}" if changes else line), changes
