"""Reading and editing `.env`, the one file that holds what varies between deployments.

The same file is read by Compose, passed into containers with `env_file`, and read by djship,
so djship accepts only the syntax on which they all agree: `KEY=value`, no quotes, no
`export`, no spaces around `=`. Anything else is refused with the line number and the reason,
because a quote silently reaching the application is the classic trap of this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from djship.errors import DjshipError

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INLINE_COMMENT = re.compile(r"\s+#.*$")


class EnvFileError(DjshipError):
    """A line of a .env file that djship (and, often, Compose) would misread."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(
            f"{source}, line {line}: {reason}",
            hint="Each line is KEY=value, without quotes or spaces around '=' (see .env.example).",
        )
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class EnvEntry:
    """One KEY=value line and where it stands, for messages that name the line."""

    key: str
    value: str
    line: int


def parse_env(text: str, source: str = ".env") -> dict[str, EnvEntry]:
    """Every entry of a .env text, keyed by name; raises EnvFileError on the first bad line."""
    entries: dict[str, EnvEntry] = {}
    if text.startswith("\ufeff"):
        raise EnvFileError(
            source,
            1,
            "the file starts with a byte-order mark (an editor's UTF-8 'BOM'): "
            "save it as UTF-8 without one (`djship doctor --fix` removes it)",
        )
    for number, raw in enumerate(text.splitlines(), start=1):
        entry = _parse_line(raw, number, source)
        if entry is None:
            continue
        if entry.key in entries:
            first = entries[entry.key].line
            raise EnvFileError(source, number, f"{entry.key} is already set on line {first}")
        entries[entry.key] = entry
    return entries


def _parse_line(raw: str, number: int, source: str) -> EnvEntry | None:
    line = raw.rstrip("\r")
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if stripped.startswith("export "):
        raise EnvFileError(source, number, "'export' is shell syntax; write KEY=value")
    if "=" not in line:
        raise EnvFileError(source, number, f"expected KEY=value, found {stripped!r}")
    key, value = line.split("=", 1)
    if key != key.strip() or (value and value[0].isspace()):
        raise EnvFileError(source, number, f"no spaces around '=' (in {key.strip()}=...)")
    if not KEY_PATTERN.fullmatch(key):
        raise EnvFileError(source, number, f"{key!r} is not a valid variable name")
    value = INLINE_COMMENT.sub("", value).rstrip()
    if value[:1] in {'"', "'"}:
        raise EnvFileError(
            source,
            number,
            f"the value of {key} is quoted; remove the quotes "
            "(env_file passes them into the container as part of the value)",
        )
    return EnvEntry(key, value, number)


def read_env(path: Path) -> dict[str, str]:
    """The values of the .env file at `path` (validated), by key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DjshipError(
            f"{path} is missing",
            hint="Copy .env.example to .env and fill in the values.",
        ) from None
    except UnicodeDecodeError as error:
        raise DjshipError(f"{path} is not UTF-8 text ({error.reason})") from None
    return {key: entry.value for key, entry in parse_env(text, source=path.name).items()}


def set_value(text: str, key: str, value: str) -> str:
    """`text` with KEY set to `value`: the line replaced in place (comments kept), or appended."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.split("=", 1)[0] == key and "=" in line:
            ending = "\n" if line.endswith("\n") else ""
            lines[index] = f"{key}={value}{ending}"
            return "".join(lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines) + f"{key}={value}\n"


def compose_value(raw: str) -> str:
    """A .env value as Compose hands it to a container: `$$` is its escape for a literal `$`."""
    return raw.replace("$$", "$")
