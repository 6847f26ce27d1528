"""The lock tools a generated project can use, and everything that differs between them.

Templates and commands ask this module rather than branching on the tool's name, so adding a
lock format is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from djship.errors import DjshipError

# Versions pinned in generated Dockerfiles: a build is only deterministic if its tools are.
UV_VERSION = "0.13.9"
PIPENV_VERSION = "2026.10.3"


@dataclass(frozen=True)
class LockTool:
    """How one lock tool declares, locks and installs a project's dependencies."""

    name: str
    manifest: str  # the file a developer edits to add a dependency
    lock_file: str  # the file the tool writes and builds install from
    tool_requirement: str  # what pip installs to get the tool into the image
    install_steps: tuple[str, ...]  # shell commands installing the locked set into /opt/venv
    lock_argv: tuple[str, ...]  # the command that refreshes the lock file (run in /app)
    run_prefix: str  # what a developer would otherwise type before every command
    env: dict[str, str] = field(default_factory=dict)  # image environment the tool needs
    executable: str = ""  # the tool's command, when it is not named like the format
    # The development image's install: the dev dependencies too (pytest, debug toolbar...),
    # which production leaves out. Empty: the same as install_steps.
    dev_install_steps: tuple[str, ...] = ()

    @property
    def development_steps(self) -> tuple[str, ...]:
        return self.dev_install_steps or self.install_steps

    @property
    def command(self) -> str:
        return self.executable or self.name

    @property
    def files(self) -> tuple[str, str]:
        """The files an image build copies before the source: manifest and lock."""
        return (self.manifest, self.lock_file)


TOOLS: dict[str, LockTool] = {
    "uv": LockTool(
        name="uv",
        manifest="pyproject.toml",
        lock_file="uv.lock",
        tool_requirement=f"uv=={UV_VERSION}",
        # --locked fails when uv.lock no longer matches pyproject.toml: the lock is enforced.
        install_steps=("uv sync --locked --no-dev",),
        lock_argv=("uv", "lock"),
        run_prefix="uv run",
        env={
            "UV_PROJECT_ENVIRONMENT": "/opt/venv",
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_LINK_MODE": "copy",
        },
        dev_install_steps=("uv sync --locked",),  # with the `dev` group (`uv add --dev`)
    ),
    "pipenv": LockTool(
        name="pipenv",
        manifest="Pipfile",
        lock_file="Pipfile.lock",
        tool_requirement=f"pipenv=={PIPENV_VERSION}",
        # --deploy fails when Pipfile.lock is out of date with the Pipfile: the lock is enforced.
        install_steps=("python -m venv /opt/venv", "pipenv install --deploy"),
        lock_argv=("pipenv", "lock"),
        run_prefix="pipenv run",
        env={"PIPENV_VERBOSITY": "-1", "PIPENV_NOSPIN": "1"},
        # with [dev-packages] (`pipenv install --dev`)
        dev_install_steps=("python -m venv /opt/venv", "pipenv install --deploy --dev"),
    ),
    "requirements": LockTool(
        name="requirements",
        manifest="requirements.in",
        lock_file="requirements.txt",
        tool_requirement=f"uv=={UV_VERSION}",
        # pip-tools style: every distribution pinned with its hashes, installed with
        # --require-hashes so that nothing unlocked or tampered with gets in.
        install_steps=(
            "python -m venv /opt/venv",
            "/opt/venv/bin/pip install --no-deps --require-hashes -r requirements.txt",
        ),
        lock_argv=(
            "uv",
            "pip",
            "compile",
            "--generate-hashes",
            "--quiet",
            "requirements.in",
            "-o",
            "requirements.txt",
        ),
        run_prefix=". venv/bin/activate &&",
        env={"UV_PYTHON_DOWNLOADS": "never"},
        executable="uv",
    ),
}


def detect_tool(root: Path) -> LockTool:
    """The lock tool a project uses, from the lock file it has."""
    for tool in TOOLS.values():
        if (root / tool.lock_file).exists():
            return tool
    for tool in TOOLS.values():
        if (root / tool.manifest).exists() and tool.manifest != "pyproject.toml":
            return tool
    if (root / "pyproject.toml").exists():
        return TOOLS["uv"]
    files = ", ".join(sorted({f for t in TOOLS.values() for f in t.files}))
    raise DjshipError(f"no dependency files in {root} (looked for {files})")
