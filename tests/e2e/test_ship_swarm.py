"""Shipping to a Docker Swarm of two nodes on this machine (a dockerd per network namespace,
tests/e2e/cluster.py), images pulled from the test's own TLS registry: deploy v1, deploy v2
(a changed page and a migration), deploy a broken v3 that Swarm rolls back by itself, roll
back to v1 reversing v2's migration; under a steady load with a writer, sent to 127.0.0.1
inside the manager's namespace. Then the worker's dockerd is stopped under load."""

from __future__ import annotations

import json
import re
import time
from contextlib import suppress

import pytest
import requests

from djship.project.envfile import set_value
from tests.e2e.cluster import NodeLoad, enter_netns, in_netns, swarm_cluster
from tests.e2e.conftest import GeneratedProject, create_prod_project
from tests.e2e.load import Writer
from tests.e2e.test_ship_host import (
    commit,
    customise,
    git,
    make_broken_v3,
    make_v2,
    remove_releases,
)

LOAD_SECONDS = 1200
# Faster health windows than the template's (a project may tune them): each rolling update
# watches every new task for the health window plus a margin, so this keeps the test short.
FAST_HEALTHCHECK = ("interval: 5s", "interval: 2s"), ("start_period: 30s", "start_period: 8s")
# Requests that may fail while a node dies under load: nginx skips a task that does not
# answer within its 2 s connect timeout, and Swarm drops the node's tasks from its DNS once
# the node is Down (about 10 s here). Measured: none fail; the bound leaves room.
WORKER_DOWN_FAILURE_RATIO = 0.01


def slow_requests(node, since: int, seconds: float = 1.0) -> list[str]:
    """The node's proxy's error lines about upstreams, and its access-log lines for requests
    that took over `seconds`: which task addresses nginx tried, and how long it took."""
    ids = node.docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=e2e_swarm_proxy")
    lines = []
    for cid in ids.stdout.split():
        logs = node.docker("logs", "--since", f"{since}s", cid)
        lines += [line for line in logs.stderr.splitlines() if "upstream" in line]
        for line in logs.stdout.splitlines():
            with suppress(ValueError):
                entry = json.loads(line)
                if entry.get("log") == "access" and float(entry["seconds"]) > seconds:
                    lines.append(line)
    return lines


class NodeWriter(Writer):
    """The writer, from inside a node's network namespace (127.0.0.1 is the node's)."""

    netns = None

    def _run(self) -> None:
        enter_netns(self.netns)
        super()._run()


@pytest.fixture(scope="module")
def cluster(image_env):
    with swarm_cluster(nodes=2) as running:
        yield running


@pytest.fixture(scope="module")
def shop(cluster, image_env, tmp_path_factory):
    base = tmp_path_factory.mktemp("swarm")
    env = {
        **image_env,
        "POSTGRES_IMAGE": cluster.push(image_env["POSTGRES_IMAGE"]),
        "NGINX_IMAGE": cluster.push(image_env["NGINX_IMAGE"]),
    }
    project = GeneratedProject(base / "e2e_swarm", "e2e_swarm", env)
    try:
        project = create_prod_project(base, env, "e2e_swarm")
        customise(project)
        compose = project.root / "compose.yaml"
        text = compose.read_text()
        for old, new in FAST_HEALTHCHECK:
            text = text.replace(old, new)
        compose.write_text(text)
        dotenv = project.root / ".env"
        text = dotenv.read_text()
        for key, value in {
            "DEPLOY_TARGET": "swarm",
            "SWARM_HOST": cluster.manager.env()["DOCKER_HOST"],
            "REGISTRY": cluster.registry,
            "WEB_REPLICAS": "2",
        }.items():
            text = set_value(text, key, value)
        dotenv.write_text(text)
        git(project, "init", "-q")
        commit(project, "v1")
        yield project
    finally:
        manager = cluster.manager
        manager.docker("stack", "rm", "e2e_swarm")
        remove_releases(project)


def headline(cluster, port: int) -> str:
    """The page's headline, asked on 127.0.0.1 inside the manager's namespace."""
    url = f"https://127.0.0.1:{port}/"
    page = in_netns(cluster.manager.netns, lambda: requests.get(url, timeout=10, verify=False)).text
    return re.search(r'<h1 id="headline">([^<]*)</h1>', page).group(1)


def release(project) -> str:
    return project.djship("release").stdout.strip().splitlines()[-1]


def rows(cluster) -> set[int]:
    manager = cluster.manager
    db = manager.docker(
        "ps", "-q", "--filter", "label=com.docker.swarm.service.name=e2e_swarm_db", check=True
    ).stdout.split()[0]
    result = manager.docker(
        "exec", db, "psql", "-U", "e2e_swarm", "-d", "e2e_swarm", "-tAc",
        "SELECT n FROM welcome_row", check=True,
    )  # fmt: skip
    return {int(line) for line in result.stdout.split()}


def test_swarm_deploys_rolls_back_and_survives_a_node_without_failing_requests(cluster, shop):
    v1 = release(shop)
    first = shop.djship("deploy")
    assert "Swarm job" in first.stderr or "migration" in first.stderr
    assert headline(cluster, shop.https_port) == "release one"
    assert set(cluster.running_on("e2e_swarm_web")) == {n.hostname for n in cluster.nodes}

    url = f"https://127.0.0.1:{shop.https_port}/"
    readers = NodeLoad(url, threads=3, max_seconds=LOAD_SECONDS, netns=cluster.manager.netns)
    writer = NodeWriter(url + "write/", max_seconds=LOAD_SECONDS)
    writer.netns = cluster.manager.netns
    with readers, writer:
        time.sleep(2)
        make_v2(shop)
        v2 = release(shop)
        shop.djship("deploy", v2)
        assert headline(cluster, shop.https_port) == "release two"
        assert len(cluster.running_on("e2e_swarm_web")) == 2

        make_broken_v3(shop)
        v3 = release(shop)
        failed = shop.djship("deploy", v3, check=False)
        assert failed.returncode != 0
        assert "rolled back" in failed.stderr, failed.stderr[-2000:]
        assert headline(cluster, shop.https_port) == "release two"

        shop.djship("rollback", "--migrate")
        assert headline(cluster, shop.https_port) == "release one"
        time.sleep(2)

    assert readers.ok > 200 and writer.last > 50
    assert readers.failed == 0, readers.outcomes
    assert not writer.failures, writer.failures
    assert set(writer.acknowledged) <= rows(cluster)
    status = {
        r["version"]: r["status"] for r in json.loads(shop.djship("releases", "--json").stdout)
    }
    assert status == {v1: "live", v2: "rolled back", v3: "failed"}

    # The worker's engine stops under load: its task moves to the manager.
    worker = cluster.workers[0]
    with NodeLoad(url, threads=3, max_seconds=LOAD_SECONDS, netns=cluster.manager.netns) as load:
        time.sleep(2)
        worker.stop()
        cluster.wait_for(
            lambda: cluster.running_on("e2e_swarm_web") == [cluster.manager.hostname] * 2,
            timeout=90,
            what="both web tasks on the manager",
        )
        time.sleep(3)
    print(f"worker down: {load.outcomes}")
    slow = slow_requests(cluster.manager, since=60)
    print("slow requests (the manager's proxy):", *slow, sep="\n  ")
    assert load.ok > 100
    assert load.failed <= WORKER_DOWN_FAILURE_RATIO * (load.ok + load.failed), (load.outcomes, slow)
    assert headline(cluster, shop.https_port) == "release one"
