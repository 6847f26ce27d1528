"""The host's side of the audit: facts gathered from the engine (`docker version`, `docker
info`, the running containers) and, when the engine runs on this machine, from the machine
itself (kernel strings, hypervisor hints, Debian package versions, the daemon's command line
and daemon.json); then the decisions, pure and unit-tested on recorded inputs: the
components and their versions, the table's verdicts, the engine's settings, and whether the
engine runs on bare metal or in a VM (and what that changes)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from djship.engine.docker import Docker
from djship.engine.runner import Command, capture
from djship.errors import DjshipError
from djship.security.report import (
    AFFECTED,
    ERROR,
    INFO,
    MAY_BE_AFFECTED,
    NOT_CHECKED,
    NOTE,
    SETTING,
    WARNING,
    Check,
    Finding,
)
from djship.security.versions import is_package_version, kernel_upstream, upstream_version
from djship.security.vulnerabilities import AFFECTED as VERDICT_AFFECTED
from djship.security.vulnerabilities import (
    FIXED,
    FIXED_BY_DISTRIBUTION,
    STALE_AFTER_DAYS,
    Installed,
    Table,
    Verdict,
    judge,
)

DEBIAN_PACKAGES = {"engine": "docker.io", "containerd": "containerd", "runc": "runc"}
SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")
VM_VENDORS = {  # DMI sys_vendor / product_name fragments -> what they name
    "amazon ec2": "a cloud VM (Amazon EC2)",
    "google": "a cloud VM (Google Compute Engine)",
    "digitalocean": "a cloud VM (DigitalOcean)",
    "hetzner": "a cloud VM (Hetzner)",
    "openstack": "a cloud VM (OpenStack)",
    "scaleway": "a cloud VM (Scaleway)",
    "virtual machine": "a Hyper-V VM (Azure or Hyper-V)",
    "qemu": "a QEMU/KVM VM",
    "kvm": "a KVM VM",
    "vmware": "a VMware VM",
    "virtualbox": "a VirtualBox VM",
    "innotek": "a VirtualBox VM",
    "xen": "a Xen VM",
    "parallels": "a Parallels VM",
    "bochs": "a QEMU/KVM VM",
}
DETECT_VIRT_NAMES = {
    "amazon": "a cloud VM (Amazon EC2)",
    "google": "a cloud VM (Google Compute Engine)",
    "microsoft": "a Hyper-V VM (Azure or Hyper-V)",
    "oracle": "a VirtualBox VM",
}


# --- facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalFacts:
    """The machine djship runs on, read only when the engine runs on it too."""

    proc_version: str = ""
    version_signature: str = ""
    detect_virt: str | None = None  # `systemd-detect-virt --vm`; None when not installed
    dmi_vendor: str = ""
    dmi_product: str = ""
    cpu_hypervisor: bool = False
    packages: dict[str, str] = field(default_factory=dict)  # Debian package -> version
    daemon_args: tuple[str, ...] = ()  # dockerd's command line
    daemon_config: dict = field(default_factory=dict)  # /etc/docker/daemon.json


@dataclass(frozen=True)
class HostFacts:
    version: dict  # `docker version --format json`
    info: dict  # `docker info --format json`
    containers: tuple[dict, ...] = ()  # `docker inspect` of the running containers
    local: LocalFacts | None = None
    docker_host: str = ""  # the client's DOCKER_HOST ("" = the default socket)
    tls_verify: bool = False  # DOCKER_TLS_VERIFY


def gather(docker: Docker | None = None) -> HostFacts:
    """Ask the engine, then this machine when the engine runs here."""
    docker = docker or Docker()
    info_run = capture(docker.command("info", "--format", "{{json .}}"), check=False)
    if info_run.returncode != 0:
        raise DjshipError(
            "the Docker daemon is not answering: the audit needs it",
            hint="Start it (`sudo systemctl start docker`, or Docker Desktop) and try again.",
        )
    info = json.loads(info_run.stdout)
    version = json.loads(
        capture(docker.command("version", "--format", "{{json .}}"), check=False).stdout or "{}"
    )
    ids = capture(docker.command("ps", "--quiet"), check=False).stdout.split()
    containers = json.loads(capture(docker.inspect("container", *ids)).stdout) if ids else []
    docker_host = docker.host or os.environ.get("DOCKER_HOST", "")
    local = gather_local() if engine_is_local(info, docker_host) else None
    return HostFacts(
        version=version,
        info=info,
        containers=tuple(containers),
        local=local,
        docker_host=docker_host,
        tls_verify=bool(os.environ.get("DOCKER_TLS_VERIFY")),
    )


def engine_is_local(
    info: dict, docker_host: str, hostname: str | None = None, release: str | None = None
) -> bool:
    """The engine runs on this machine: a local socket, and the engine's host name and kernel
    are this machine's (Docker Desktop's VM has its own)."""
    if docker_host and not docker_host.startswith("unix://"):
        return False
    hostname = hostname if hostname is not None else socket.gethostname()
    release = release if release is not None else os.uname().release
    return info.get("Name") == hostname and info.get("KernelVersion") == release


def read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def gather_local() -> LocalFacts:
    detect_virt = None
    if shutil.which("systemd-detect-virt"):
        detect_virt = capture(Command(["systemd-detect-virt", "--vm"]), check=False).stdout
        detect_virt = detect_virt.strip() or "none"
    packages = {}
    if shutil.which("dpkg-query"):
        listing = capture(
            Command(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n",
                     *DEBIAN_PACKAGES.values()]),
            check=False,
        ).stdout  # fmt: skip
        packages = dict(line.split("\t", 1) for line in listing.splitlines() if "\t" in line)
    try:
        daemon_config = json.loads(read("/etc/docker/daemon.json") or "{}")
    except ValueError:
        daemon_config = {}
    return LocalFacts(
        proc_version=read("/proc/version"),
        version_signature=read("/proc/version_signature"),
        detect_virt=detect_virt,
        dmi_vendor=read("/sys/class/dmi/id/sys_vendor"),
        dmi_product=read("/sys/class/dmi/id/product_name"),
        cpu_hypervisor=bool(re.search(r"^flags\s*:.*\bhypervisor\b", read("/proc/cpuinfo"), re.M)),
        packages=packages,
        daemon_args=tuple(dockerd_command_line()),
        daemon_config=daemon_config if isinstance(daemon_config, dict) else {},
    )


def dockerd_command_line() -> list[str]:
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(argv[0].decode(errors="replace")).name == "dockerd":
            return [arg.decode(errors="replace") for arg in argv if arg]
    return []


# --- components and the table ------------------------------------------------------------


def distribution_of(info: dict) -> tuple[str, str]:
    """(distribution, codename) of the engine's machine from `docker info`:
    "Debian GNU/Linux 12 (bookworm)" -> ("debian", "bookworm")."""
    text = info.get("OperatingSystem", "")
    codename = re.search(r"\(([a-z]+)\)", text)
    name = text.split()[0].lower() if text.split() else ""
    return name, codename.group(1) if codename else ""


def components(facts: HostFacts) -> list[Installed]:
    """engine, containerd and runc with their versions; the distribution package's full
    version when one is known (the engine reports it for containerd and runc; dpkg on the
    engine's machine tells it for docker.io)."""
    distribution, release = distribution_of(facts.info)
    server = facts.version.get("Server") or {}
    found = {}
    for item in server.get("Components") or []:
        name = {"Engine": "engine", "containerd": "containerd", "runc": "runc"}.get(item["Name"])
        if name:
            found[name] = (
                item.get("Version", ""),
                (item.get("Details") or {}).get("GitCommit", ""),
            )
    if "engine" not in found and facts.info.get("ServerVersion"):
        found["engine"] = (facts.info["ServerVersion"], "")
    for name, key in (("containerd", "ContainerdCommit"), ("runc", "RuncCommit")):
        if name not in found and (facts.info.get(key) or {}).get("ID"):
            found[name] = ((facts.info[key])["ID"], facts.info[key]["ID"])
    installed = []
    for name, (version, commit) in found.items():
        package = commit if is_package_version(commit) else ""
        if not package and is_package_version(version):
            package = version
        local = facts.local.packages if facts.local else {}
        dpkg = local.get(DEBIAN_PACKAGES[name], "")
        if not package and dpkg and _same_upstream(dpkg, version):
            package = dpkg
        installed.append(Installed(name, version, package, distribution, release))
    return installed


def _same_upstream(package: str, version: str) -> bool:
    return upstream_version(package) == upstream_version(version)


def kernel(facts: HostFacts) -> tuple[Installed | None, str, str]:
    """(the kernel as a component, or None; its release; how its upstream version was read,
    or why it could not be)."""
    release = facts.info.get("KernelVersion", "")
    local = facts.local or LocalFacts()
    version, how = kernel_upstream(release, local.proc_version, local.version_signature)
    if version is None:
        return None, release, how
    return Installed("kernel", version), release, how


def vulnerability_findings(
    table: Table, installed: Installed, facts: HostFacts, subject: str
) -> tuple[list[Finding], Check]:
    """The table's verdicts for one component: findings for what is (or may be) affected,
    and the record of every entry compared."""
    findings, results = [], {}
    authz = bool((facts.info.get("Plugins") or {}).get("Authorization"))
    for entry in table.of(installed.component):
        verdict = judge(entry, installed, table.reviewed)
        results[entry.id] = verdict.status
        if verdict.status in (FIXED, FIXED_BY_DISTRIBUTION):
            continue
        affected = verdict.status == VERDICT_AFFECTED
        severity = entry.severity if affected else WARNING
        why = entry.title[0].upper() + entry.title[1:] + "."
        if entry.condition == "authz-plugin" and not authz:
            severity = NOTE
            why += " Only setups with an authorization plugin are exposed: this engine has none."
        message = (
            f"{installed.component} is affected by {entry.id}"
            if affected
            else f"{installed.component} may be affected by {entry.id}: a distribution build "
            "whose backports the table does not record here"
        )
        findings.append(
            Finding(
                rule=entry.id,
                severity=severity,
                subject=subject,
                message=message,
                why=why,
                fix=fix_for(installed, verdict, affected),
                status=AFFECTED if affected else MAY_BE_AFFECTED,
                installed=installed.shown,
                fixed=verdict.fixed_in,
                source=verdict.source,
            )
        )
    return findings, Check(subject.split()[0], installed.shown, results)


def fix_for(installed: Installed, verdict: Verdict, affected: bool) -> str:
    fixed_in = verdict.fixed_in
    what = {
        "kernel": "Upgrade the kernel of the engine's machine (then reboot it)",
        "engine": "Upgrade the Docker engine",
        "containerd": "Upgrade containerd",
        "runc": "Upgrade runc (every new container then starts with it)",
    }[installed.component]
    if verdict.unfixed:
        return (
            f"{verdict.unfixed} has no fixed {installed.component} package yet: watch "
            f"{verdict.entry.debian_tracker}; meanwhile take {installed.component} "
            f"{', '.join(verdict.entry.fixed)} from upstream or a newer release, or narrow the "
            "exposure (only trusted images and Dockerfiles, user namespaces)."
        )
    if not affected:
        return (
            f"Check the distribution's security tracker for {installed.shown}; if it is not "
            f"fixed there, {what[0].lower()}{what[1:]} to {fixed_in} or later."
        )
    return f"{what} to {fixed_in} or later."


def table_findings(table: Table, today: date) -> list[Finding]:
    age = table.age_days(today)
    if age <= STALE_AFTER_DAYS:
        return []
    return [
        Finding(
            rule="table-stale",
            severity=WARNING,
            subject="vulnerability table",
            message=f"the vulnerability table was last reviewed {age} days ago "
            f"({table.reviewed.isoformat()})",
            why="Escapes announced since then are not in it: an old table reports old news only.",
            fix="Update djship, or review src/djship/security/data/vulnerabilities.toml "
            "against new runc, containerd, Docker and kernel advisories and bump `reviewed`.",
            status=NOT_CHECKED,
        )
    ]


def host_vulnerabilities(table: Table, facts: HostFacts) -> tuple[list[Finding], list[Check]]:
    findings, checks = [], []
    for item in components(facts):
        found, check = vulnerability_findings(table, item, facts, f"{item.component} {item.shown}")
        findings += found
        checks.append(check)
    installed, release, how = kernel(facts)
    if installed is None:
        findings.append(
            Finding(
                rule="kernel-not-checked",
                severity=WARNING,
                subject=f"kernel {release}",
                message="the kernel was not checked against the table",
                why=how[0].upper() + how[1:] + ".",
                fix="Check the kernel's security updates with its distribution (run the audit "
                "on the engine's machine to read /proc/version there).",
                status=NOT_CHECKED,
                installed=release,
            )
        )
    else:
        found, check = vulnerability_findings(table, installed, facts, f"kernel {release}")
        findings += found
        checks.append(Check("kernel", f"{release} (upstream {installed.version}, from {how})",
                            check.results))  # fmt: skip
    return findings, checks


# --- the engine's settings ---------------------------------------------------------------


def engine_settings(facts: HostFacts) -> list[Finding]:
    info = facts.info
    findings = tcp_findings(facts)
    options = " ".join(info.get("SecurityOptions") or [])
    if "name=userns" not in options and "name=rootless" not in options:
        findings.append(
            Finding(
                rule="engine-no-user-namespaces",
                severity=WARNING,
                subject="engine",
                message="no user namespace remapping and not rootless: root in a container is "
                "root on the host",
                why="Every escape above (runc, kernel) then lands as uid 0 on the host. With "
                "userns-remap or rootless mode it lands as an unprivileged user.",
                fix='Set "userns-remap": "default" in /etc/docker/daemon.json and restart the '
                "engine (images and volumes then live under a new root: build or pull them "
                "again), or run Docker rootless.",
                status=SETTING,
            )
        )
    if "name=seccomp" not in options or "profile=unconfined" in options:
        findings.append(
            Finding(
                rule="engine-no-seccomp",
                severity=WARNING,
                subject="engine",
                message="the engine applies no seccomp profile",
                why="Without it, every container may call the kernel's whole system-call "
                "surface, where most kernel escapes start.",
                fix="Remove `seccomp-profile: unconfined` from the engine's settings (the default "
                "profile blocks about 40 rarely needed calls).",
                status=SETTING,
            )
        )
    swarm = (info.get("Swarm") or {}).get("LocalNodeState") == "active"
    if not info.get("LiveRestoreEnabled") and not swarm:
        findings.append(
            Finding(
                rule="engine-no-live-restore",
                severity=NOTE,
                subject="engine",
                message="live-restore is off: restarting the engine (to apply its security "
                "update) stops every container",
                why="Patching dockerd or containerd then means downtime, which is how patches get "
                "postponed. With live-restore, containers keep running while the daemon restarts.",
                fix='Set "live-restore": true in /etc/docker/daemon.json and reload the engine '
                "(not available on Swarm nodes).",
                status=SETTING,
            )
        )
    for container in facts.containers:
        findings += container_findings(container)
    return findings


def tcp_findings(facts: HostFacts) -> list[Finding]:
    """The daemon socket on TCP without TLS client verification: root for whoever reaches
    the port. Docker itself warns in `docker info`; the daemon's command line and
    daemon.json say it too when the engine runs here."""
    exposed = [
        w.strip().splitlines()[0] for w in facts.info.get("Warnings") or []
        if "API is accessible on" in w
    ]  # fmt: skip
    if facts.local is not None:
        hosts = list(facts.local.daemon_config.get("hosts") or [])
        args = list(facts.local.daemon_args)
        hosts += [args[i + 1] for i, arg in enumerate(args[:-1]) if arg in ("-H", "--host")]
        hosts += [arg.split("=", 1)[1] for arg in args if arg.startswith("--host=")]
        verify = "--tlsverify" in args or any(
            a.startswith("--tlsverify=") and a.endswith("true") for a in args
        )
        verify = verify or bool(facts.local.daemon_config.get("tlsverify"))
        if not verify:
            exposed += [f"dockerd listens on {h}" for h in hosts if h.startswith("tcp://")]
    findings = []
    if exposed:
        findings.append(
            Finding(
                rule="engine-tcp-without-tls",
                severity=ERROR,
                subject="engine",
                message="the daemon socket is exposed over TCP without TLS client verification: "
                + "; ".join(dict.fromkeys(exposed)),
                why="Anyone who reaches that port runs containers as root on the host "
                "(`docker -H tcp://... run -v /:/host`): no password, no certificate.",
                fix="Remove the tcp:// host, or use --tlsverify with client certificates "
                "(or reach the engine over SSH: DOCKER_HOST=ssh://user@host).",
                status=SETTING,
                source="https://docs.docker.com/engine/security/protect-access/",
            )
        )
    if facts.docker_host.startswith("tcp://") and not facts.tls_verify:
        findings.append(
            Finding(
                rule="client-tcp-without-tls",
                severity=ERROR,
                subject="client",
                message=f"this client talks to the engine over plain TCP ({facts.docker_host})",
                why="Whoever can reach or watch that connection controls the engine, and the "
                "engine does not check who the client is.",
                fix="Use DOCKER_HOST=ssh://user@host, or TLS with DOCKER_TLS_VERIFY=1 and "
                "client certificates.",
                status=SETTING,
                source="https://docs.docker.com/engine/security/protect-access/",
            )
        )
    return findings


def container_findings(container: dict) -> list[Finding]:
    name = container.get("Name", "").lstrip("/") or container.get("Id", "")[:12]
    host = container.get("HostConfig") or {}
    findings = []
    if host.get("Privileged"):
        findings.append(
            Finding(
                rule="container-privileged",
                severity=WARNING,
                subject=f"container {name}",
                message="runs privileged",
                why="A privileged container has every capability and every device: it is root "
                "on the host, no escape needed.",
                fix="Grant the few capabilities it needs (cap_add) instead of `privileged: true`.",
                status=SETTING,
            )
        )
    mounts = container.get("Mounts") or []
    if any(m.get("Source") in SOCKET_PATHS for m in mounts):
        findings.append(
            Finding(
                rule="container-docker-socket",
                severity=WARNING,
                subject=f"container {name}",
                message="has the Docker socket mounted",
                why="Whoever controls that container controls the engine, hence the host.",
                fix="Remove the socket mount, or put a filtering proxy in front of it.",
                status=SETTING,
            )
        )
    return findings


# --- bare metal or a VM ------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    kind: str  # vm, docker-desktop, wsl, bare-metal, unknown
    what: str  # "a KVM VM"
    how: str  # what told


def machine(facts: HostFacts) -> Machine:
    """Where the engine runs, from the engine's own words, then this machine's files."""
    info = facts.info
    if "docker desktop" in info.get("OperatingSystem", "").lower():
        return Machine("docker-desktop", "Docker Desktop's Linux VM", "docker info")
    if "microsoft" in info.get("KernelVersion", "").lower():
        return Machine("wsl", "the WSL 2 VM (Hyper-V)", "the kernel release")
    local = facts.local
    if local is None:
        return Machine("unknown", "a remote machine", "the engine is not on this machine")
    virt = (local.detect_virt or "").strip()
    if virt and virt != "none":
        what = DETECT_VIRT_NAMES.get(virt, f"a {virt.upper() if len(virt) <= 4 else virt} VM")
        return Machine("vm", what, "systemd-detect-virt")
    dmi = f"{local.dmi_vendor} {local.dmi_product}".lower()
    for fragment, what in VM_VENDORS.items():
        if fragment in dmi:
            return Machine("vm", what, "/sys/class/dmi")
    if local.cpu_hypervisor:
        return Machine("vm", "a VM", "the CPU's hypervisor flag in /proc/cpuinfo")
    if virt == "none":
        return Machine("bare-metal", "bare metal", "systemd-detect-virt")
    return Machine("bare-metal", "bare metal", "no hypervisor in DMI or the CPU flags")


def machine_finding(found: Machine) -> Finding:
    subject = "machine"
    if found.kind in ("vm", "wsl"):
        why = (
            "A container escape stops at this VM's kernel: the hypervisor is a second wall "
            "between containers and the physical machine (and, on a cloud, other tenants). "
            "Everything inside the VM (every container, volume and secret of this engine) is "
            "still exposed to an escape. Bind mounts are native: the engine and the files share "
            "one kernel"
        )
        if found.kind == "wsl":
            why += ", except folders of the Windows side (/mnt/c), which cross into the VM slowly"
        return Finding(
            "machine-vm", NOTE, subject, f"the engine runs in {found.what} (from {found.how})",
            why + ".",
            "Patch the VM's kernel like a host's (the kernel above is the VM's); one VM per "
            "trust boundary when tenants must not meet.",
            status=INFO,
        )  # fmt: skip
    if found.kind == "docker-desktop":
        return Finding(
            "machine-docker-desktop", NOTE, subject,
            f"the engine runs in {found.what} (from {found.how})",
            "Containers are separated from your computer by the VM: an escape lands in the VM, "
            "not in your account. But bind mounts of your folders cross the VM boundary "
            "(virtiofs or gRPC FUSE): file access is several times slower than in a volume or "
            "in the image, and file events can lag.",
            "Keep what is read a lot (the venv, node_modules, the database) in the image or in "
            "volumes; djship's dev setup bind-mounts only the source.",
            status=INFO,
        )  # fmt: skip
    if found.kind == "bare-metal":
        return Finding(
            "machine-bare-metal", NOTE, subject,
            f"the engine runs on bare metal (from {found.how})",
            "A container escape reaches the machine itself and everything on it: there is no "
            "second wall. Bind mounts are native.",
            "Patch the kernel and runc first when an escape is announced; consider user "
            "namespaces (userns-remap) or rootless mode, or a VM per trust boundary.",
            status=INFO,
        )  # fmt: skip
    return Finding(
        "machine-unknown", NOTE, subject,
        f"not known whether the engine runs on bare metal or in a VM ({found.how})",
        "djship reads the machine's hypervisor hints only where the engine runs locally.",
        "Run `djship audit` on the engine's machine to know.",
        status=NOT_CHECKED,
    )  # fmt: skip


def engine_facts(facts: HostFacts, found: Machine) -> dict[str, str]:
    server = facts.version.get("Server") or {}
    return {
        "engine": f"Docker {server.get('Version') or facts.info.get('ServerVersion', '?')} on "
        f"{facts.info.get('OperatingSystem', '?')}",
        "kernel": facts.info.get("KernelVersion", "?"),
        "machine": f"{found.what} ({found.how})",
    }
