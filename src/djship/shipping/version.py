"""Release versions: immutable names a release keeps from build to rollback.

A clean git checkout gives the commit (12 hex digits: what `git log --oneline` shows, with
room to stay unique). A dirty tree gets a `-dirty-<time>` marker, since two builds of one
commit with local edits differ. Outside git, the UTC build time. All are valid image tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from djship.engine.runner import Command, capture
from djship.errors import DjshipError

TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Source:
    """What the working tree says about itself: its commit and whether it has local edits."""

    commit: str | None  # None outside git
    dirty: bool = False


def decide_version(source: Source, now: datetime) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    if source.commit is None:
        return stamp
    short = source.commit[:12]
    return f"{short}-dirty-{stamp}" if source.dirty else short


def is_valid_version(text: str) -> bool:
    return bool(TAG_PATTERN.fullmatch(text))


def read_source(root: Path) -> Source:
    """The git commit of `root` and whether tracked or new files differ from it."""

    def git(*args: str):
        return capture(Command(["git", *args], cwd=root), check=False)

    try:
        head = git("rev-parse", "--verify", "HEAD")
    except DjshipError:  # git is not installed: no commit to name
        return Source(None)
    if head.returncode != 0:
        return Source(None)
    status = git("status", "--porcelain", "--untracked-files=normal")
    return Source(head.stdout.strip(), dirty=bool(status.stdout.strip()))
