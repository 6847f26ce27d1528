"""Writing an export into the project: manifests left alone when unchanged, stale generated
files removed, secret files private, and kept out of images."""

from __future__ import annotations

import os
from pathlib import Path

from djship.errors import DjshipError

DEFAULT_DIRECTORY = "kubernetes"


def write_export(result, root: Path) -> None:
    """Write the manifests (a file whose text is unchanged is left alone), remove the ones
    an earlier export of this environment wrote and this one does not (an external
    database now, say), then the secret files: a private directory, files for the owner."""
    from djship.export.kubernetes import HEADER

    for relative, text in result.files.items():
        write_if_changed(root / relative, text)
    for part in ("base", "components", result.overlay):
        for path in sorted((root / part).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and relative not in result.files and generated(path, HEADER):
                path.unlink()
    for relative, text in result.secrets.items():
        write_private(root / relative, text.encode())
    for relative, source in result.copies.items():
        if not Path(source).is_file():
            raise DjshipError(
                f"{source} does not exist (the TLS pair of the Compose files)",
                hint="`djship certificate` makes a local pair; for a cluster, set "
                "CERT_MANAGER_ISSUER in .env to let cert-manager issue one.",
            )
        write_private(root / relative, Path(source).read_bytes())


def write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generated(path: Path, header: str) -> bool:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\n") == header


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if not path.is_file() or path.read_bytes() != data:
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        os.chmod(partial, 0o600)
        partial.replace(path)
    os.chmod(path, 0o600)


def keep_out_of_images(project_root: Path, root: Path) -> str | None:
    """The secret files must never reach an image: the build context is the project, so
    .dockerignore gets a line for them when the export lives inside it. Returns the line
    when it was added."""
    from djship.export.kubernetes import dockerignore_line

    if not root.is_relative_to(project_root):
        return None
    line = dockerignore_line(root.relative_to(project_root).as_posix())
    ignore = project_root / ".dockerignore"
    text = ignore.read_text(encoding="utf-8") if ignore.is_file() else ""
    if line in text.splitlines():
        return None
    note = "# Kubernetes secrets written by `djship export kubernetes`: never in an image."
    ignore.write_text(f"{text.rstrip()}\n{note}\n{line}\n".lstrip(), encoding="utf-8")
    return line
