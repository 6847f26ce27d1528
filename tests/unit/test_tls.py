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
