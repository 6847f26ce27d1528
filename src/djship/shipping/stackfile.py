"""The Swarm stack file, derived from the same Compose files (resolved by `docker compose
config`), never kept by hand: `djship stack` prints what `djship deploy --target swarm`
hands to `docker stack deploy`.

What changes, and why:
- `build`, `profiles` and `depends_on` conditions go: nodes pull images; `depends_on` keeps
  its short form (Swarm starts everything at once and relies on restarts and healthchecks).
- service `tmpfs:` lines become tmpfs volumes (a stack drops the former silently).
- Compose secrets and bind-mounted files become Swarm secrets and configs, named after their
  content's digest: objects are immutable, so a changed file is a new object, and the
  services using it are updated.
- web: WEB_REPLICAS replicas spread over the nodes, rolling updates that start a new task
  before stopping an old one, roll back on failure, and watch each task for longer than its
  health window; the database: one replica, stopped before it is replaced (PostgreSQL never
  runs twice on one volume), pinned to the node that holds its volume.
- no IPVS needed: DNS round robin (`endpoint_mode: dnsrr`) and host-mode ports, so the same
  file runs on a swarm without the routing mesh too; nginx asks for `tasks.web` per request.
- what Swarm would drop silently (security_opt, shm_size, a port's address...) is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

WEB, DB, PROXY = "web", "db", "proxy"
STACK_VERSION = "3.9"  # the newest schema Docker 20.10's `docker stack deploy` knows
SECRETS_DIR = "/run/secrets/"
NAME_LIMIT = 64  # Swarm object names

KEPT = (
    "image", "command", "entrypoint", "environment", "healthcheck", "user", "working_dir",
    "read_only", "cap_add", "cap_drop", "stop_grace_period", "stop_signal", "logging",
    "labels", "ulimits", "sysctls", "init", "hostname", "extra_hosts", "dns", "tty",
    "stdin_open",
)  # fmt: skip
CONVERTED = (
    "restart", "tmpfs", "depends_on", "ports", "volumes", "secrets", "networks", "deploy",
    "configs",
)  # fmt: skip
BY_DESIGN = ("build", "pull_policy", "profiles", "env_file", "container_name")
WHY_DROPPED = {
    "security_opt": "Swarm ignores security_opt: no-new-privileges is lost (moby #41371); "
    "the images run as non-root users, and capabilities are still dropped",
    "shm_size": "Swarm keeps Docker's 64 MB /dev/shm (shm_size dropped)",
    "privileged": "privileged containers do not exist in Swarm services",
    "devices": "devices cannot be given to Swarm services",
    "network_mode": "network_mode is not supported by Swarm services",
}
RESTART_CONDITIONS = {"no": "none", "on-failure": "on-failure"}  # anything else: any


@dataclass(frozen=True)
class StackOptions:
    project: str
    version: str
    web_image: str
    replicas: int = 2
    db_node: str | None = None  # a node's hostname; None: a manager
    monitor_seconds: int = 60
    digests: dict[str, str] = field(default_factory=dict)  # file path -> sha256 hex
    private: frozenset[str] = frozenset()  # bind-mounted files that are secrets (keys)


@dataclass
class Stack:
    data: dict
    warnings: list[str]


def derive_stack(config: dict, options: StackOptions) -> Stack:
    """The stack for `config` (the resolved JSON of the production Compose files)."""
    stack: dict = {"version": STACK_VERSION, "services": {}}
    tops: dict[str, dict] = {"networks": {}, "volumes": {}, "secrets": {}, "configs": {}}
    warnings: list[str] = []
    for name, service in sorted(config.get("services", {}).items()):
        stack["services"][name] = convert_service(name, service, config, options, tops, warnings)
    for kind, objects in tops.items():
        if objects:
            stack[kind] = objects
    return Stack(escape_dollars(stack), sorted(set(warnings)))


def convert_service(
    name: str, service: dict, config: dict, options: StackOptions, tops: dict, warnings: list
) -> dict:
    out = {key: service[key] for key in KEPT if service.get(key) is not None}
    if name == WEB:
        out["image"] = options.web_image
    if "environment" in out:
        out["environment"] = {k: v for k, v in out["environment"].items() if v is not None}
        if name == PROXY and "WEB_BACKEND" in out["environment"]:
            out["environment"]["WEB_BACKEND"] = f"tasks.{WEB}:8000"
    for key in sorted(set(service) - set(KEPT) - set(CONVERTED) - set(BY_DESIGN)):
        if key.startswith("x-") or service[key] in (None, [], {}):
            continue
        warnings.append(f"{name}: {WHY_DROPPED.get(key, f'{key} is not supported by Swarm')}")
    if service.get("depends_on"):
        out["depends_on"] = sorted(service["depends_on"])
    ports = [convert_port(name, port, warnings) for port in service.get("ports", [])]
    if ports:
        out["ports"] = ports
    volumes = [convert_tmpfs(name, line, warnings) for line in service.get("tmpfs", [])]
    files: dict[str, list] = {
        "configs": [],
        "secrets": secret_references(service, config, options, tops),
    }
    for volume in service.get("volumes", []):
        kind, converted = convert_volume(name, volume, config, options, tops, warnings)
        if kind == "volume":
            volumes.append(converted)
        elif kind in files:
            files[kind].append(converted)
    if volumes:
        out["volumes"] = volumes
    out.update({kind: refs for kind, refs in files.items() if refs})
    networks = sorted(service.get("networks") or {"default": None})
    out["networks"] = networks
    for network in networks:
        tops["networks"][network] = {"driver": "overlay", "attachable": True}
    out["deploy"] = deploy_section(name, service, options)
    return out


def convert_port(service: str, port: dict, warnings: list) -> dict:
    if port.get("host_ip") not in (None, "", "0.0.0.0"):
        warnings.append(
            f"{service}: port {port['published']} is published on every address of the node "
            f"(Swarm cannot bind {port['host_ip']} only; PUBLISH_ADDRESS does not apply)"
        )
    return {
        "target": int(port["target"]),
        "published": int(port["published"]),
        "protocol": port.get("protocol", "tcp"),
        "mode": "host",  # no routing mesh needed: each node's proxy answers on its own ports
    }


def convert_tmpfs(service: str, line: str, warnings: list) -> dict:
    target, _, options = line.partition(":")
    if options:
        warnings.append(
            f"{service}: tmpfs {target} loses its options ({options}): Swarm's tmpfs "
            "mounts take a size only"
        )
    return {"type": "tmpfs", "target": target}


def convert_volume(
    service: str, volume: dict, config: dict, options: StackOptions, tops: dict, warnings: list
) -> tuple[str, dict | None]:
    """("volume", mount), or ("configs" | "secrets", reference) for a bind-mounted file,
    or ("dropped", None)."""
    kind = volume.get("type")
    if kind == "volume":
        spec = config.get("volumes", {}).get(volume["source"]) or {}
        # The stack names it <stack>_<key> itself; driver options (a tmpfs...) are kept.
        tops["volumes"][volume["source"]] = {k: v for k, v in spec.items() if k != "name"}
        return "volume", {"type": "volume", "source": volume["source"], "target": volume["target"]}
    if kind == "tmpfs":
        return "volume", {"type": "tmpfs", "target": volume["target"]}
    source = volume.get("source", "")
    if kind == "bind" and source in options.digests:
        section = "secrets" if source in options.private else "configs"
        key = object_key(service, volume["target"])
        tops[section][key] = {"name": object_name(options, key, source), "file": source}
        return section, {"source": key, "target": volume["target"], "mode": 0o444}
    warnings.append(
        f"{service}: the bind mount of {source} cannot reach other nodes: dropped "
        "(put the file in the image, or give djship its digest)"
    )
    return "dropped", None


def secret_references(service: dict, config: dict, options: StackOptions, tops: dict) -> list:
    """The service's Compose secrets as Swarm secrets (mounted in /run/secrets as before)."""
    references = []
    for reference in service.get("secrets", []):
        source = reference["source"]
        path = config.get("secrets", {}).get(source, {}).get("file", "")
        tops["secrets"][source] = {"name": object_name(options, source, path), "file": path}
        target = reference.get("target") or source
        if target.startswith(SECRETS_DIR):
            target = target[len(SECRETS_DIR) :]
        references.append({"source": source, "target": target})
    return references


def object_key(service: str, target: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", PurePosixPath(target).name)
    return f"{service}_{base}"


def object_name(options: StackOptions, key: str, path: str) -> str:
    """`<project>_<key>_<digest>`: a changed file gets a new name, hence a new object."""
    digest = options.digests.get(path, "")[:12]
    head = f"{options.project}_{key}"[: NAME_LIMIT - len(digest) - 1]
    return f"{head}_{digest}" if digest else head[:NAME_LIMIT]


def deploy_section(name: str, service: dict, options: StackOptions) -> dict:
    deploy: dict = {}
    resources = (service.get("deploy") or {}).get("resources")
    if resources:
        deploy["resources"] = stringify_cpus(resources)
    condition = RESTART_CONDITIONS.get(service.get("restart", ""), "any")
    deploy["restart_policy"] = {"condition": condition, "delay": "5s"}
    monitor = f"{options.monitor_seconds}s"
    if name == WEB:
        deploy |= {
            "replicas": options.replicas,
            "endpoint_mode": "dnsrr",
            "placement": {"preferences": [{"spread": "node.id"}]},
            "update_config": rolling(monitor, "start-first", "rollback"),
            "rollback_config": rolling(monitor, "start-first", "pause"),
            "labels": {"io.djship.release": options.version},
        }
    elif name == DB:
        where = f"node.hostname == {options.db_node}" if options.db_node else "node.role == manager"
        deploy |= {
            "replicas": 1,
            "endpoint_mode": "dnsrr",
            "placement": {"constraints": [where]},
            "update_config": rolling(monitor, "stop-first", "pause"),
            "rollback_config": rolling(monitor, "stop-first", "pause"),
        }
    elif name == PROXY:
        # One per node, on host-mode ports: a new one cannot start beside the old one.
        deploy |= {
            "mode": "global",
            "endpoint_mode": "dnsrr",
            "update_config": rolling(monitor, "stop-first", "rollback"),
        }
    else:
        deploy["endpoint_mode"] = "dnsrr"
    return deploy


def rolling(monitor: str, order: str, failure_action: str) -> dict:
    config = {"parallelism": 1, "delay": "5s", "order": order, "monitor": monitor}
    return config | {"failure_action": failure_action, "max_failure_ratio": 0}


def stringify_cpus(resources: dict) -> dict:
    """The stack schema wants CPUs as a string ("2"), Compose resolves them to numbers."""
    out = {}
    for level, values in resources.items():
        values = dict(values or {})
        if "cpus" in values:
            values["cpus"] = str(values["cpus"])
        out[level] = values
    return out


def escape_dollars(value):
    """`docker stack deploy` interpolates again: a lone `$` must be written `$$`."""
    if isinstance(value, str):
        return re.sub(r"(?<!\$)\$(?!\$)", "$$", value)
    if isinstance(value, dict):
        return {key: escape_dollars(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escape_dollars(item) for item in value]
    return value


def stack_yaml(stack: Stack) -> str:
    """The stack as YAML, its warnings as comments on top: what `djship stack` prints."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    text = io.StringIO()
    yaml.dump(stack.data, text)
    header = [
        "# Derived by djship from the Compose files (`djship stack`): do not edit, regenerate.",
        *[f"# warning: {warning}" for warning in stack.warnings],
    ]
    return "\n".join(header) + "\n" + text.getvalue()
