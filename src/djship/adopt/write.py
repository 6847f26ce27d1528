"""`djship init`, doing: the plan's files written all at once or not at all, never over an
existing file; then the lock made in a container when the project has none (as `djship
lock` does), and the Dockerfiles' system-package lines set from the lock. A failure undoes
everything init wrote."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from djship.adopt.locks import system_packages
from djship.adopt.plan import Plan
from djship.console import Output
from djship.dependencies.dockerfile import update_dockerfiles
from djship.dependencies.index import PackageIndex, default_cache_dir
from djship.engine.compose import for_lock
from djship.engine.preflight import check_engine
from djship.engine.runner import stream
from djship.errors import DjshipError
from djship.project.layout import Project


@dataclass
class Written:
    """What init created, so that it can be undone."""

    files: list[Path] = field(default_factory=list)
    directories: list[Path] = field(default_factory=list)
    env_path: Path | None = None
    env_before: bytes | None = None

    def undo(self) -> None:
        for path in reversed(self.files):
            path.unlink(missing_ok=True)
        for directory in reversed(self.directories):
            with contextlib.suppress(OSError):  # something else is in it now: leave it
                directory.rmdir()
        if self.env_path is not None and self.env_before is not None:
            self.env_path.write_bytes(self.env_before)


def write_plan(directory: Path, plan: Plan) -> Written:
    """Every file of the plan, or none: an existing path is refused before anything is
    written, each file is created exclusively (O_EXCL), and a failure removes what was made."""
    root = directory / plan.root
    taken = sorted(p for p in plan.files if (root / p).exists() or (root / p).is_symlink())
    if taken:
        raise DjshipError(
            f"refusing to overwrite {', '.join(taken)} in {root}",
            hint="init never writes over a file: move it away, or adopt another directory.",
        )
    written = Written()
    try:
        for relative, content in plan.files.items():
            path = root / relative
            _make_parents(path.parent, written)
            mode = (
                0o600
                if relative in plan.private
                else 0o755
                if relative in plan.executables
                else 0o644
            )
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            written.files.append(path)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(path, mode)
        if plan.env_append:
            env = root / ".env"
            before = env.read_bytes()
            separator = b"" if not before or before.endswith(b"\n") else b"\n"
            staging = env.with_name(".env.djship-init")
            staging.write_bytes(before + separator + plan.env_append.encode("utf-8"))
            os.chmod(staging, env.stat().st_mode & 0o777)
            written.files.append(staging)
            written.env_path, written.env_before = env, before
            os.replace(staging, env)
            written.files.remove(staging)
    except BaseException:
        written.undo()
        raise
    return written


def _make_parents(directory: Path, written: Written) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
        written.directories.append(path)


def adopt(directory: Path, plan: Plan, output: Output, *, lock: bool = True) -> Written:
    """Write the plan, make the lock when needed, set the system packages; all or nothing."""
    written = write_plan(directory, plan)
    root = directory / plan.root
    install = plan.installation
    lock_path = root / install.lock_file
    try:
        if install.lock_needed and lock:
            existed = lock_path.exists()
            output.step(f"Locking the dependencies ({install.tool.name}, in the `lock` container)")
            check_engine()
            compose = for_lock(Project(root), output.plain)
            command = compose.lock()
            # The lock file is written as the host user, whatever .env says (or lacks).
            owner = {"DEV_UID": str(plan.options.uid), "DEV_GID": str(plan.options.gid)}
            stream(dataclasses.replace(command, env={**command.env, **owner}), what="locking")
            if not existed and lock_path.exists():
                written.files.append(lock_path)
            if not lock_path.exists():
                raise DjshipError(f"the lock container ran but wrote no {install.lock_file}")
    except BaseException as error:
        written.undo()
        if isinstance(error, DjshipError):
            raise DjshipError(
                f"{error.message}; nothing was written",
                hint=(error.hint or "")
                + " Or run init with --no-lock: the files are written, then `djship lock`.",
            ) from None
        raise
    if lock_path.exists():
        _system_packages(root, plan, output)
    else:
        output.info(f"note: {install.lock_file} is not made yet (--no-lock): run `djship lock`")
    return written


def _system_packages(root: Path, plan: Plan, output: Output) -> None:
    index = PackageIndex(default_cache_dir())
    python = plan.python
    try:
        packages, unknown = system_packages(
            root,
            plan.installation,
            plan.options.base,
            python,
            lambda dist: index.files(dist.name, dist.version),
            Project(root).no_binary,
        )
    except (DjshipError, OSError, ValueError) as error:
        message = error.message if isinstance(error, DjshipError) else str(error)
        output.info(f"note: system packages not decided ({message}); `djship up` tries again")
        return
    changed = update_dockerfiles(root, packages)
    output.info(
        f"System packages for the lock (Python {python[0]}.{python[1]}): build stage "
        f"[{' '.join(packages.build) or 'none'}], runtime [{' '.join(packages.runtime) or 'none'}]"
        + (f"; written to {', '.join(changed)}" if changed else "")
    )
    if unknown:
        output.info(
            f"warning: {', '.join(unknown)} build from source and djship knows no system "
            "packages for them: add them to environments/system-packages.toml"
        )
