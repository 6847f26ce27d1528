"""A throwaway Docker Swarm of several nodes on this one machine, for end-to-end tests.

Each node is a dockerd in its own network namespace (and UTS namespace, so that swarm sees
distinct hostnames), joined to the others by a Linux bridge on a private /24 that this module
owns. A registry (the `djship-standin/registry:2` stand-in) runs on the host engine, published
on the bridge address with TLS from a throwaway CA: the host engine pushes to it and the nodes
pull from it under the same name, and no engine needs restarting, because dockerd reads
/etc/docker/certs.d/HOST:PORT/ca.crt at every pull and push.

Everything this module creates carries a fixed name (see the constants below), so that
`teardown()` can remove it without any in-memory state: after a run, and before the next one
when an earlier run crashed. One cluster at a time per machine: a lock file serializes runs.

Test traffic goes to 127.0.0.1 inside a node's namespace only (`Node.get`, `NodeLoad`): a
thread joins the namespace with setns(2), which moves that one thread and no other.

    with swarm_cluster(nodes=2) as cluster:
        image = cluster.push("djship-standin/nginx:1.28-alpine")
        cluster.deploy("demo", compose_text)
        assert cluster.manager.get(8080).status_code == 200
"""

from __future__ import annotations

import ctypes
import datetime
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.load import Load

T = TypeVar("T")

SUBNET = ipaddress.ip_network("10.213.47.0/24")  # private, unlikely to collide; checked free
BRIDGE = "djs-br0"
BRIDGE_ADDRESS = str(SUBNET[1])
NODE_PREFIX = "djs-n"  # netns, hostname, veth, cgroup parent: djs-n1, djs-n2, ...
FIRST_NODE_HOST = 11  # djs-n1 is 10.213.47.11
MAX_NODES = 9
STATE = Path("/var/lib/djship-e2e")  # data roots (on the same disk as the host's engine)
RUN = Path("/run/djship-e2e")  # exec roots: short, a unix socket path has 108 bytes at most
LOCK = Path("/run/djship-e2e.lock")
CERTS_D = Path("/etc/docker/certs.d")
CGROUPS = Path("/sys/fs/cgroup")
NETNS_DIR = Path("/run/netns")
FORWARD_RULE = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]

REGISTRY_IMAGE = "djship-standin/registry:2"
REGISTRY_CONTAINER = "djship-e2e-registry"
REGISTRY_VOLUME = "djship-e2e-registry"
REGISTRY_PORT = 5000
REGISTRY = f"{BRIDGE_ADDRESS}:{REGISTRY_PORT}"

HOST_DOCKER = "docker"
# The node engines are 20.10 (API 1.41). Both clients work with them, `stack deploy -c -`
# included; the nodes are driven with the 20.10 one, what a Debian 12 user types, which is
# also the stricter: it refuses a Compose file without `version:` (the 28.x client takes it).
NODE_DOCKER = "/usr/bin/docker"

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class ClusterError(RuntimeError):
    """The cluster could not be set up or taken down."""


def run(
    *args: str, check: bool = True, timeout: float = 60, input: str | None = None, **kwargs
) -> subprocess.CompletedProcess[str]:
    """A command with its output captured; a failure names the command and its stderr."""
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, input=input, **kwargs
    )
    if check and result.returncode != 0:
        raise ClusterError(
            f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
        )
    return result


def wait_for(
    predicate: Callable[[], T], timeout: float, interval: float = 0.5, what: str = "condition"
) -> T:
    """Poll until predicate() returns something truthy and return it; TimeoutError after
    `timeout` seconds, naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s (last: {value!r})")
        time.sleep(interval)


# --- network namespaces -------------------------------------------------------------------


def enter_netns(netns: Path) -> None:
    """Move the calling thread into a network namespace (setns(2) acts per thread; Python 3.11
    has no os.setns). Verified afterwards: a thread that failed to move must not send."""
    fd = os.open(netns, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(netns))
    finally:
        os.close(fd)
    if os.stat("/proc/thread-self/ns/net").st_ino != os.stat(netns).st_ino:
        raise OSError(f"thread is not in {netns} after setns")


def in_netns(netns: Path, target: Callable[..., T], *args, timeout: float = 60, **kwargs) -> T:
    """target(*args, **kwargs) in a new thread inside `netns`; its result, or its exception
    re-raised here. The calling thread stays in its own namespace."""
    outcome: dict[str, object] = {}

    def body() -> None:
        try:
            enter_netns(netns)
            outcome["value"] = target(*args, **kwargs)
        except BaseException as error:  # handed to the caller
            outcome["error"] = error

    worker = threading.Thread(target=body, name=f"netns-{netns.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"{getattr(target, '__name__', target)} in {netns} still running")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _get_direct(url: str, timeout: float) -> requests.Response:
    """GET without proxies from the environment: loopback traffic must stay on loopback."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=timeout)


@dataclass
class NodeLoad(Load):
    """tests.e2e.load.Load whose worker threads first join a node's network namespace: the
    url's 127.0.0.1 is then that node's loopback (host-mode published ports answer there)."""

    netns: Path | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.netns is None:
            raise ValueError("NodeLoad needs the node's netns (NodeLoad(url, netns=node.netns))")

    def _run(self) -> None:
        try:
            enter_netns(self.netns)  # type: ignore[arg-type]
        except OSError:
            self.outcomes["setns failed"] += 1
            return
        super()._run()


# --- nodes --------------------------------------------------------------------------------


def _ping(sock: Path) -> bool:
    """True when a dockerd answers GET /_ping on its unix socket (cheaper than a client)."""
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(2)
            conn.connect(str(sock))
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status_line = conn.recv(256).split(b"\r\n", 1)[0]
    except OSError:
        return False
    return status_line.startswith(b"HTTP/1.") and b" 200 " in status_line


def _process_gone(pid: int) -> bool:
    """True when pid has exited. A zombie that is our child (a dockerd this process started)
    is reaped, so that no dead dockerd lingers in the process table; its main thread shows
    'Z' while the other threads still exit, and waitpid reaps nothing yet: not gone then."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    if stat.rsplit(")", 1)[1].split()[0] != "Z":
        return False
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # another process's child: its parent reaps it
    return reaped == pid


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; returns once the process is gone."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    with suppress(TimeoutError):
        wait_for(lambda: _process_gone(pid), timeout, 0.2, f"exit of {pid}")
        return
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _process_gone(pid), 10, 0.1, f"exit of {pid} after SIGKILL")


@dataclass
class Node:
    """One swarm node: a dockerd in the network namespace /run/netns/NAME, with NAME as its
    hostname (its own UTS namespace), its own data root, exec root and containerd namespaces."""

    name: str
    address: str
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @classmethod
    def numbered(cls, index: int) -> Node:
        return cls(f"{NODE_PREFIX}{index}", str(SUBNET[FIRST_NODE_HOST + index - 1]))

    @property
    def hostname(self) -> str:
        """The node's hostname as swarm knows it (`docker node ls`, node.hostname)."""
        return self.name

    @property
    def netns(self) -> Path:
        return NETNS_DIR / self.name

    @property
    def data_root(self) -> Path:
        return STATE / "nodes" / self.name

    @property
    def exec_root(self) -> Path:
        return RUN / self.name

    @property
    def socket(self) -> Path:
        return self.exec_root / "docker.sock"

    @property
    def pidfile(self) -> Path:
        return self.exec_root / "docker.pid"

    @property
    def log(self) -> Path:
        return STATE / "logs" / f"{self.name}.log"

    def env(self) -> dict[str, str]:
        """Environment for a docker client (or djship) that should talk to this node."""
        return {"DOCKER_HOST": f"unix://{self.socket}"}

    def docker(
        self, *args: str, check: bool = False, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """The docker client (20.10) against this node's engine."""
        env = {**os.environ, **self.env()}
        return run(NODE_DOCKER, *args, check=check, input=input, timeout=timeout, env=env)

    def get(self, port: int, path: str = "/", timeout: float = 10) -> requests.Response:
        """GET http://127.0.0.1:PORT/PATH from inside this node's namespace."""
        return in_netns(self.netns, _get_direct, f"http://127.0.0.1:{port}{path}", timeout)

    def load(self, port: int, path: str = "/", threads: int = 4) -> NodeLoad:
        """A bounded load (context manager) on 127.0.0.1:PORT inside this node's namespace."""
        return NodeLoad(f"http://127.0.0.1:{port}{path}", threads=threads, netns=self.netns)

    @property
    def pid(self) -> int | None:
        with suppress(FileNotFoundError, ValueError):
            return int(self.pidfile.read_text())
        return None

    @property
    def running(self) -> bool:
        return self.pid is not None and not _process_gone(self.pid)

    def start(self, timeout: float = 60) -> None:
        """Start the node's dockerd (nsenter --net, not `ip netns exec`, which remounts /sys
        and hides the cgroup mounts); returns once it answers. A new session keeps a Ctrl-C
        on the terminal away from it, so that teardown can still leave the swarm."""
        for directory in (self.data_root, self.exec_root, self.log.parent):
            directory.mkdir(parents=True, exist_ok=True)
        config = self.data_root.parent / f"{self.name}.json"
        config.write_text("{}\n")  # never the host's /etc/docker/daemon.json
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    *("nsenter", f"--net={self.netns}", "unshare", "--uts"),
                    *("sh", "-c", 'hostname "$0" && exec "$@"', self.name),
                    *("dockerd", "--config-file", str(config)),
                    *("--data-root", str(self.data_root), "--exec-root", str(self.exec_root)),
                    *("--pidfile", str(self.pidfile), "-H", f"unix://{self.socket}"),
                    *("--containerd-namespace", self.name),
                    *("--containerd-plugins-namespace", f"{self.name}-plugins"),
                    *("--cgroup-parent", self.name, "--shutdown-timeout", "5"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(self._answers, timeout, 0.2, f"dockerd of {self.name}")
        except TimeoutError as error:
            raise ClusterError(f"{error}\n{self.log_tail()}") from None

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise ClusterError(f"dockerd of {self.name} exited:\n{self.log_tail()}")
        return _ping(self.socket)

    def stop(self, timeout: float = 30) -> None:
        """Stop the node's dockerd as an operator would (SIGTERM), waiting until it exits;
        SIGKILL after `timeout`. Its tasks stop with it; the swarm notices the node down."""
        pid = self.pid or (self._process.pid if self._process else None)
        if pid is not None:
            _terminate(pid, timeout)
        if self._process is not None:
            with suppress(subprocess.TimeoutExpired):
                self._process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        with suppress(FileNotFoundError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


# --- the registry -------------------------------------------------------------------------


def _certificates(directory: Path) -> Path:
    """A throwaway CA and a server certificate for the registry's address (an IP SAN); returns
    the CA file. EC keys: fast to make. Valid for a day, so nothing lingers usefully."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "djship e2e throwaway CA")])
    ca = (
        _certificate_base(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, BRIDGE_ADDRESS)])
    address = ipaddress.ip_address(BRIDGE_ADDRESS)
    server = (
        _certificate_base(server_name, ca_name, key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(address)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.crt").write_bytes(ca.public_bytes(pem))
    (directory / "registry.crt").write_bytes(server.public_bytes(pem))
    (directory / "registry.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory / "ca.crt"


def _certificate_base(subject, issuer, public_key, now) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _key_usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _start_registry() -> None:
    """The registry stand-in on the host engine, published on the bridge address only, with
    TLS; every engine on the machine trusts its CA through certs.d (read at each pull/push)."""
    if run(HOST_DOCKER, "image", "inspect", REGISTRY_IMAGE, check=False).returncode != 0:
        raise ClusterError(f"{REGISTRY_IMAGE} is missing: run tests/standins/build.sh")
    certs = STATE / "certs"
    ca = _certificates(certs)
    if not CERTS_D.exists():
        CERTS_D.mkdir(parents=True)
        (STATE / "created-certs.d").touch()  # so that teardown removes it again
    trust = CERTS_D / REGISTRY
    trust.mkdir(exist_ok=True)
    shutil.copy(ca, trust / "ca.crt")
    run(
        *(HOST_DOCKER, "run", "-d", "--name", REGISTRY_CONTAINER, "--label", "djship.e2e=1"),
        *("-v", f"{REGISTRY_VOLUME}:/var/lib/registry", "-v", f"{certs}:/certs:ro"),
        *("-e", "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/registry.crt"),
        *("-e", "REGISTRY_HTTP_TLS_KEY=/certs/registry.key"),
        *("-p", f"{REGISTRY}:5000", REGISTRY_IMAGE),
    )
    wait_for(lambda: _registry_answers(ca), 30, 0.2, "registry")


def _registry_answers(ca: Path) -> bool:
    with suppress(requests.RequestException):
        return requests.get(f"https://{REGISTRY}/v2/", verify=str(ca), timeout=2).ok
    return False


# --- the cluster --------------------------------------------------------------------------


@dataclass
class Cluster:
    """A running swarm: nodes[0] is the manager, the others are workers."""

    nodes: list[Node]
    registry: str = REGISTRY
    timings: dict[str, float] = field(default_factory=dict)  # seconds, for reports

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    @property
    def workers(self) -> list[Node]:
        return self.nodes[1:]

    def push(self, image: str, name: str | None = None) -> str:
        """Push an image of the host engine to the registry as `name` (default: the image's
        last path component, tag kept) and return the name the nodes pull. The local alias
        is removed again: only the registry keeps the copy."""
        name = name or image.rsplit("/", 1)[-1]
        if ":" not in name.rsplit("/", 1)[-1]:
            name += ":latest"
        target = f"{self.registry}/{name}"
        run(HOST_DOCKER, "tag", image, target)
        try:
            run(HOST_DOCKER, "push", target, timeout=300)
        finally:
            run(HOST_DOCKER, "rmi", target, check=False)
        return target

    def deploy(self, stack: str, compose: str, timeout: float = 120) -> None:
        """`docker stack deploy -c - STACK` on the manager, the Compose file on stdin. It
        returns before the tasks run (the 20.10 client has no --detach=false): poll tasks()."""
        self.manager.docker(
            "stack", "deploy", "-c", "-", stack, input=compose, check=True, timeout=timeout
        )

    def tasks(self, service: str, desired: str = "running") -> list[dict[str, str]]:
        """`docker service ps` rows of a service (ID, Name, Node, CurrentState, Error, ...)
        whose desired state is `desired` ('' for all)."""
        args = ["service", "ps", "--no-trunc", "--format", "{{json .}}", service]
        if desired:
            args[2:2] = ["--filter", f"desired-state={desired}"]
        result = self.manager.docker(*args, check=True)
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def running_on(self, service: str) -> list[str]:
        """Sorted hostnames of the nodes where the service has a task that is running now."""
        rows = self.tasks(service)
        return sorted(row["Node"] for row in rows if row["CurrentState"].startswith("Running"))

    def node_status(self) -> dict[str, str]:
        """Hostname -> Status (Ready, Down, Unknown) as the manager sees it."""
        result = self.manager.docker("node", "ls", "--format", "{{.Hostname}} {{.Status}}")
        return dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)

    def wait_for(
        self, predicate: Callable[[], T], timeout: float, interval: float = 0.5, what: str = ""
    ) -> T:
        return wait_for(predicate, timeout, interval, what or "cluster condition")


def _subnet_is_free() -> None:
    """Refuse to start when an address or route of the host already overlaps our /24."""
    routes = json.loads(run("ip", "-j", "-4", "route", "show", "table", "all").stdout)
    for route in routes:
        dst = route.get("dst", "default")
        if dst == "default" or route.get("dev") == BRIDGE:
            continue
        if ipaddress.ip_network(dst, strict=False).overlaps(SUBNET):
            raise ClusterError(f"{SUBNET} overlaps the host's route {dst} on {route.get('dev')}")


def _create_network(nodes: list[Node]) -> None:
    """The bridge, its FORWARD rule (the host engine sets the policy to DROP), and one
    namespace per node with a veth on the bridge and `lo` up."""
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{BRIDGE_ADDRESS}/{SUBNET.prefixlen}", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    run("iptables", "-I", *FORWARD_RULE)
    for node in nodes:
        outside, inside = f"{node.name}-h", f"{node.name}-c"
        run("ip", "netns", "add", node.name)
        run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        run("ip", "link", "set", inside, "netns", node.name)
        run("ip", "link", "set", outside, "master", BRIDGE, "up")
        inns = ("ip", "-n", node.name)
        run(*inns, "link", "set", inside, "name", "eth0")
        run(*inns, "addr", "add", f"{node.address}/{SUBNET.prefixlen}", "dev", "eth0")
        run(*inns, "link", "set", "eth0", "up")
        run(*inns, "link", "set", "lo", "up")


def _start_engines(nodes: list[Node]) -> None:
    """All dockerds at once (each takes a few seconds to come up)."""
    errors: list[BaseException] = []

    def start(node: Node) -> None:
        try:
            node.start()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _form_swarm(nodes: list[Node], heartbeat: str | None) -> None:
    manager, workers = nodes[0], nodes[1:]
    manager.docker(
        *("swarm", "init", "--advertise-addr", manager.address),
        *("--listen-addr", f"{manager.address}:2377"),
        *(("--dispatcher-heartbeat", heartbeat) if heartbeat else ()),
        check=True,
    )
    token = manager.docker("swarm", "join-token", "-q", "worker", check=True).stdout.strip()
    for worker in workers:
        worker.docker(
            *("swarm", "join", "--token", token, "--advertise-addr", worker.address),
            *("--listen-addr", f"{worker.address}:2377", f"{manager.address}:2377"),
            check=True,
        )


def _bring_up(count: int, heartbeat: str | None) -> Cluster:
    if not 1 <= count <= MAX_NODES:
        raise ValueError(f"1 to {MAX_NODES} nodes, not {count}")
    started = time.monotonic()
    cluster = Cluster([Node.numbered(index) for index in range(1, count + 1)])
    _subnet_is_free()
    _create_network(cluster.nodes)
    _start_registry()
    _start_engines(cluster.nodes)
    _form_swarm(cluster.nodes, heartbeat)
    ready = {node.hostname: "Ready" for node in cluster.nodes}
    wait_for(lambda: cluster.node_status() == ready, 60, 0.5, "all nodes Ready")
    cluster.timings["up"] = round(time.monotonic() - started, 1)
    return cluster


# --- teardown -----------------------------------------------------------------------------


def _our_nodes() -> list[Node]:
    """Every node an earlier or current run may have left: by namespace, exec or data root."""
    names: set[str] = set()
    for parent in (NETNS_DIR, RUN, STATE / "nodes"):
        if parent.is_dir():
            names.update(entry.name.removesuffix(".json") for entry in parent.iterdir())
    numbers = {name.removeprefix(NODE_PREFIX) for name in names if name.startswith(NODE_PREFIX)}
    return [Node.numbered(int(number)) for number in sorted(numbers) if number.isdigit()]


def _mounts_under(*roots: Path) -> list[str]:
    """Mount points below any of `roots`, deepest first (mountinfo escapes spaces as \\040)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if any(point == str(root) or point.startswith(f"{root}/") for root in roots):
            points.append(point)
    return sorted(set(points), key=len, reverse=True)


def _cgroup_dirs(node: Node) -> list[Path]:
    """The node's cgroup parent in every hierarchy, children listed before their parents."""
    found: list[Path] = []
    for hierarchy in CGROUPS.glob("*"):
        top = hierarchy / node.name
        if top.is_dir():
            found.extend(path for path in top.rglob("*") if path.is_dir())
            found.append(top)
    return sorted(found, key=lambda path: len(path.parts), reverse=True)


def _pids_of(node: Node) -> set[int]:
    """Processes that are the node's by construction: in its namespace or its cgroups."""
    pids: set[int] = set()
    if node.netns.exists():
        listed = run("ip", "netns", "pids", node.name, check=False).stdout.split()
        pids.update(int(pid) for pid in listed)
    for directory in _cgroup_dirs(node):
        with suppress(OSError):
            pids.update(int(pid) for pid in (directory / "cgroup.procs").read_text().split())
    pids.discard(os.getpid())
    return {pid for pid in pids if not _process_gone(pid)}


def _leave_swarm(node: Node) -> None:
    if _ping(node.socket):
        node.docker("swarm", "leave", "--force", timeout=30)


def _stop_processes(node: Node) -> None:
    """dockerd first (it stops its containers and containerd), then whatever a killed dockerd
    left in the node's namespace or cgroups: containerd, shims, task processes."""
    node.stop()
    for pid in _pids_of(node):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in _pids_of(node):
        wait_for(lambda pid=pid: _process_gone(pid), 10, 0.1, f"exit of {pid}")


def _unmount(node: Node) -> None:
    """Overlay, shm and netns mounts the node's dockerd made (it mounts its data root too)."""
    for point in _mounts_under(node.data_root, node.exec_root):
        if run("umount", point, check=False).returncode != 0:
            run("umount", "-l", point)


def _remove_namespace(node: Node) -> None:
    if node.netns.exists():
        run("ip", "netns", "del", node.name)
    if Path(f"/sys/class/net/{node.name}-h").exists():  # gone with the namespace, normally
        run("ip", "link", "del", f"{node.name}-h")


def _remove_cgroups(node: Node) -> None:
    for directory in _cgroup_dirs(node):
        with suppress(OSError):  # one still busy must not keep the others: leftovers() tells
            directory.rmdir()


def _remove_node_dirs(node: Node) -> None:
    for path in (node.data_root, node.exec_root):
        if path.exists() and not _mounts_under(path):  # never delete through a mount
            shutil.rmtree(path)


NODE_STEPS = (
    _leave_swarm,
    _stop_processes,
    _unmount,
    _remove_namespace,
    _remove_cgroups,
    _remove_node_dirs,
)


def _remove_registry() -> None:
    run(HOST_DOCKER, "rm", "-f", "-v", REGISTRY_CONTAINER, check=False)
    run(HOST_DOCKER, "volume", "rm", "-f", REGISTRY_VOLUME, check=False)
    listing = ("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter")
    aliases = run(HOST_DOCKER, *listing, f"reference={REGISTRY}/*").stdout.split()
    if aliases:  # by name, never by ID: the ID is shared with the image that was pushed
        run(HOST_DOCKER, "rmi", *aliases)


def _remove_trust() -> None:
    shutil.rmtree(CERTS_D / REGISTRY, ignore_errors=True)
    if (STATE / "created-certs.d").exists():
        with suppress(OSError):
            CERTS_D.rmdir()  # only if empty: someone may have put a certificate there since


def _remove_bridge() -> None:
    while run("iptables", "-C", *FORWARD_RULE, check=False).returncode == 0:
        run("iptables", "-D", *FORWARD_RULE)
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        run("ip", "link", "del", BRIDGE)


def _remove_state() -> None:
    if not _mounts_under(STATE, RUN):
        shutil.rmtree(STATE, ignore_errors=True)
        shutil.rmtree(RUN, ignore_errors=True)


HOST_STEPS = (_remove_registry, _remove_trust, _remove_bridge, _remove_state)


def _attempt(steps: tuple[Callable[..., None], ...], *args: object) -> list[str]:
    """Run every step even when one fails (what it leaves, leftovers() reports); the errors."""
    errors = []
    for step in steps:
        try:
            step(*args)
        except Exception as error:
            errors.append(f"{step.__name__}{args}: {error}")
    return errors


def teardown() -> list[str]:
    """Remove everything a cluster (this run's or a crashed earlier one's) may have left, in
    dependency order; return what still remains (see leftovers())."""
    errors = [error for node in _our_nodes() for error in _attempt(NODE_STEPS, node)]
    errors += _attempt(HOST_STEPS)
    remaining = leftovers()
    if errors and remaining:
        print("cluster teardown errors:\n  " + "\n  ".join(errors), file=sys.stderr)
    return remaining


def leftovers() -> list[str]:
    """Anything of ours that still exists on the machine; [] when the machine is clean."""
    found = [f"netns {p.name}" for p in NETNS_DIR.glob(f"{NODE_PREFIX}*")]
    links = json.loads(run("ip", "-j", "link", "show").stdout)
    found += [
        f"link {link['ifname']}"
        for link in links
        if link["ifname"] == BRIDGE or link["ifname"].startswith(NODE_PREFIX)
    ]
    if run("iptables", "-C", *FORWARD_RULE, check=False).returncode == 0:
        found.append("iptables " + " ".join(FORWARD_RULE))
    found += [f"process {pid}" for pid in _processes_mentioning(str(RUN))]
    found += [f"mount {point}" for point in _mounts_under(STATE, RUN)]
    found += [f"path {path}" for path in (STATE, RUN, CERTS_D / REGISTRY) if path.exists()]
    found += [f"cgroup {path}" for path in CGROUPS.glob(f"*/{NODE_PREFIX}*")]
    for kind, name in (("container", REGISTRY_CONTAINER), ("volume", REGISTRY_VOLUME)):
        if run(HOST_DOCKER, kind, "inspect", name, check=False).returncode == 0:
            found.append(f"{kind} {name}")
    return found


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains `text` (our exec root: dockerd, containerd, shims)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with suppress(OSError):
            if text.encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
    return [pid for pid in pids if pid != os.getpid() and not _process_gone(pid)]


@contextmanager
def _exclusive(timeout: float = 900) -> Iterator[None]:
    """One cluster per machine: a second run waits for the first (the kernel drops the lock
    of a process that died, so a crash never blocks the next run)."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as handle:
        wait_for(lambda: _try_lock(handle), timeout, 1, f"lock {LOCK}")
        yield


def _try_lock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C back until the block ends (teardown is bounded by its timeouts), so that
    an impatient second Ctrl-C does not leave namespaces and daemons behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda *_: received.append(1))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


@contextmanager
def swarm_cluster(nodes: int = 2, heartbeat: str | None = None) -> Iterator[Cluster]:
    """A swarm of `nodes` nodes with a registry; everything removed afterwards, also when the
    block or the setup fails half-way or is interrupted. Leftovers of a crashed earlier run
    are removed first. Raises ClusterError at the end if something could not be removed.

    heartbeat: swarm's dispatcher heartbeat period (`swarm init --dispatcher-heartbeat`,
    default 5s as on real clusters); a node that stops is marked Down after a few periods."""
    with _exclusive():
        with _sigint_deferred():
            teardown()
        try:
            yield _bring_up(nodes, heartbeat)
        except BaseException:
            with _sigint_deferred():
                remaining = teardown()
            if remaining:
                print(f"cluster teardown left: {remaining}", file=sys.stderr)
            raise
        with _sigint_deferred():
            remaining = teardown()
        if remaining:
            raise ClusterError(f"cluster teardown left: {remaining}")


def main(argv: list[str]) -> int:
    """`python -m tests.e2e.cluster cleanup` removes what a killed run left; `check` lists it."""
    if argv[1:] == ["cleanup"]:
        with _exclusive(timeout=60):
            remaining = teardown()
    elif argv[1:] == ["check"]:
        remaining = leftovers()
    else:
        print("usage: python -m tests.e2e.cluster cleanup|check", file=sys.stderr)
        return 2
    print("\n".join(remaining) or "clean")
    return 1 if remaining else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
