"""Reading the services' logs as one story: `docker compose logs --timestamps` lines parsed,
merged in time order, filtered (text, one request's id) and printed, each tagged with its
service. Plain functions over text, so they are tested without Docker."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# `web-1  | 2026-12-02T05:19:55.123456789Z the line` (Compose v2, --no-color --timestamps).
COMPOSE_LINE = re.compile(
    r"^(?P<container>[\w.-]+?)\s*\|\s(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s?(?P<text>.*)$"
)
REPLICA = re.compile(r"-\d+$")


@dataclass(frozen=True, order=True)
class LogLine:
    """One line of one container; ordered by time (RFC 3339 in UTC sorts as text once the
    fraction has a fixed width), then by container, as a stable tie-break."""

    time: str
    container: str
    text: str = field(compare=False)

    @property
    def service(self) -> str:
        return REPLICA.sub("", self.container)

    @property
    def fields(self) -> dict:
        """The line's JSON object (uWSGI's, nginx's access log), or {} for plain text."""
        if not self.text.startswith("{"):
            return {}
        try:
            value = json.loads(self.text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def parse(raw: str) -> LogLine | None:
    """A Compose log line, or None for what is not one (a blank line, a notice)."""
    match = COMPOSE_LINE.match(raw.rstrip("\n"))
    if match is None:
        return None
    seconds, _, fraction = match["time"][:-1].partition(".")
    stamp = f"{seconds}.{fraction.ljust(9, '0')[:9]}Z"
    return LogLine(stamp, match["container"], match["text"])


def parse_all(raw_lines: Iterable[str]) -> Iterator[LogLine]:
    for raw in raw_lines:
        line = parse(raw)
        if line is not None:
            yield line


def merged(raw_lines: Iterable[str]) -> list[LogLine]:
    """Every service's lines in one time order (Compose prints them service by service)."""
    return sorted(parse_all(raw_lines))


def matches(line: LogLine, grep: str = "", request: str = "") -> bool:
    """--grep: the text appears (any case); --request: the line belongs to that request
    (its JSON request_id, or the id in its text, as Django's own lines may carry it)."""
    if grep and grep.lower() not in line.text.lower():
        return False
    if request:
        identifier = line.fields.get("request_id")
        return identifier == request if identifier is not None else request in line.text
    return True


def render(line: LogLine, *, as_json: bool = False, width: int = 8) -> str:
    """A line for people (`time service | text`) or for tools (one JSON object)."""
    if as_json:
        record = {"time": line.time, "service": line.service, "container": line.container}
        fields = line.fields
        return json.dumps({**record, **({"fields": fields} if fields else {"text": line.text})})
    return f"{line.time[:23]}Z {line.container:<{width}} | {line.text}"
