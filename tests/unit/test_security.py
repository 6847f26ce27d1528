"""`djship audit` and `djship refresh` decisions, without an engine: version comparisons
(upstream and Debian), the vulnerability table and its verdicts, engine settings and VM
detection on recorded inputs, the parsers of what runs in images, the report and its exit
codes, and what a refresh decides."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from djship.engine.compose import Compose
from djship.errors import DjshipError
from djship.project.layout import Project
from djship.security import host, images, python_advisories, refresh
from djship.security.report import ERROR, NOTE, WARNING, Check, Finding, Report, as_json, as_text
from djship.security.versions import (
    carries_upstream_fix,
    debian_at_least,
    debian_release_of,
    is_distribution_build,
    is_package_version,
    kernel_upstream,
    upstream_version,
)
from djship.security.vulnerabilities import (
    AFFECTED,
    FIXED,
    FIXED_BY_DISTRIBUTION,
    MAY_BE_AFFECTED,
    Installed,
    judge,
    load_table,
)
from djship.shipping.version import Source

NOW = datetime(2026, 12, 2, 5, 0, 0, tzinfo=UTC)

# Recorded on the test machine (Debian 12's docker.io), trimmed to what the audit reads.
DOCKER_VERSION = {
    "Server": {
        "Components": [
            {"Name": "Engine", "Version": "20.10.24+dfsg1",
             "Details": {"KernelVersion": "6.18.44-fc-v669", "GitCommit": "5d6db84"}},
            {"Name": "containerd", "Version": "1.6.20~ds1",
             "Details": {"GitCommit": "1.6.20~ds1-1+deb12u3"}},
            {"Name": "runc", "Version": "1.1.5+ds1",
             "Details": {"GitCommit": "1.1.5+ds1-1+deb12u1"}},
            {"Name": "docker-init", "Version": "0.19.0", "Details": {"GitCommit": ""}},
        ],
        "Version": "20.10.24+dfsg1",
        "KernelVersion": "6.18.44-fc-v669",
    }
}  # fmt: skip
DOCKER_INFO = {
    "Name": "vm",
    "ServerVersion": "20.10.24+dfsg1",
    "KernelVersion": "6.18.44-fc-v669",
    "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
    "Plugins": {"Authorization": None},
    "SecurityOptions": ["name=seccomp,profile=default"],
    "LiveRestoreEnabled": False,
    "Swarm": {"LocalNodeState": "inactive"},
    "ContainerdCommit": {"ID": "1.6.20~ds1-1+deb12u3"},
    "RuncCommit": {"ID": "1.1.5+ds1-1+deb12u1"},
    "Warnings": None,
}
# docker-ce from Docker's own packages: upstream versions, git descriptions as commits.
DOCKER_CE_VERSION = {
    "Server": {
        "Components": [
            {"Name": "Engine", "Version": "24.0.7", "Details": {"GitCommit": "311b9ff"}},
            {"Name": "containerd", "Version": "1.6.26",
             "Details": {"GitCommit": "3dd1e886e55dd695541fdcd67420c2888645a495"}},
            {"Name": "runc", "Version": "1.1.10", "Details": {"GitCommit": "v1.1.10-0-g18a0cb0"}},
        ]
    }
}  # fmt: skip
TCP_WARNING = (
    "WARNING: API is accessible on http://0.0.0.0:2375 without encryption.\n"
    "         Access to the remote API is equivalent to root access on the host."
)

APT_OUTPUT = """djship-os debian 13 trixie
djship-format apt
Inst login.defs [1:4.17.4-2] (1:4.17.4-2+deb13u1 Debian-Security:13/stable-security [all])
Inst passwd [1:4.17.4-2] (1:4.17.4-2+deb13u1 Debian-Security:13/stable-security [amd64])
Inst libzstd1 [1.5.7+dfsg-1] (1.5.7+dfsg-1+deb13u1 Debian-Security:13/stable-security [amd64])
"""
APK_OUTPUT = """djship-os alpine 3.20.3
djship-format apk
busybox-1.36.1-r29            < 1.36.1-r30
py3-cffi-1.16.0-r1            < 1.16.0-r2
"""
PIP_AUDIT_OUTPUT = {
    "dependencies": [
        {"name": "django", "version": "4.2.0", "vulns": [
            {"id": "PYSEC-2023-100", "fix_versions": ["3.2.20", "4.1.10", "4.2.2"],
             "aliases": ["CVE-2023-36053", "GHSA-jh3w-4vvf-mjgr"],
             "description": "EmailValidator and URLValidator were subject to a ReDoS."}]},
        {"name": "sqlparse", "version": "0.5.3", "vulns": []},
        {"name": "private-lib", "skip_reason": "Dependency not found on PyPI and could not be "
         "audited: private-lib (1.0)"},
    ],
    "fixes": [],
}  # fmt: skip
ALL_SKIPPED = {
    "dependencies": [
        {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be "
         "audited: django (5.2.19)"},
    ],
    "fixes": [],
}  # fmt: skip


def facts(**changes) -> host.HostFacts:
    values = {"version": DOCKER_VERSION, "info": dict(DOCKER_INFO)}
    values.update(changes)
    return host.HostFacts(**values)


def rules(findings: list[Finding]) -> dict[str, str]:
    return {f.rule: f.severity for f in findings}


# --- versions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.1.12", "1.1.12"),
        ("v1.1.12", "1.1.12"),
        ("1.1.5+ds1-1+deb12u1", "1.1.5"),
        ("20.10.24+dfsg1", "20.10.24"),
        ("20.10.24+dfsg1-1+deb12u1+b6", "20.10.24"),
        ("1.6.20~ds1-1+b1", "1.6.20"),
        ("1.0.0-rc93", "1.0.0rc93"),
        ("1.0.0~rc93+ds1-5+deb11u3", "1.0.0rc93"),
        ("1.4.0-rc.3", "1.4.0rc3"),
        ("2.2.0-beta.0", "2.2.0b0"),
        ("5:24.0.7-1~debian.12~bookworm", "24.0.7"),
        ("6.18.44-fc-v669", "6.18.44"),
        ("1.7.12-0ubuntu2~22.04.1", "1.7.12"),
    ],
)
def test_upstream_part_of_distribution_versions(text, expected):
    assert str(upstream_version(text)) == expected


def test_not_a_version():
    assert upstream_version("dev") is None
    with pytest.raises(ValueError):
        carries_upstream_fix("unknown", ["1.0"])


@pytest.mark.parametrize(
    ("installed", "fixed"),
    [
        ("1.1.11", False),  # the 1.1 line got 1.1.12
        ("1.1.12", True),
        ("1.2.0", True),  # a newer line than every fix
        ("1.0.0-rc92", True),  # before the flaw was introduced (rc93)
        ("1.0.0-rc93", False),
        ("1.1.5+ds1-1+deb12u1", False),  # upstream 1.1.5: Debian's backport is judged apart
    ],
)
def test_leaky_vessels_upstream(installed, fixed):
    assert carries_upstream_fix(installed, ["1.1.12"], "1.0.0-rc93") is fixed


@pytest.mark.parametrize(
    ("installed", "fixed"),
    [
        ("1.1.15", False),  # an end-of-life line between the fixed ones: affected
        ("1.2.7", False),
        ("1.2.8", True),
        ("1.3.2", False),
        ("1.3.3", True),
        ("1.4.0-rc.1", False),
        ("1.4.0-rc.3", True),
        ("1.4.0", True),
        ("1.5.1", True),
    ],
)
def test_fixes_on_several_release_lines(installed, fixed):
    assert carries_upstream_fix(installed, ["1.2.8", "1.3.3", "1.4.0-rc.3"]) is fixed


@pytest.mark.parametrize(
    ("kernel", "fixed"),
    [
        ("5.7.19", True),  # before 5.8, where Dirty Pipe was introduced
        ("5.10.101", False),
        ("5.10.102", True),
        ("5.11.22", False),  # 5.11 ended without the fix
        ("5.15.24", False),
        ("5.15.25", True),
        ("5.16.10", False),
        ("5.17.0", True),
        ("6.18.44", True),
    ],
)
def test_dirty_pipe_per_stable_branch(kernel, fixed):
    assert carries_upstream_fix(kernel, ["5.10.102", "5.15.25", "5.16.11"], "5.8") is fixed


@pytest.mark.parametrize(
    ("installed", "fixed", "expected"),
    [
        ("20.10.24+dfsg1-1+deb12u1+b6", "20.10.24+dfsg1-1+deb12u1", True),  # a binNMU of it
        ("20.10.24+dfsg1-1", "20.10.24+dfsg1-1+deb12u1", False),
        ("1.1.5+ds1-1+deb12u1", "1.1.5+ds1-1+deb12u1", True),
        ("1.1.5+ds1-1", "1.1.5+ds1-1+deb12u1", False),
        ("1.6.20~ds1-1+b1", "1.6.20~ds1-1+deb12u2", False),
        ("1.6.20~ds1-1+deb12u3", "1.6.20~ds1-1+deb12u2", True),
        ("1.6.20~ds1", "1.6.20", False),  # ~ sorts before everything
        ("1:4.17.4-2+deb13u1", "1:4.17.4-2", True),
        ("4.17.4-9", "1:4.17.4-2", False),  # the epoch wins
    ],
)
def test_debian_package_versions(installed, fixed, expected):
    assert debian_at_least(installed, fixed) is expected


def test_package_versions_and_distribution_builds_are_told_apart():
    assert is_package_version("1.1.5+ds1-1+deb12u1")
    assert is_package_version("1.7.12-0ubuntu2~22.04.1")
    assert not is_package_version("v1.1.10-0-g18a0cb0")  # git describe of an upstream build
    assert not is_package_version("1.1.12")
    assert not is_package_version("20.10.24+dfsg1")  # no revision: not the package's version
    assert is_distribution_build("20.10.24+dfsg1") and is_distribution_build("1.6.20~ds1")
    assert not is_distribution_build("24.0.7")
    assert debian_release_of("1.6.20~ds1-1+deb12u3") == "bookworm"
    assert debian_release_of("1.1.12") is None


@pytest.mark.parametrize(
    ("release", "proc_version", "signature", "expected"),
    [
        ("6.18.44-fc-v669", "", "", "6.18.44"),
        ("6.1.0-18-amd64", "Linux version 6.1.0-18-amd64 ... #1 SMP PREEMPT_DYNAMIC "
         "Debian 6.1.76-1 (2024-02-01)", "", "6.1.76"),
        ("5.15.0-91-generic", "", "Ubuntu 5.15.0-91.101-generic 5.15.131", "5.15.131"),
        ("6.5.6-300.fc39.x86_64", "", "", "6.5.6"),
        ("6.6.12-linuxkit", "", "", "6.6.12"),
        ("5.15.133.1-microsoft-standard-WSL2", "", "", "5.15.133"),
        ("6.8.0", "", "", "6.8.0"),
    ],
)  # fmt: skip
def test_the_upstream_release_a_kernel_carries(release, proc_version, signature, expected):
    assert kernel_upstream(release, proc_version, signature)[0] == expected


@pytest.mark.parametrize("release", ["6.1.0-18-amd64", "5.15.0-91-generic", "4.18.0-513.el8"])
def test_distribution_kernels_without_their_upstream_release_are_not_guessed(release):
    version, why = kernel_upstream(release)
    assert version is None and release in why


# --- the table and its verdicts ------------------------------------------------------------


def test_the_shipped_table_loads_and_names_the_well_known_escapes():
    table = load_table()
    ids = {entry.id for entry in table.entries}
    assert {"CVE-2019-5736", "CVE-2024-21626", "CVE-2020-15257", "CVE-2024-41110",
            "CVE-2022-0847"} <= ids  # fmt: skip
    assert isinstance(table.reviewed, date)
    for entry in table.entries:
        assert entry.source.startswith("https://") and entry.fixed
        for release, version in entry.debian.items():
            if version not in ("unfixed", "not-affected"):
                assert debian_at_least(version, version), (entry.id, release)
    assert {e.component for e in table.entries} == {"kernel", "engine", "containerd", "runc"}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('reviewed = 2026-01-01\n[[vulnerability]]\nid = "X"\n', "`component` is missing"),
        ('[[vulnerability]]\nid = "X"\n', "reviewed"),
        (
            'reviewed = 2026-01-01\n[[vulnerability]]\nid = "X"\ncomponent = "nginx"\n'
            'title = "t"\nseverity = "error"\nfixed = ["1"]\nsource = "https://x"\n',
            "component must be one of",
        ),
        (
            'reviewed = 2026-01-01\n[[vulnerability]]\nid = "X"\ncomponent = "runc"\n'
            'title = "t"\nseverity = "error"\nfixed = ["soon"]\nsource = "https://x"\n',
            "'soon' is not a version",
        ),
        ("reviewed = 2026-01-01\n", "no [[vulnerability]]"),
        ("reviewed = [", "cannot read"),
    ],
)
def test_a_broken_hand_edit_of_the_table_is_named(tmp_path: Path, text, complaint):
    path = tmp_path / "table.toml"
    path.write_text(text)
    with pytest.raises(DjshipError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        load_table(path)


def entry(cve: str):
    return next(e for e in load_table().entries if e.id == cve)


def test_debian_backports_count_as_fixed():
    runc = Installed("runc", "1.1.5+ds1", "1.1.5+ds1-1+deb12u1", "debian", "bookworm")
    assert judge(entry("CVE-2024-21626"), runc).status == FIXED_BY_DISTRIBUTION
    before = Installed("runc", "1.1.5+ds1", "1.1.5+ds1-1", "debian", "bookworm")
    verdict = judge(entry("CVE-2024-21626"), before)
    assert verdict.status == AFFECTED and verdict.fixed_in.startswith("1.1.5+ds1-1+deb12u1")
    assert "security-tracker.debian.org" in verdict.source


def test_unfixed_in_the_distribution_is_affected_and_says_since_when():
    runc = Installed("runc", "1.1.5+ds1", "1.1.5+ds1-1+deb12u1", "debian", "bookworm")
    verdict = judge(entry("CVE-2025-31133"), runc, date(2026, 12, 2))
    assert verdict.status == AFFECTED and verdict.unfixed == "Debian bookworm"
    assert "1.2.8" in verdict.fixed_in and "as of 2026-12-02" in verdict.fixed_in


def test_upstream_builds_and_unknown_distribution_builds():
    assert judge(entry("CVE-2024-21626"), Installed("runc", "1.1.12")).status == FIXED
    assert judge(entry("CVE-2024-21626"), Installed("runc", "1.1.11")).status == AFFECTED
    ubuntu = Installed("runc", "1.1.7-0ubuntu1~22.04.2", "1.1.7-0ubuntu1~22.04.2", "ubuntu")
    assert judge(entry("CVE-2024-21626"), ubuntu).status == MAY_BE_AFFECTED
    # Debian's engine seen remotely: the package revision (deb12u1 or not) is not known.
    remote = Installed("engine", "20.10.24+dfsg1", "", "debian", "bookworm")
    assert judge(entry("CVE-2024-41110"), remote).status == MAY_BE_AFFECTED


# --- the host: components, verdicts, settings, machine ----------------------------------------


def test_components_with_their_debian_package_versions():
    local = host.LocalFacts(packages={"docker.io": "20.10.24+dfsg1-1+deb12u1+b6"})
    found = {c.component: c for c in host.components(facts(local=local))}
    assert found["runc"].package == "1.1.5+ds1-1+deb12u1"
    assert found["containerd"].package == "1.6.20~ds1-1+deb12u3"
    assert found["engine"].package == "20.10.24+dfsg1-1+deb12u1+b6"
    assert found["engine"].release == "bookworm" and found["engine"].distribution == "debian"
    upstream = {c.component: c for c in host.components(facts(version=DOCKER_CE_VERSION))}
    assert upstream["runc"].package == "" and upstream["runc"].version == "1.1.10"


def test_this_machine_kind_of_host_is_reported_with_cves_and_fixed_versions():
    local = host.LocalFacts(packages={"docker.io": "20.10.24+dfsg1-1+deb12u1+b6"})
    findings, checks = host.host_vulnerabilities(load_table(), facts(local=local))
    affected = {f.rule: f for f in findings}
    assert set(affected) == {"CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}
    for finding in affected.values():
        assert finding.severity == ERROR and finding.installed == "1.1.5+ds1-1+deb12u1"
        assert "1.2.8" in finding.fixed and finding.source.startswith("https://")
    results = {check.subject: check.results for check in checks}
    assert results["runc"]["CVE-2024-21626"] == FIXED_BY_DISTRIBUTION
    assert results["engine"]["CVE-2024-41110"] == FIXED_BY_DISTRIBUTION
    assert results["kernel"]["CVE-2022-0847"] == FIXED


def test_docker_ce_upstream_components_on_old_releases():
    findings, _ = host.host_vulnerabilities(load_table(), facts(version=DOCKER_CE_VERSION))
    found = rules(findings)
    assert found["CVE-2024-21626"] == ERROR  # runc 1.1.10 < 1.1.12
    assert found["CVE-2024-41110"] == NOTE  # affected, but no authorization plugin here
    with_authz = facts(version=DOCKER_CE_VERSION)
    with_authz.info["Plugins"] = {"Authorization": ["opa-docker-authz"]}
    assert rules(host.host_vulnerabilities(load_table(), with_authz)[0])["CVE-2024-41110"] == (
        ERROR
    )


def test_a_kernel_whose_version_tells_nothing_is_not_checked_rather_than_clean():
    debian = facts()
    debian.info["KernelVersion"] = "6.1.0-18-amd64"
    findings, _ = host.host_vulnerabilities(load_table(), debian)
    kernel = next(f for f in findings if f.rule == "kernel-not-checked")
    assert kernel.severity == WARNING and kernel.status == "not checked"
    local = host.LocalFacts(proc_version="Linux version 6.1.0-18-amd64 Debian 6.1.76-1")
    findings, checks = host.host_vulnerabilities(load_table(), facts(info=debian.info, local=local))
    assert "kernel-not-checked" not in rules(findings)
    assert "upstream 6.1.76" in next(c.version for c in checks if c.subject == "kernel")


def test_engine_settings_of_a_default_install():
    found = rules(host.engine_settings(facts()))
    assert found == {"engine-no-user-namespaces": WARNING, "engine-no-live-restore": NOTE}


def test_hardened_settings_raise_nothing():
    info = dict(DOCKER_INFO, LiveRestoreEnabled=True)
    info["SecurityOptions"] = ["name=seccomp,profile=default", "name=userns"]
    assert host.engine_settings(facts(info=info)) == []
    info["SecurityOptions"] = ["name=seccomp,profile=default", "name=rootless"]
    assert host.engine_settings(facts(info=info)) == []
    swarm = dict(info, LiveRestoreEnabled=False, Swarm={"LocalNodeState": "active"})
    assert host.engine_settings(facts(info=swarm)) == []  # live-restore: not on Swarm


def test_an_unconfined_seccomp_profile_is_a_warning():
    info = dict(DOCKER_INFO, SecurityOptions=["name=seccomp,profile=unconfined"])
    assert rules(host.engine_settings(facts(info=info)))["engine-no-seccomp"] == WARNING


def test_the_daemon_socket_over_tcp_without_tls_is_an_error():
    from_warning = host.tcp_findings(facts(info=dict(DOCKER_INFO, Warnings=[TCP_WARNING])))
    assert rules(from_warning) == {"engine-tcp-without-tls": ERROR}
    assert "http://0.0.0.0:2375" in from_warning[0].message
    args = ("/usr/bin/dockerd", "-H", "unix:///var/run/docker.sock", "-H", "tcp://0.0.0.0:2375")
    from_args = host.tcp_findings(facts(local=host.LocalFacts(daemon_args=args)))
    assert "tcp://0.0.0.0:2375" in from_args[0].message
    config = host.LocalFacts(daemon_config={"hosts": ["tcp://10.0.0.5:2376"]})
    assert rules(host.tcp_findings(facts(local=config))) == {"engine-tcp-without-tls": ERROR}
    verified = host.LocalFacts(daemon_args=(*args, "--tlsverify"))
    assert host.tcp_findings(facts(local=verified)) == []
    client = host.tcp_findings(facts(docker_host="tcp://build-box:2375"))
    assert rules(client) == {"client-tcp-without-tls": ERROR}
    assert host.tcp_findings(facts(docker_host="tcp://build-box:2376", tls_verify=True)) == []


def test_privileged_containers_and_socket_mounts():
    containers = (
        {"Name": "/ci-runner", "HostConfig": {"Privileged": True},
         "Mounts": [{"Source": "/var/run/docker.sock"}]},
        {"Name": "/shop-web-1", "HostConfig": {"Privileged": False}, "Mounts": []},
    )  # fmt: skip
    found = host.engine_settings(facts(containers=containers))
    subjects = {(f.rule, f.subject) for f in found}
    assert ("container-privileged", "container ci-runner") in subjects
    assert ("container-docker-socket", "container ci-runner") in subjects
    assert not any("shop-web-1" in f.subject for f in found)


@pytest.mark.parametrize(
    ("info", "local", "kind", "what"),
    [
        ({"OperatingSystem": "Docker Desktop", "KernelVersion": "6.6.12-linuxkit"}, None,
         "docker-desktop", "Docker Desktop's Linux VM"),
        ({"OperatingSystem": "Ubuntu 22.04.3 LTS",
          "KernelVersion": "5.15.133.1-microsoft-standard-WSL2"}, None, "wsl", "WSL 2"),
        ({"OperatingSystem": "Debian GNU/Linux 12 (bookworm)"}, None, "unknown", "remote"),
        ({}, host.LocalFacts(detect_virt="kvm", cpu_hypervisor=True), "vm", "a KVM VM"),
        ({}, host.LocalFacts(detect_virt="amazon"), "vm", "Amazon EC2"),
        ({}, host.LocalFacts(detect_virt="none"), "bare-metal", "bare metal"),
        ({}, host.LocalFacts(dmi_vendor="Google", dmi_product="Google Compute Engine"), "vm",
         "Google Compute Engine"),
        ({}, host.LocalFacts(dmi_vendor="QEMU", dmi_product="Standard PC (Q35 + ICH9, 2009)"),
         "vm", "QEMU"),
        ({}, host.LocalFacts(cpu_hypervisor=True), "vm", "a VM"),
        ({}, host.LocalFacts(dmi_vendor="Dell Inc.", dmi_product="PowerEdge R650"),
         "bare-metal", "bare metal"),
    ],
)  # fmt: skip
def test_bare_metal_or_vm(info, local, kind, what):
    found = host.machine(facts(info=info, local=local))
    assert found.kind == kind and what in found.what
    finding = host.machine_finding(found)
    assert finding.severity == NOTE
    if kind == "docker-desktop":
        assert "bind mounts" in finding.why and "slower" in finding.why
    if kind == "vm":
        assert "hypervisor" in finding.why and "native" in finding.why
    if kind == "bare-metal":
        assert "no second wall" in finding.why


def test_the_engine_is_local_only_when_name_and_kernel_match():
    info = {"Name": "vm", "KernelVersion": "6.18.44-fc-v669"}
    assert host.engine_is_local(info, "", "vm", "6.18.44-fc-v669")
    assert host.engine_is_local(info, "unix:///var/run/docker.sock", "vm", "6.18.44-fc-v669")
    assert not host.engine_is_local(info, "ssh://deploy@prod", "vm", "6.18.44-fc-v669")
    assert not host.engine_is_local(info, "", "laptop", "6.18.44-fc-v669")
    assert not host.engine_is_local(info, "", "vm", "6.6.12-linuxkit")


def test_an_old_table_says_so():
    table = load_table()
    assert host.table_findings(table, table.reviewed + timedelta(days=30)) == []
    stale = host.table_findings(table, table.reviewed + timedelta(days=400))
    assert rules(stale) == {"table-stale": WARNING}


# --- images ------------------------------------------------------------------------------


def test_pending_security_updates_from_apt():
    result = images.parse_security_updates(APT_OUTPUT)
    assert result.os == "debian 13 trixie" and not result.error
    assert [u.line() for u in result.updates][0] == "login.defs 1:4.17.4-2 -> 1:4.17.4-2+deb13u1"
    assert result.updates[2].origin == "Debian-Security:13/stable-security"
    findings = images.update_findings("image shop-web:1", result, "python:3.13-slim",
                                      {"login.defs", "passwd", "libzstd1", "bash"})  # fmt: skip
    assert rules(findings) == {"image-security-updates": WARNING}
    assert "3 of them in the base image python:3.13-slim" in findings[0].message
    assert len(findings[0].details) == 3


def test_updates_of_the_release_s_own_packages_come_with_a_refresh():
    result = images.parse_security_updates(APT_OUTPUT)
    own = images.update_findings("image r", result, "python:3.13-slim", {"bash"})[0]
    assert "0 of them in the base image" in own.message
    assert own.fix.startswith("`djship refresh` brings them now")
    mixed = images.update_findings("image r", result, "python:3.13-slim", {"passwd"})[0]
    assert "newer base" in mixed.fix and "The others come with `djship refresh`" in mixed.fix


def test_pending_updates_from_apk_and_the_not_checked_cases():
    result = images.parse_security_updates(APK_OUTPUT)
    assert [(u.name, u.installed, u.candidate) for u in result.updates] == [
        ("busybox", "1.36.1-r29", "1.36.1-r30"),
        ("py3-cffi", "1.16.0-r1", "1.16.0-r2"),
    ]
    offline = images.parse_security_updates(
        "djship-os debian 13 trixie\ndjship-error apt-get update from "
        "http://deb.debian.org/debian-security trixie-security failed: Err:1 ...\n"
    )
    finding = images.update_findings("image x", offline)[0]
    assert finding.status == "not checked" and finding.severity == WARNING
    broken = images.parse_security_updates("exec: sh: not found", 127)
    assert "exit code 127" in broken.error
    assert images.update_findings("image x", images.SecurityUpdates("debian 13 trixie")) == []


def test_the_security_check_asks_only_the_security_suite_as_root_on_the_bridge():
    argv = images.security_updates_command("shop-web:1").argv
    assert argv[:10] == ["docker", "run", "--rm", "--entrypoint", "sh", "--user", "0",
                         "--network", "bridge", "shop-web:1"]  # fmt: skip
    script = argv[-1]
    assert "${VERSION_CODENAME}-security" in script and images.DEBIAN_SECURITY in script
    assert "Dir::Etc::SourceParts" in script  # the image's other sources are left out
    assert "apk version -l '<'" in script


def test_installed_package_lists():
    dpkg = "djship-format dpkg\nadduser\t3.152\nbash\t5.2.37-2+b10\n"
    assert images.parse_packages(dpkg) == {"adduser": "3.152", "bash": "5.2.37-2+b10"}
    apk = "djship-format apk\nmusl-1.2.5-r0\npy3-cffi-1.16.0-r1\n"
    assert images.parse_packages(apk) == {"musl": "1.2.5-r0", "py3-cffi": "1.16.0-r1"}
    assert images.parse_packages("djship-error neither dpkg nor apk in the image\n") is None


def image(created: str, layers: tuple[str, ...]) -> images.ImageFacts:
    data = [{"Id": "sha256:1", "Created": created, "RootFS": {"Layers": list(layers)}}]
    return images.ImageFacts.from_inspect(json.dumps(data))


def test_base_image_age():
    base = image("2026-09-01T04:38:00.236055654Z", ("a", "b"))
    release = image("2026-12-01T10:00:00Z", ("a", "b", "c"))
    assert base.created == datetime(2026, 9, 1, 4, 38, 0, 236055, tzinfo=UTC)
    findings, fact = images.base_findings("image r", "python:3.13-slim", release, base, NOW)
    assert rules(findings) == {"image-base-old": WARNING} and "92 days ago" in fact
    fresh = image("2026-11-20T00:00:00Z", ("a", "b"))
    assert images.base_findings("image r", "python:3.13-slim", release, fresh, NOW)[0] == []
    other = image("2026-11-30T00:00:00Z", ("x",))
    assert rules(images.base_findings("image r", "py", release, other, NOW)[0]) == {
        "image-base-changed": WARNING
    }
    missing = images.base_findings("image r", "python:3.13-slim", release, None, NOW)[0]
    assert missing[0].status == "not checked"


# --- Python advisories ---------------------------------------------------------------------


def test_pip_audit_findings_name_the_cve_and_the_fixed_versions():
    result = python_advisories.parse_pip_audit(json.dumps(PIP_AUDIT_OUTPUT), "pypi")
    assert result.audited == (("django", "4.2.0"), ("sqlparse", "0.5.3"))
    findings = python_advisories.advisory_findings("image r", result, [])
    vuln = next(f for f in findings if f.rule == "CVE-2023-36053")
    assert vuln.severity == ERROR and vuln.installed == "4.2.0" and "4.2.2" in vuln.fixed
    assert vuln.source == "https://osv.dev/vulnerability/PYSEC-2023-100"
    partly = next(f for f in findings if f.rule == "python-partly-checked")
    assert partly.severity == WARNING and "private-lib" in partly.details[0]


def test_no_advisory_source_answering_is_not_checked_never_clean():
    skipped = python_advisories.parse_pip_audit(json.dumps(ALL_SKIPPED), "pypi")
    findings = python_advisories.advisory_findings("image r", skipped, ["pypi: none looked up"])
    assert [(f.rule, f.severity, f.status) for f in findings] == [
        ("python-not-checked", WARNING, "not checked")
    ]
    assert "not checked" in findings[0].message
    nothing = python_advisories.advisory_findings("image r", None, ["uvx: offline"])
    assert nothing[0].rule == "python-not-checked" and "uvx: offline" in nothing[0].why
    assert python_advisories.parse_pip_audit("Traceback ...", "osv") is None


def test_pip_audit_is_found_and_run_on_the_image_requirements():
    assert python_advisories.audit_tool(lambda name: "/x" if name == "pip-audit" else None) == [
        "pip-audit"
    ]
    assert python_advisories.audit_tool(lambda name: "/x" if name == "uvx" else None) == [
        "uvx", "pip-audit"
    ]  # fmt: skip
    assert python_advisories.audit_tool(lambda name: None) is None
    argv = python_advisories.pip_audit_command(["uvx", "pip-audit"], "/tmp/r.txt", "osv").argv
    assert argv[:4] == ["uvx", "pip-audit", "--requirement", "/tmp/r.txt"]
    assert "--no-deps" in argv and argv[argv.index("--vulnerability-service") + 1] == "osv"
    assert python_advisories.requirements([("Django", "5.2.1")]) == "Django==5.2.1\n"
    listed = python_advisories.parse_distributions('[["Django", "5.2.1"], ["pip", "25.0"]]')
    assert listed == [("Django", "5.2.1"), ("pip", "25.0")]
    assert python_advisories.parse_distributions("") is None


# --- the report -------------------------------------------------------------------------


def finding(severity: str, rule: str = "r") -> Finding:
    return Finding(rule, severity, "engine", "m", "w", "f")


@pytest.mark.parametrize(
    ("severities", "code"),
    [((), 0), ((NOTE,), 0), ((NOTE, WARNING), 1), ((WARNING, ERROR, NOTE), 2)],
)
def test_exit_code_follows_the_worst_severity(severities, code):
    report = Report(findings=[finding(s) for s in severities])
    assert report.exit_code == code
    assert json.loads(as_json(report))["exit_code"] == code


def test_renderings_carry_cve_versions_and_link():
    cve = Finding(
        "CVE-2025-31133", ERROR, "runc 1.1.5+ds1-1+deb12u1", "runc is affected", "why", "fix",
        status="affected", installed="1.1.5+ds1-1+deb12u1", fixed="1.2.8, 1.3.3",
        source="https://example.org/advisory",
    )  # fmt: skip
    report = Report(
        facts={"engine": "Docker 20.10.24+dfsg1"},
        findings=[finding(NOTE, "machine-vm"), cve],
        checks=[Check("runc", "1.1.5+ds1-1+deb12u1", {"CVE-2024-21626": "fixed"})],
        reviewed="2026-12-02",
    )
    text = as_text(report)
    assert text.index("CVE-2025-31133") < text.index("machine-vm")  # worst first
    assert "fixed in: 1.2.8, 1.3.3" in text and "see: https://example.org/advisory" in text
    assert "CVE-2024-21626 fixed" in text and text.endswith("1 error, 1 note")
    data = json.loads(as_json(report))
    assert data["findings"][0]["rule"] == "CVE-2025-31133"
    assert data["findings"][0]["fixed"] == "1.2.8, 1.3.3"
    assert data["table_reviewed"] == "2026-12-02" and data["counts"]["error"] == 1
    assert as_text(Report()).endswith("everything djship checks is up to date.")


# --- refresh decisions ----------------------------------------------------------------------


def test_a_refresh_is_a_new_version_of_the_same_source():
    assert (
        refresh.refresh_version(Source("0123456789abcdef0123"), NOW)
        == "0123456789ab-refresh-20261202-050000"
    )
    assert refresh.refresh_version(Source(None), NOW) == "20261202-050000-refresh"


@pytest.mark.parametrize(
    ("details", "source", "problem"),
    [
        ({"revision": "abc", "dirty": False}, Source("abc"), None),
        ({"revision": "abc", "dirty": False}, Source("def"), "is not release v1's source"),
        ({"revision": "abc", "dirty": False}, Source("abc", dirty=True), "uncommitted"),
        ({"revision": "abc", "dirty": True}, Source("abc"), "built from uncommitted"),
        ({"revision": "", "dirty": False}, Source(None), None),
        ({"revision": "", "dirty": False}, Source("abc"), "built outside git"),
    ],
)
def test_only_the_live_release_s_own_source_is_rebuilt(details, source, problem):
    found = refresh.source_problem("v1", details, source)
    assert (found is None) if problem is None else (problem in found)


def test_the_rebuild_skips_the_layer_cache_and_pulls_where_a_registry_answers():
    assert refresh.build_flags(pulled=False) == ["--no-cache"]
    assert refresh.build_flags(pulled=True) == ["--no-cache", "--pull"]
    compose = Compose(Project(Path("/project")), "prod", plain=True)
    argv = refresh.build_command(compose, pulled=False).argv
    assert argv[-3:] == ["build", "--no-cache", "web"]
    assert "environments/prod/compose.yaml" in argv


def test_package_changes_and_when_to_ship():
    before = {"libssl3": "3.0.11-1", "bash": "5.2-1", "gone": "1"}
    after = {"libssl3": "3.0.13-1", "bash": "5.2-1", "new": "2"}
    changes = refresh.diff_packages(before, after)
    assert changes.lines() == ["libssl3 3.0.11-1 -> 3.0.13-1", "new 2 (new)", "gone 1 (removed)"]
    same = refresh.diff_packages(before, dict(before))
    assert not same.any and same.total == 3
    assert not refresh.should_ship(same, base_changed=False, force=False)
    assert refresh.should_ship(same, base_changed=False, force=True)
    assert refresh.should_ship(same, base_changed=True, force=False)
    assert refresh.should_ship(changes, base_changed=False, force=False)
    assert refresh.should_ship(None, base_changed=False, force=False)  # cannot tell: ship
