"""Where the production proxy's TLS pair lives, and whether it is there.

Checked before `up`: a missing file would make Docker bind-mount an empty directory in its
place, and nginx would fail with a far less helpful message.
"""

from __future__ import annotations

from pathlib import Path

from djship.errors import DjshipError
from djship.project.layout import Project

DEFAULT_CERT = "./environments/prod/tls/cert.pem"
DEFAULT_KEY = "./environments/prod/tls/key.pem"


def tls_paths(project: Project) -> tuple[Path, Path]:
    """The certificate and key files .env names, relative to the project."""
    env = project.env
    cert = env.get("TLS_CERT_FILE") or DEFAULT_CERT
    key = env.get("TLS_KEY_FILE") or DEFAULT_KEY
    return project.root / cert, project.root / key


def check_tls_files(project: Project) -> None:
    """Where nginx terminates TLS (TLS_TERMINATION=proxy), its pair must exist."""
    if "TLS_CERT_FILE" not in project.env:
        return  # a project without TLS settings: nothing to check
    if project.env.get("TLS_TERMINATION", "proxy") != "proxy":
        return
    missing = [str(path) for path in tls_paths(project) if not path.is_file()]
    if missing:
        raise DjshipError(
            f"TLS_TERMINATION=proxy but {' and '.join(missing)} "
            + ("are missing" if len(missing) > 1 else "is missing"),
            hint="Run `djship certificate` for a self-signed pair (local runs), name your own "
            "pair in .env (TLS_CERT_FILE, TLS_KEY_FILE), or set TLS_TERMINATION=upstream.",
        )
