"""Self-signed TLS pairs for running the production stack locally (`djship certificate`).

Real deployments name their own certificate and key in .env (TLS_CERT_FILE, TLS_KEY_FILE);
this only spares a developer the openssl incantation for a local prod run.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from djship.errors import DjshipError

DEFAULT_HOSTS = ("localhost", "127.0.0.1")
VALIDITY_DAYS = 365


def check_hosts(hosts: tuple[str, ...]) -> None:
    """Each host a name or address a certificate can carry: not empty, no spaces, at most
    253 characters (a DNS name's limit)."""
    for host in hosts:
        if not host or any(char.isspace() for char in host) or len(host) > 253:
            raise DjshipError(
                f"--host {host!r} is no host name or IP address",
                hint="Give a name such as shop.example.com, or an address such as 127.0.0.1.",
            )


@dataclass(frozen=True)
class TlsPair:
    certificate_pem: bytes
    key_pem: bytes


def self_signed(hosts: tuple[str, ...] = DEFAULT_HOSTS, days: int = VALIDITY_DAYS) -> TlsPair:
    """A P-256 key and a certificate naming `hosts` (DNS names or IP addresses)."""
    check_hosts(hosts)
    key = ec.generate_private_key(ec.SECP256R1())
    # Clients match the alternative names; the common name is for people, and X.509 caps it.
    common = [x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])] if len(hosts[0]) <= 64 else []
    name = x509.Name(common)
    now = datetime.datetime.now(datetime.UTC)
    alt_names = [_alt_name(host) for host in hosts]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return TlsPair(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
