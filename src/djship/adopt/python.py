"""The project's Python version, from the files that state one, and the image that matches.

Exact statements (.python-version, runtime.txt, .tool-versions, Pipfile's python_version, an
existing Dockerfile's FROM python:X.Y) win over ranges (requires-python, Poetry's python,
setup's python_requires); within a range the newest version djship knows is taken, capped by
what the locked Django supports. No statement at all is a question, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from djship.adopt.dependencies import (
    DJANGO_PYTHON,
    django_series,
    poetry_specifier,
    read_toml,
    setup_python_requires,
)
from djship.adopt.tree import Tree, join

# Versions with official python images, in the order a range prefers them: djship's
# default first, then older ones, the newest last (young releases lack wheels).
PREFERRED = ((3, 13), (3, 12), (3, 11), (3, 10), (3, 9), (3, 14))
VERSION = re.compile(r"(?<![\d.])(3)\.(\d{1,2})(?:\.\d+)?")


@dataclass(frozen=True)
class Statement:
    """A file's statement of the Python version."""

    where: str
    text: str
    exact: tuple[int, int] | None = None
    specifier: str | None = None


@dataclass(frozen=True)
class PythonChoice:
    version: tuple[int, int] | None
    reason: str
    conflicts: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.version[0]}.{self.version[1]}" if self.version else "?"


def parse_version(text: str) -> tuple[int, int] | None:
    match = VERSION.search(text)
    return (3, int(match.group(2))) if match else None


def statements(tree: Tree, directories: list[str]) -> list[Statement]:
    """Every statement of the Python version in `directories` (nearest first), exact first."""
    exact: list[Statement] = []
    ranges: list[Statement] = []
    for directory in directories:
        for name in (".python-version", "runtime.txt"):
            text = tree.text(join(directory, name))
            if text and text.strip():
                first = text.strip().splitlines()[0].strip()
                if parse_version(first):
                    exact.append(Statement(join(directory, name), first, parse_version(first)))
        text = tree.text(join(directory, ".tool-versions"))
        for line in (text or "").splitlines():
            if line.startswith("python ") and parse_version(line):
                exact.append(
                    Statement(join(directory, ".tool-versions"), line, parse_version(line))
                )
        requires = read_toml(tree, join(directory, "Pipfile")).get("requires", {})
        for key in ("python_full_version", "python_version"):
            value = requires.get(key)
            if isinstance(value, str) and parse_version(value):
                exact.append(
                    Statement(join(directory, "Pipfile"), f"{key} = {value}", parse_version(value))
                )
                break
        pyproject = read_toml(tree, join(directory, "pyproject.toml"))
        poetry_python = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
        poetry_python = poetry_python.get("python")
        if isinstance(poetry_python, str):
            spec = poetry_specifier(poetry_python)
            if spec is not None:
                ranges.append(
                    Statement(
                        join(directory, "pyproject.toml"),
                        f"python = {poetry_python!r}",
                        specifier=spec,
                    )
                )
        requires_python = pyproject.get("project", {}).get("requires-python")
        if isinstance(requires_python, str):
            ranges.append(
                Statement(
                    join(directory, "pyproject.toml"),
                    f"requires-python = {requires_python!r}",
                    specifier=requires_python,
                )
            )
        uv_lock = read_toml(tree, join(directory, "uv.lock")).get("requires-python")
        if isinstance(uv_lock, str) and not requires_python:
            ranges.append(
                Statement(
                    join(directory, "uv.lock"), f"requires-python = {uv_lock!r}", specifier=uv_lock
                )
            )
        setup = setup_python_requires(tree, directory)
        if setup:
            ranges.append(
                Statement(setup[1], f"python_requires = {setup[0]!r}", specifier=setup[0])
            )
        for dockerfile in tree.glob(join(directory, "Dockerfile*")):
            for line in (tree.text(dockerfile) or "").splitlines():
                match = re.match(r"\s*FROM\s+(?:\S*/)?python:(\S+)", line, re.IGNORECASE)
                if match and parse_version(match.group(1)):
                    exact.append(Statement(dockerfile, line.strip(), parse_version(match.group(1))))
                    break
    return exact + ranges


def choose_python(
    found: list[Statement], django: str | None, flag: str | None = None
) -> PythonChoice:
    """The version to build with, and why; version None when nothing states one."""
    cap = DJANGO_PYTHON.get(django_series(django)) if django else None
    cap_note = f", the newest Django {django} supports" if cap else ""
    specifiers = []
    for statement in found:
        if statement.specifier is not None:
            try:
                specifiers.append((statement, SpecifierSet(statement.specifier)))
            except InvalidSpecifier:
                continue
    if flag:
        version = parse_version(flag)
        if version is None:
            return PythonChoice(None, f"--python {flag}: not a Python 3 version")
        return PythonChoice(
            version, f"--python {flag}", _conflicts(version, specifiers, cap, django)
        )
    exact = [s for s in found if s.exact]
    if exact:
        chosen = exact[0]
        others = [s for s in exact[1:] if s.exact != chosen.exact]
        conflicts = _conflicts(chosen.exact, specifiers, cap, django) + tuple(
            f"{s.where} says {s.text}" for s in others
        )
        return PythonChoice(chosen.exact, f"{chosen.where}: {chosen.text}", conflicts)
    if specifiers:
        candidates = [v for v in PREFERRED if all(_allows(spec, v) for _, spec in specifiers)]
        capped = [v for v in candidates if cap is None or v <= cap]
        statement = ", ".join(f"{s.where}: {s.text}" for s, _ in specifiers)
        if capped:
            version = capped[0]
            limited = cap_note if candidates[0] != version else ""
            return PythonChoice(
                version,
                f"{statement}: {version[0]}.{version[1]} is the version djship prefers in "
                f"that range{limited}",
            )
        if candidates:
            version = candidates[0]
            return PythonChoice(
                version,
                f"{statement} allows {version[0]}.{version[1]}",
                (f"Django {django} supports Python up to {cap[0]}.{cap[1]} only",),
            )
        return PythonChoice(None, f"{statement} allows no Python djship knows")
    return PythonChoice(None, "no file states the Python version")


def _allows(specifier: SpecifierSet, version: tuple[int, int]) -> bool:
    return specifier.contains(f"{version[0]}.{version[1]}.0") or specifier.contains(
        f"{version[0]}.{version[1]}.99"
    )


def _conflicts(
    version: tuple[int, int], specifiers: list, cap: tuple[int, int] | None, django: str | None
) -> tuple[str, ...]:
    found = [
        f"{s.where} ({s.text}) does not allow {version[0]}.{version[1]}"
        for s, spec in specifiers
        if not _allows(spec, version)
    ]
    if cap and version > cap:
        found.append(f"Django {django} supports Python up to {cap[0]}.{cap[1]}")
    return tuple(found)


def python_image(version: tuple[int, int], base: str) -> str:
    flavour = "alpine" if base == "alpine" else "slim"
    return f"python:{version[0]}.{version[1]}-{flavour}"
