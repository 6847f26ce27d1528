"""`djship deps`: the lock file's distributions on a target image, and what they need from the
system. Glue between the lock readers, the package index and the decisions in sysdeps."""

from __future__ import annotations

from pathlib import Path

from djship.console import Output
from djship.dependencies.dockerfile import SystemPackages, update_dockerfiles
from djship.dependencies.index import PackageIndex, default_cache_dir
from djship.dependencies.lockfiles import Pinned, find_lock_file, read_lock
from djship.dependencies.platforms import Target, target_for
from djship.dependencies.sysdeps import Report, analyse, load_knowledge
from djship.errors import DjshipError
from djship.project.layout import Project


def project_report(
    project: Project, target: Target, offline: bool = False, cache_dir: Path | None = None
) -> Report:
    """Analyse the project's lock file for `target`."""
    pinned = read_lock(find_lock_file(project.root))
    index = PackageIndex(cache_dir or default_cache_dir(), offline=offline)

    def files_of(dist: Pinned) -> tuple[str, ...]:
        return dist.files if dist.files is not None else index.files(dist.name, dist.version)

    def has_files(pattern: str) -> bool:
        return any(project.root.glob(pattern))

    return analyse(
        pinned, target, load_knowledge(project.root), files_of, has_files, project.no_binary
    )


def refresh_dockerfiles(project: Project) -> tuple[Report, list[str]]:
    """Decide the system packages for the project's base and write them into its Dockerfiles."""
    report = project_report(project, target_for(project.base))
    packages = SystemPackages(tuple(report.build_packages), tuple(report.runtime_packages))
    return report, update_dockerfiles(project.root, packages)


def refresh_system_packages(project: Project, output: Output, strict: bool) -> None:
    """Bring the Dockerfiles' system-package lines in step with the lock file, and say so.

    `strict`: an index that cannot be reached is an error (build) rather than a note (up).
    """
    try:
        report, changed = refresh_dockerfiles(project)
    except DjshipError as error:
        if strict:
            raise
        output.info(f"note: system packages not checked ({error.message})")
        return
    if changed:
        output.info(
            f"System packages for the dependencies ({project.base}): build stage "
            f"[{' '.join(report.build_packages) or 'none'}], runtime "
            f"[{' '.join(report.runtime_packages) or 'none'}]; updated {', '.join(changed)}"
        )
    if report.unknown:
        output.info("warning: " + unknown_hint(report))


def report_as_data(report: Report) -> dict:
    """The report as plain JSON-ready data (`djship deps --json`)."""
    return {
        "target": {
            "base": report.target.base,
            "python": ".".join(map(str, report.target.python)),
            "libc": report.target.libc,
            "arch": report.target.arch,
        },
        "distributions": [
            {
                "name": d.name,
                "version": d.version,
                "wheel": d.wheel,
                "from_source": d.from_source,
                "build": list(d.build),
                "runtime": list(d.runtime),
                "reason": d.reason,
                "unknown": d.unknown,
            }
            for d in report.decisions
        ],
        "build_packages": report.build_packages,
        "runtime_packages": report.runtime_packages,
    }


def unknown_hint(report: Report) -> str:
    """How to teach djship about distributions it cannot place."""
    names = ", ".join(d.name for d in report.unknown)
    example = report.unknown[0].name
    return (
        f"{names} build from source and djship knows no system packages for them. If they "
        f"need some, add an entry to environments/system-packages.toml, for example:\n"
        f'[{example}]\nreason = "why"\nbuild.{report.target.base} = ["...-dev"]\n'
        f'runtime.{report.target.base} = ["lib..."]'
    )
