"""Smoke test of the multi-node swarm harness (tests/e2e/cluster.py): a 2-node swarm, an image
pushed by the host engine and pulled by the nodes from the harness's TLS registry, a stack
deployed from stdin, traffic on 127.0.0.1 inside a node's namespace, DNS round robin over an
attachable overlay, a worker that goes down and comes back, and a machine left clean."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.cluster import Cluster, in_netns, leftovers, swarm_cluster
from tests.e2e.conftest import free_port

# The 20.10 client reads a file without `version:` as Compose 1.0 and refuses it.
STACK = """\
version: "3.8"
services:
  web:
    image: {image}
    ports:
      - {{target: 80, published: {port}, protocol: tcp, mode: host}}
    networks: [net]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
  spare:
    image: {image}
    networks: [net]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
networks:
  net:
    driver: overlay
    attachable: true
"""
# Measured here: the manager marks a stopped node Down 8-12 s after its dockerd exits (swarm's
# 5 s dispatcher heartbeat), and restarts the lost tasks 5 s later (the default restart delay).
DOWN_WITHIN = 45
RESCHEDULED_WITHIN = 60


def dockerd_pids() -> set[int]:
    pids = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "dockerd":
                pids.add(int(comm.parent.name))
        except OSError:
            continue
    return pids


def task_addresses(cluster: Cluster, service: str, network: str) -> set[str]:
    """The overlay addresses of a service's running tasks, from the manager's task records."""
    template = (
        '{{range .NetworksAttachments}}{{if eq .Network.Spec.Name "' + network + '"}}'
        "{{range .Addresses}}{{.}} {{end}}{{end}}{{end}}"
    )
    addresses = set()
    for task in cluster.tasks(service):
        result = cluster.manager.docker("inspect", "--format", template, task["ID"], check=True)
        addresses.update(cidr.split("/")[0] for cidr in result.stdout.split())
    return addresses


def resolve_in_overlay(cluster: Cluster, image: str, name: str, network: str) -> set[str]:
    """IPv4 addresses of `name` as a throwaway container on the attachable overlay sees them."""
    result = cluster.manager.docker(
        *("run", "--rm", "--network", network, "--entrypoint", "getent", image),
        *("ahostsv4", name),
        check=True,
    )
    return {line.split()[0] for line in result.stdout.splitlines() if line.strip()}


def test_swarm_harness(image_env, record_property) -> None:
    before = dockerd_pids()
    timings: dict[str, float] = {}
    port = free_port()  # free on the host, so that a host-side answer would be noticed
    with swarm_cluster(nodes=2) as cluster:
        manager, worker = cluster.manager, cluster.workers[0]
        hostnames = sorted(node.hostname for node in cluster.nodes)
        timings["cluster up"] = cluster.timings["up"]
        assert cluster.node_status() == dict.fromkeys(hostnames, "Ready")

        started = time.monotonic()
        image = cluster.push(image_env["NGINX_IMAGE"])
        timings["push"] = time.monotonic() - started
        assert image.startswith(f"{cluster.registry}/")

        def both(service: str) -> bool:
            return cluster.running_on(service) == hostnames

        started = time.monotonic()
        cluster.deploy("smoke", STACK.format(image=image, port=port))
        cluster.wait_for(lambda: both("smoke_web") and both("smoke_spare"), 180, what="spread")
        timings["deploy + pull until running on both nodes"] = time.monotonic() - started
        # Swarm pins the tag to its digest and the nodes pull that from the registry.
        digest = cluster.tasks("smoke_web")[0]["Image"].split("@", 1)[1]
        for node in cluster.nodes:
            pulled = f"{image.rsplit(':', 1)[0]}@{digest}"
            assert node.docker("image", "inspect", pulled).returncode == 0, node.name

        # Inside the namespace, 127.0.0.1:PORT is the node's host-mode port; on the host, nothing.
        assert in_netns(manager.netns, os.stat, "/proc/thread-self/ns/net").st_ino == (
            os.stat(manager.netns).st_ino
        )
        assert manager.get(port).status_code == 200
        assert worker.get(port).status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=3)
        with manager.load(port, threads=2) as load:
            time.sleep(2)
        assert load.ok > 0 and load.failed == 0, load.outcomes

        addresses = task_addresses(cluster, "smoke_web", "smoke_net")
        assert len(addresses) == 2
        assert resolve_in_overlay(cluster, image, "tasks.web", "smoke_net") == addresses

        with manager.load(port, threads=1) as load:  # the manager's task is not disturbed
            worker.stop()
            stopped = time.monotonic()
            cluster.wait_for(
                lambda: cluster.node_status()[worker.hostname] == "Down", DOWN_WITHIN, 0.2
            )
            timings["worker Down after dockerd exit"] = time.monotonic() - stopped
            cluster.wait_for(
                lambda: cluster.running_on("smoke_spare") == [manager.hostname] * 2,
                RESCHEDULED_WITHIN,
                0.2,
                "spare task rescheduled on the manager",
            )
            timings["task rescheduled after dockerd exit"] = time.monotonic() - stopped
        assert load.ok > 0 and load.failed == 0, load.outcomes
        # A fixed host-mode port allows one task per node: web's second task waits for a node.
        assert cluster.running_on("smoke_web") == [manager.hostname]
        pending = [task for task in cluster.tasks("smoke_web") if not task["Node"]]
        assert "host-mode port already in use" in pending[0]["Error"], pending

        started = time.monotonic()
        worker.start()
        cluster.wait_for(lambda: both("smoke_web"), 90, 0.5, "web back on both nodes")
        timings["worker restarted until web runs on both again"] = time.monotonic() - started

    assert leftovers() == []
    extra = dockerd_pids() - before
    assert not extra, {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in extra}
    for what, seconds in timings.items():
        record_property(what, round(seconds, 1))
        print(f"{what}: {seconds:.1f} s")
