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


TERMINATIONS = ("proxy", "upstream")  # nginx-tls-<value>.conf.template in environments/prod


def check_tls_termination(project: Project) -> None:
    """TLS_TERMINATION names one of the proxy's templates: another value would start a proxy
    with no site at all."""
    value = project.env.get("TLS_TERMINATION", "proxy")
    if value not in TERMINATIONS:
        raise DjshipError(
            f".env, line {project.env_line('TLS_TERMINATION')}: TLS_TERMINATION={value} is "
            f"neither {' nor '.join(TERMINATIONS)}",
            hint="proxy: nginx holds the certificate; upstream: a load balancer in front does.",
        )


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


STAPLING = "TLS_STAPLING"


def names_ocsp_responder(pem: bytes) -> bool:
    """Whether the (first) certificate says where its OCSP responder is: only then can
    nginx staple a response (with none, it warns at every start and staples nothing)."""
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

    try:
        certificate = x509.load_pem_x509_certificate(pem)
        access = certificate.extensions.get_extension_for_oid(
            ExtensionOID.AUTHORITY_INFORMATION_ACCESS
        ).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    return any(d.access_method == AuthorityInformationAccessOID.OCSP for d in access)


def stapling_environment(project: Project) -> dict[str, str]:
    """TLS_STAPLING for Compose (the proxy's nginx template reads it): on when the
    certificate names a responder, unless .env decides."""
    if not (project.root / ".env").is_file():
        return {}  # nothing to decide from (commands that need .env say so themselves)
    if STAPLING in project.env:
        return {}
    cert, _ = tls_paths(project)
    try:
        pem = cert.read_bytes()
    except OSError:
        return {}
    return {STAPLING: "on"} if names_ocsp_responder(pem) else {}
