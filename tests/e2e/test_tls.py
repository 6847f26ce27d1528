"""The production proxy's TLS, audited by testssl.sh (Debian's package `testssl.sh`) on the
shared prod stack (conftest.py's `prod`): Mozilla's "intermediate" profile, nothing
vulnerable, and nothing "NOT ok" but what a self-signed certificate cannot help."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time

import pytest
import requests

from tests.e2e.conftest import GeneratedProject

# Protocols (-p), cipher categories (-s), forward secrecy (-f), server preferences (-P),
# server defaults (-S), HTTP headers (-h), vulnerabilities (-U), the ciphers of each protocol
# (-E) and client simulations (-c): a default run but for -e, which lists the same ciphers
# again unsorted. No DNS lookups: the target is 127.0.0.1. About a minute here.
CHECKS = ("-p", "-s", "-f", "-P", "-S", "-h", "-U", "-E", "-c")

# Findings accepted by design, each with the text it must have (anything else still fails).
ACCEPTED = {
    # The certificate of `djship certificate` is self-signed: no CA vouches for it...
    "cert_chain_of_trust": "self signed",
    # ...and it names no CRL nor OCSP responder, so there is nothing to check or staple.
    "cert_revocation": "Neither CRL nor OCSP URI provided",
    # The client picks among the suites, as Mozilla's profile says, since all of them are
    # strong (test_tls_1_2_offers_only_forward_secret_aead_suites checks that). testssl 3.0
    # flags any client-chosen order HIGH, 3.2 LOW: testssl/testssl.sh issues 1311 and 1644.
    "cipher_order": "cipher order configured",
    # testssl 3.0's ticket resumption check is erratic here: when its client happens to read
    # TLS 1.3's ticket, the resumption it then tries ends as a "connect problem" (it works:
    # test_sessions_resume_from_the_shared_cache_without_tickets).
    "sessionresumption_ticket": "check failed because of connect problem",
}
# Mozilla's TLS 1.3 suites, and the oldest clients testssl simulates that its profile serves.
TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
OLD_CLIENTS = (
    "clientsimulation-ie_11_win7",
    "clientsimulation-java_8u161",
    "clientsimulation-android_60",
    "clientsimulation-openssl_102e",
)


@pytest.fixture(scope="module")
def audit(prod: GeneratedProject, tmp_path_factory) -> list[dict[str, str]]:
    """testssl.sh's findings on the HTTPS port ({id, severity, finding, ...} each)."""
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if testssl is None:
        pytest.fail("testssl.sh is not installed (scripts/test installs Debian's testssl.sh)")
    report = tmp_path_factory.mktemp("testssl") / "findings.json"
    started = time.monotonic()
    result = subprocess.run(
        [testssl, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none"]
        + ["--jsonfile", str(report), *CHECKS, f"127.0.0.1:{prod.https_port}"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    if not report.exists():
        pytest.fail(f"testssl.sh wrote no report ({result.returncode}):\n{result.stdout[-3000:]}")
    findings = json.loads(report.read_text())
    print(f"testssl.sh: {len(findings)} findings in {time.monotonic() - started:.0f} s")
    return findings


def one(findings: list[dict[str, str]], finding_id: str) -> str:
    matches = [f["finding"] for f in findings if f["id"] == finding_id]
    assert len(matches) == 1, (finding_id, matches)
    return matches[0]


def test_testssl_finds_nothing_vulnerable_and_nothing_not_ok(audit):
    def accepted(finding: dict[str, str]) -> bool:
        expected = ACCEPTED.get(finding["id"])
        return expected is not None and expected in finding["finding"]

    # Anything above INFO (LOW to CRITICAL, and WARN: a check that could not run) is a problem.
    problems = [f for f in audit if f["severity"] not in ("OK", "INFO") and not accepted(f)]
    vulnerable = [
        f
        for f in audit
        if "vulnerable" in f["finding"].lower() and "not vulnerable" not in f["finding"].lower()
    ]
    assert problems == [] and vulnerable == []
    assert any(f["id"] == "heartbleed" for f in audit)  # the vulnerability checks did run


def test_only_tls_1_2_and_1_3_are_offered(audit):
    for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert one(audit, old) == "not offered", old
    assert one(audit, "TLS1_2").startswith("offered")
    assert one(audit, "TLS1_3").startswith("offered")


def test_tls_1_2_offers_only_forward_secret_aead_suites(audit):
    """No CBC (LUCKY13), Camellia, ARIA, CCM or RSA key exchange: ECDHE with AES-GCM or
    ChaCha20-Poly1305 only. -E names each suite: "TLS 1.2  xc02b  ECDHE-ECDSA-AES128-GCM-..."."""

    def suites(protocol: str) -> set[str]:
        prefix = f"cipher-{protocol}_x"  # tls1_x..., not tls1_2_x...
        return {f["finding"].split()[3] for f in audit if f["id"].startswith(prefix)}

    tls12 = suites("tls1_2")
    assert tls12, "no TLS 1.2 suite listed: did -E run?"
    weak = {s for s in tls12 if not (s.startswith("ECDHE-") and ("-GCM-" in s or "POLY1305" in s))}
    assert weak == set()
    assert suites("tls1_3") == TLS13_SUITES
    assert suites("tls1") == suites("tls1_1") == set()
    # testssl's CBC category ("Obsolete CBC ciphers"): cipherlist_AVERAGE before 3.2.
    cbc = [f["finding"] for f in audit if f["id"] in ("cipherlist_AVERAGE", "cipherlist_OBSOLETED")]
    assert cbc == ["not offered"]


def resumed_session(port: int, version: ssl.TLSVersion) -> tuple[ssl.SSLSession, bool]:
    """A first connection's session (after a request: TLS 1.3 sends it after the handshake),
    and whether a second connection resumed it."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    session = None
    for _ in range(2):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with context.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            while tls.recv(65536):
                pass
            session, reused = session or tls.session, tls.session_reused
    return session, reused


def test_sessions_resume_from_the_shared_cache_without_tickets(audit, prod):
    """Clients resume from nginx's session cache; no TLS 1.2 ticket is issued (its key would
    protect past sessions as long as it lives). TLS 1.3 resumes with a ticket that only names
    a cache entry (OpenSSL's stateful tickets, what `ssl_session_tickets off` leaves)."""
    assert "session ticket" not in one(audit, "TLS_extensions")  # in no ServerHello
    session, reused = resumed_session(prod.https_port, ssl.TLSVersion.TLSv1_2)
    assert session.id and not session.has_ticket and reused
    assert resumed_session(prod.https_port, ssl.TLSVersion.TLSv1_3)[1]


def test_the_oldest_clients_of_the_profile_still_connect(audit):
    for client in OLD_CLIENTS:
        assert one(audit, client).startswith("TLSv1.2 ECDHE-"), client


def test_hsts_is_sent_once_by_django(audit, prod):
    assert one(audit, "HSTS_time").startswith("730 days")  # DJANGO_HSTS_SECONDS' default
    assert [f["id"] for f in audit if f["id"].startswith("HSTS") and f["severity"] != "OK"] == []
    page = requests.get(prod.url, timeout=15, verify=False)
    assert len(page.raw.headers.getlist("Strict-Transport-Security")) == 1


def test_the_proxy_starts_without_tls_warnings(prod):
    """nginx warns at start about a TLS setting it ignores ("ssl_stapling" ignored...)."""
    proxy = prod.compose("ps", "-q", "proxy", env_name="prod").stdout.strip()
    logs = subprocess.run(["docker", "logs", proxy], capture_output=True, text=True)
    lines = (logs.stdout + logs.stderr).splitlines()
    warnings = [line for line in lines if ("[warn]" in line or "[emerg]" in line) and "ssl" in line]
    assert warnings == []
    assert any("start worker process" in line for line in lines)  # the logs are nginx's
