"""Database backups: PostgreSQL's custom format (`pg_dump -Fc`: compressed, restorable table
by table, with pg_restore), one file per backup in the project's `backups/` directory.

A backup's name says what it is: `<env>-<UTC time>-<release or "manual">.dump`, so that
`djship db backups` can list them without opening any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BACKUPS_DIR = "backups"
SUFFIX = ".dump"
NAME_PATTERN = re.compile(
    r"(?P<env>[A-Za-z0-9_-]+?)-(?P<stamp>\d{8}-\d{6})-(?P<label>[A-Za-z0-9_.-]+)\.dump"
)
# The db container's own variables: its local socket trusts its own user (no password).
DUMP_SCRIPT = 'exec pg_dump --format=custom --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"'
RESTORE_SCRIPT = (
    "exec pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error "
    '--username="$POSTGRES_USER" --dbname="$POSTGRES_DB"'
)


@dataclass(frozen=True)
class Backup:
    path: Path
    environment: str
    taken_at: datetime
    label: str  # the release it was taken before, or "manual"
    size: int


def backup_path(root: Path, environment: str, label: str, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return root / BACKUPS_DIR / f"{environment}-{stamp}-{label}{SUFFIX}"


def parse_backup(path: Path) -> Backup | None:
    match = NAME_PATTERN.fullmatch(path.name)
    if not match:
        return None
    taken = datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
    return Backup(path, match["env"], taken, match["label"], path.stat().st_size)


def list_backups(root: Path) -> list[Backup]:
    """The backups of the project, newest first (other files in the directory are ignored)."""
    directory = root / BACKUPS_DIR
    found = [parse_backup(path) for path in directory.glob(f"*{SUFFIX}")]
    return sorted((b for b in found if b), key=lambda b: b.taken_at, reverse=True)
