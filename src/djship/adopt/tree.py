"""The project's files as detection sees them: relative paths and their texts, read-only.

Detection works on a Tree rather than on the disk, so every decision is a pure function of
file texts (unit tests build a Tree from a dict). Nothing here imports or runs project code.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# Directories that never hold the project's own code or configuration.
SKIPPED_DIRS = {
    ".git", ".hg", ".svn", ".venv", "venv", "env", ".env", ".tox", ".nox", "node_modules",
    "__pycache__", "site-packages", "dist", "build", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", "htmlcov", "staticfiles", "media", "public",
}  # fmt: skip
MAX_DEPTH = 4  # manage.py deeper than this is not the project's
MAX_TEXT = 1_000_000  # bytes; a bigger file is not configuration


@dataclass
class Tree:
    """Files below a root. `files` maps a relative POSIX path to its text (None: not read
    yet, or not text). Built from a directory (texts read on demand) or from a dict."""

    files: dict[str, str | None]
    root: Path | None = None
    _texts: dict[str, str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, files: dict[str, str]) -> Tree:
        return cls(dict(files))

    @classmethod
    def from_dir(cls, root: Path) -> Tree:
        found: dict[str, str | None] = {}

        def walk(directory: Path, depth: int) -> None:
            try:
                entries = sorted(directory.iterdir())
            except OSError:
                return
            for entry in entries:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    if depth < MAX_DEPTH and entry.name not in SKIPPED_DIRS:
                        walk(entry, depth + 1)
                elif entry.is_file():
                    found[entry.relative_to(root).as_posix()] = None

        walk(root, 0)
        return cls(found, root)

    def exists(self, path: str) -> bool:
        path = _normal(path)
        return path in self.files or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        prefix = _normal(path).rstrip("/") + "/"
        return prefix == "/" or any(name.startswith(prefix) for name in self.files)

    def text(self, path: str) -> str | None:
        """The file's text, or None when it does not exist or is not UTF-8 text."""
        path = _normal(path)
        if path not in self.files:
            return None
        if self.files[path] is not None or self.root is None:
            return self.files[path]
        if path not in self._texts:
            self._texts[path] = _read(self.root / path)
        return self._texts[path]

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a shell pattern (`*` stops at `/`), sorted."""
        parts = len(PurePosixPath(pattern).parts)
        return sorted(
            name
            for name in self.files
            if len(PurePosixPath(name).parts) == parts and fnmatch.fnmatchcase(name, pattern)
        )

    def named(self, filename: str) -> list[str]:
        """Every path whose last component is `filename`, shallowest first."""
        matches = [name for name in self.files if PurePosixPath(name).name == filename]
        return sorted(matches, key=lambda name: (name.count("/"), name))


def _normal(path: str) -> str:
    return PurePosixPath(path).as_posix().removeprefix("./")


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_TEXT:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def join(directory: str, name: str) -> str:
    """`directory/name`, where "" is the root."""
    return f"{directory}/{name}" if directory else name


def parent(path: str) -> str:
    value = PurePosixPath(path).parent.as_posix()
    return "" if value == "." else value
