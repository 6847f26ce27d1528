"""How an adopted project's dependencies get into the images: with its own lock tool where
it has one (uv, Poetry, Pipenv), else with a lock djship keeps beside it
(environments/requirements.txt, hashed by `uv pip compile`); and what djship adds when the
project lacks uWSGI or a PostgreSQL driver, without editing the project's files. Then the
system packages the lock needs, for the project's Python."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from djship.adopt.dependencies import Dependencies, django_series, poetry_lock_packages
from djship.adopt.tree import Tree
from djship.dependencies.dockerfile import SystemPackages
from djship.dependencies.lockfiles import (
    Pinned,
    parse_pipfile_lock,
    parse_requirements,
    parse_uv_lock,
)
from djship.dependencies.platforms import TARGETS, Target
from djship.dependencies.sysdeps import analyse, load_knowledge
from djship.project.locking import TOOLS, UV_VERSION, LockTool

POETRY_VERSION = "2.5.1"
REQUIREMENTS_IN = "environments/requirements.in"
REQUIREMENTS_LOCK = "environments/requirements.txt"
SERVING = "environments/serving.txt"
UWSGI_REQUIREMENT = "pyuwsgi>=2.0.30"
PSYCOPG_REQUIREMENT = "psycopg[binary]>=3.2"
PSYCOPG2_REQUIREMENT = "psycopg2-binary>=2.9.9"
SERVING_NAMES = {"uwsgi": "pyuwsgi", "postgres": "psycopg2-binary"}


@dataclass(frozen=True)
class AdoptedLock(LockTool):
    """A lock tool as the scaffold's templates use it, with more files copied before the
    install (djship's serving layer) when there are some."""

    extra_files: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        return (self.manifest, self.lock_file, *self.extra_files)


@dataclass(frozen=True)
class Installation:
    tool: AdoptedLock
    lock_needed: bool  # init makes the lock, in the `lock` container
    added: tuple[str, ...]  # what djship adds: pyuwsgi, a PostgreSQL driver
    files: dict[str, str] = field(default_factory=dict)  # djship's dependency files
    reason: str = ""

    @property
    def lock_file(self) -> str:
        return self.tool.lock_file


def serving_block(names: set[str]) -> str:
    """The hashed pins of `names` from djship's serving lock, with its header."""
    text = (files("djship.adopt") / "data" / "serving.txt").read_text("utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.startswith(" "):
            blocks.append([])
        blocks[-1].append(line)
    chosen = [b for b in blocks if b[0].split("==")[0] in names]
    return "\n".join(header + [line for block in chosen for line in block]) + "\n"


def installation(deps: Dependencies, tree: Tree) -> Installation:
    """The lock tool and djship's additions for the project's dependency format."""
    missing = []
    if not deps.has_uwsgi:
        missing.append("uwsgi")
    if not deps.has_postgres_driver:
        missing.append("postgres")
    if deps.format in {"requirements", "setup"}:
        return _requirements_layer(deps, missing, tree)
    serving_names = {SERVING_NAMES[m] for m in missing}
    extra = (SERVING,) if serving_names else ()
    added = tuple(sorted(serving_names))
    layer = {SERVING: serving_block(serving_names)} if serving_names else {}
    pip = "/opt/venv/bin/pip install --no-deps --require-hashes -r serving.txt"
    if deps.format in {"uv", "pep621"}:
        uv = TOOLS["uv"]
        steps = ["uv sync --locked --no-dev --no-install-project"]
        if serving_names:
            steps.append("uv pip install --no-deps --require-hashes -r serving.txt")
        tool = AdoptedLock(**_fields(uv), extra_files=extra)
        tool = _with(tool, install_steps=tuple(steps))
        made = (
            "uv.lock is made at init (uv lock, in a container)"
            if deps.format == "pep621"
            else ("uv.lock as it is")
        )
        return Installation(
            tool, deps.format == "pep621", added, layer,
            f"uv sync --locked from pyproject.toml and uv.lock; {made}",
        )  # fmt: skip
    if deps.format == "poetry":
        steps = [
            "python -m venv /opt/venv",
            "poetry install --only main --no-root --no-interaction --no-ansi",
        ]
        if serving_names:
            steps.append(pip)
        tool = AdoptedLock(
            name="poetry",
            manifest="pyproject.toml",
            lock_file="poetry.lock",
            tool_requirement=f"poetry=={POETRY_VERSION}",
            install_steps=tuple(steps),
            lock_argv=("poetry", "lock"),
            run_prefix="poetry run",
            # Poetry installs into the active venv (VIRTUAL_ENV=/opt/venv), never its own.
            env={"POETRY_VIRTUALENVS_CREATE": "false", "POETRY_NO_INTERACTION": "1"},
            extra_files=extra,
        )
        made = "poetry.lock as it is" if deps.lock_file else "poetry.lock is made at init"
        return Installation(
            tool, deps.lock_file is None, added, layer,
            f"Poetry kept: poetry install --only main (fails when poetry.lock is stale); {made}",
        )  # fmt: skip
    pipenv = TOOLS["pipenv"]
    steps = [*pipenv.install_steps, *([pip] if serving_names else [])]
    tool = _with(AdoptedLock(**_fields(pipenv), extra_files=extra), install_steps=tuple(steps))
    made = "Pipfile.lock as it is" if deps.lock_file else "Pipfile.lock is made at init"
    return Installation(
        tool, deps.lock_file is None, added, layer,
        f"Pipenv kept: pipenv install --deploy (fails when Pipfile.lock is stale); {made}",
    )  # fmt: skip


def _fields(tool: LockTool) -> dict:
    return {
        "name": tool.name,
        "manifest": tool.manifest,
        "lock_file": tool.lock_file,
        "tool_requirement": tool.tool_requirement,
        "install_steps": tool.install_steps,
        "lock_argv": tool.lock_argv,
        "run_prefix": tool.run_prefix,
        "env": dict(tool.env),
        "executable": tool.executable,
    }


def _with(tool: AdoptedLock, **changes) -> AdoptedLock:
    return AdoptedLock(**(_fields(tool) | {"extra_files": tool.extra_files} | changes))


def _requirements_layer(deps: Dependencies, missing: list[str], tree: Tree) -> Installation:
    """requirements files or setup.py: djship's own lock, compiled from them."""
    series = django_series(deps.django)
    driver = PSYCOPG2_REQUIREMENT if series and series < (4, 2) else PSYCOPG_REQUIREMENT
    additions = {"uwsgi": UWSGI_REQUIREMENT, "postgres": driver}
    added = tuple(additions[m] for m in missing)
    sources = list(deps.sources)
    extras = [arg for extra in deps.extras for arg in ("--extra", extra)]
    copied: list[str] = []
    if deps.format == "requirements" and any(
        "installs the project itself" in n for n in deps.notes
    ):
        sources, copied = [], deps.files
    lines = [
        "# djship: what the images install. `djship lock` compiles it, with hashes, into",
        "# environments/requirements.txt (uv pip compile --generate-hashes), reading also:",
        *[f"#   {source}" for source in sources],
        "# Your own files stay the source: djship only adds here what serving needs and",
        "# they lack.",
    ]
    if copied:
        lines += [
            f"# Copied from {', '.join(copied)}, which install the project itself (-e): a hashed",
            "# lock cannot hold that. Keep these lines in step with them.",
        ]
    reasons = {"uwsgi": "uWSGI, the application server", "postgres": "the PostgreSQL driver"}
    lines += [f"{additions[m]}  # {reasons[m]}" for m in missing]
    if copied:
        lines.append(copied_requirements({path: tree.text(path) or "" for path in copied}))
    argv = (
        "uv", "pip", "compile", "--generate-hashes", "--quiet", *sources, *extras,
        REQUIREMENTS_IN, "-o", REQUIREMENTS_LOCK,
    )  # fmt: skip
    requirements = TOOLS["requirements"]
    tool = AdoptedLock(
        **(
            _fields(requirements)
            | {
                "manifest": REQUIREMENTS_IN,
                "lock_file": REQUIREMENTS_LOCK,
                "lock_argv": argv,
                "tool_requirement": f"uv=={UV_VERSION}",
            }
        )
    )
    what = " and ".join(sources) if sources else REQUIREMENTS_IN
    return Installation(
        tool,
        True,
        added,
        {REQUIREMENTS_IN: "\n".join(lines) + "\n"},
        f"djship's lock environments/requirements.txt, compiled with hashes from {what} "
        "at init (uv pip compile, in a container); installed with pip --require-hashes",
    )


def copied_requirements(texts: dict[str, str]) -> str:
    """Requirement lines of `texts` without -r, -e and local paths (for REQUIREMENTS_IN)."""
    lines = []
    for path, text in texts.items():
        lines.append(f"# from {path}")
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith(
                ("#", "-r", "--requirement", "-e", "--editable", ".", "/")
            ):
                continue
            lines.append(stripped)
    return "\n".join(lines).rstrip("\n")


def target(base: str, python: tuple[int, int]) -> Target:
    known = TARGETS[base]
    return Target(known.base, python, known.libc, known.libc_version, known.arch)


def locked_distributions(root: Path, install: Installation) -> list[Pinned]:
    """What the images install: the lock, plus djship's serving layer."""
    lock = root / install.lock_file
    text = lock.read_text(encoding="utf-8")
    if install.tool.name == "uv":
        pinned = parse_uv_lock(text)
    elif install.tool.name == "poetry":
        pinned = [Pinned(n, v, f or None) for n, v, f in poetry_lock_packages(text)]
    elif install.tool.name == "pipenv":
        pinned = parse_pipfile_lock(text)
    else:
        pinned = parse_requirements(text, source=install.lock_file)
    if SERVING in install.files:
        pinned += parse_requirements(install.files[SERVING], source=SERVING)
    return pinned


def system_packages(
    root: Path,
    install: Installation,
    base: str,
    python: tuple[int, int],
    files_of: Callable[[Pinned], tuple[str, ...]],
    no_binary: frozenset[str] = frozenset(),
) -> tuple[SystemPackages, list[str]]:
    """The Dockerfiles' package lines for the lock on the project's Python, and the names of
    distributions that build from source with no known system packages."""
    # djship's serving layer is left out: both are wheels for every Python djship builds
    # (manylinux and musllinux), with no system needs.
    serving = {p.name for p in parse_requirements(install.files.get(SERVING, ""), source=SERVING)}
    pinned = [p for p in locked_distributions(root, install) if p.name not in serving]
    report = analyse(
        pinned,
        target(base, python),
        load_knowledge(root),
        lambda dist: dist.files if dist.files is not None else files_of(dist),
        lambda pattern: any(root.glob(pattern)),
        no_binary,
    )
    packages = SystemPackages(tuple(report.build_packages), tuple(report.runtime_packages))
    return packages, [d.name for d in report.unknown]
