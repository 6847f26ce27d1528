import pytest

from djship.errors import DjshipError
from djship.project.layout import Project
from djship.project.tls import check_tls_files, tls_paths
from djship.scaffold.certificate import self_signed
from tests.unit.test_compose import project


def with_env(tmp_path, text: str) -> Project:
    found = project(tmp_path)
    (tmp_path / ".env").write_text(text)
    return Project(found.root)


def test_missing_pair_is_named_with_what_to_do(tmp_path):
    found = with_env(
        tmp_path, "TLS_TERMINATION=proxy\nTLS_CERT_FILE=./c.pem\nTLS_KEY_FILE=./k.pem\n"
    )
    with pytest.raises(DjshipError, match="c.pem and .*k.pem are missing") as caught:
        check_tls_files(found)
    assert "djship certificate" in caught.value.hint


def test_upstream_termination_needs_no_pair(tmp_path):
    check_tls_files(with_env(tmp_path, "TLS_TERMINATION=upstream\nTLS_CERT_FILE=./c.pem\n"))


def test_a_present_pair_passes_and_paths_are_relative_to_the_project(tmp_path):
    found = with_env(tmp_path, "TLS_CERT_FILE=./tls/c.pem\nTLS_KEY_FILE=./tls/k.pem\n")
    cert, key = tls_paths(found)
    assert cert == tmp_path / "tls" / "c.pem"
    pair = self_signed(("localhost", "127.0.0.1"))
    cert.parent.mkdir()
    cert.write_bytes(pair.certificate_pem)
    key.write_bytes(pair.key_pem)
    check_tls_files(found)
    assert pair.certificate_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" in pair.key_pem


def test_the_self_signed_certificate_names_its_hosts():
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(
        self_signed(("localhost", "127.0.0.1")).certificate_pem
    )
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def certificate_with_ocsp(url: str) -> bytes:
    """A certificate whose Authority Information Access names an OCSP responder (as a CA's do)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example")])
    now = datetime.datetime.now(datetime.UTC)
    access = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(url)
            )
        ]
    )
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1)).add_extension(access, critical=False)
    )  # fmt: skip
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_stapling_is_on_only_for_a_certificate_that_names_a_responder(tmp_path):
    from djship.project.tls import names_ocsp_responder, stapling_environment

    assert names_ocsp_responder(certificate_with_ocsp("http://ocsp.example/"))
    assert not names_ocsp_responder(self_signed(("localhost",)).certificate_pem)
    assert not names_ocsp_responder(b"not a certificate")

    found = with_env(tmp_path, "TLS_CERT_FILE=./c.pem\n")
    assert stapling_environment(found) == {}  # no file yet: nothing to decide
    (tmp_path / "c.pem").write_bytes(certificate_with_ocsp("http://ocsp.example/"))
    assert stapling_environment(found) == {"TLS_STAPLING": "on"}
    (tmp_path / "c.pem").write_bytes(self_signed(("localhost",)).certificate_pem)
    assert stapling_environment(found) == {}  # Compose's default: off
    (tmp_path / "c.pem").write_bytes(certificate_with_ocsp("http://ocsp.example/"))
    (tmp_path / ".env").write_text("TLS_CERT_FILE=./c.pem\nTLS_STAPLING=off\n")
    assert stapling_environment(Project(tmp_path)) == {}  # .env decides


def test_compose_commands_carry_the_stapling_decision_in_prod_only(tmp_path):
    from djship.engine.compose import Compose

    found = with_env(tmp_path, "TLS_CERT_FILE=./c.pem\n")
    (tmp_path / "c.pem").write_bytes(certificate_with_ocsp("http://ocsp.example/"))
    assert Compose(found, "prod").up().env == {"TLS_STAPLING": "on"}
    assert Compose(found, "dev").up().env == {}


def test_an_unknown_tls_termination_is_named_with_its_line(tmp_path):
    from djship.project.tls import check_tls_termination

    shop = project(tmp_path)
    (tmp_path / ".env").write_text("COMPOSE_PROJECT_NAME=shop\nTLS_TERMINATION=nope\n")
    with pytest.raises(DjshipError) as caught:
        check_tls_termination(shop)
    assert "line 2: TLS_TERMINATION=nope is neither proxy nor upstream" in caught.value.message
