"""What a deploy and a rollback cost the users of a running app: failed requests, p50/p99/max
latency of the requests made meanwhile (3 client threads, keep-alive, HTTPS through the
proxy, on 127.0.0.1), and the command's wall time (the release's build excluded). On one
host, and on a swarm of two nodes on this machine (the e2e harness: a dockerd per network
namespace, a local TLS registry). Rounds alternate deploy (a changed page) and rollback.

    uv run python benchmarks/deploy.py [--target host|swarm|both] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_project import bench_project, djship  # noqa: E402
from tests.e2e.conftest import free_port  # noqa: E402
from tests.e2e.load import Load  # noqa: E402

from djship.project.envfile import set_value  # noqa: E402


def git(root: Path, *args: str) -> None:
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)


def new_release(root: Path, env: dict, label: str) -> str:
    views = root / "welcome" / "views.py"
    text = views.read_text()
    start = text.index('"headline": "') + len('"headline": "')
    end = text.index('"', start)
    views.write_text(text[:start] + f"bench {label}" + text[end:])
    git(root, "commit", "-qam", label)
    return djship(root, "release", env=env).strip().splitlines()[-1]


def measured(load_factory, command) -> dict:
    """Run `command` under load; the figures of the requests made while it ran."""
    with load_factory() as load:
        time.sleep(1)
        seen = len(load.latencies)
        started = time.monotonic()
        command()
        wall = time.monotonic() - started
        latencies = sorted(load.latencies[seen:])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [0] * 99
    return {
        "wall": wall,
        "failed": load.failed,
        "ok": load.ok,
        "p50": quantiles[49] * 1000,
        "p99": quantiles[98] * 1000,
        "max": (latencies[-1] if latencies else 0) * 1000,
    }


def report(target: str, kind: str, rounds: list[dict]) -> None:
    def span(key: str, unit: str, digits: int = 0) -> str:
        values = [r[key] for r in rounds]
        low, mid, high = (
            f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values))
        )
        return f"{mid}{unit} (min {low}, max {high})"

    failed = sum(r["failed"] for r in rounds)
    total = failed + sum(r["ok"] for r in rounds)
    print(
        f"{target} {kind}: {failed} failed of {total} requests; wall {span('wall', ' s', 1)}; "
        f"p50 {span('p50', ' ms', 1)}; p99 {span('p99', ' ms', 1)}; max {span('max', ' ms')}"
        f" [{len(rounds)} rounds]",
        flush=True,
    )


def run_rounds(root: Path, env: dict, load_factory, rounds: int, target: str) -> None:
    deploys, rollbacks = [], []
    for number in range(rounds):
        version = new_release(root, env, f"round {number}")
        deploys.append(measured(load_factory, lambda v=version: djship(root, "deploy", v, env=env)))
        rollbacks.append(measured(load_factory, lambda: djship(root, "rollback", env=env)))
    report(target, "deploy", deploys)
    report(target, "rollback", rollbacks)


def prepare(root: Path, env: dict, settings: dict[str, str]) -> None:
    dotenv = root / ".env"
    text = dotenv.read_text()
    for key, value in settings.items():
        text = set_value(text, key, value)
    dotenv.write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    djship(root, "certificate", env=env)
    first = new_release(root, env, "first")
    djship(root, "deploy", first, env=env)


def host(rounds: int) -> None:
    https = free_port()
    with bench_project("benchhost", "--port", str(free_port()), "--https-port", str(https)) as (
        root,
        env,
    ):
        try:
            prepare(root, env, {})
            url = f"https://127.0.0.1:{https}/"
            run_rounds(root, env, lambda: Load(url, threads=3), rounds, "host")
        finally:
            remove_ledger(root.name)


def swarm(rounds: int) -> None:
    from tests.e2e.cluster import NodeLoad, swarm_cluster

    with swarm_cluster(nodes=2) as cluster:
        images = bench_images(cluster)
        https = free_port()
        with bench_project(
            "benchswarm", "--port", str(free_port()), "--https-port", str(https), extra=images
        ) as (root, env):
            settings = {
                "DEPLOY_TARGET": "swarm",
                "SWARM_HOST": cluster.manager.env()["DOCKER_HOST"],
                "REGISTRY": cluster.registry,
                "WEB_REPLICAS": "2",
            }
            try:
                prepare(root, env, settings)
                url = f"https://127.0.0.1:{https}/"
                netns = cluster.manager.netns
                run_rounds(
                    root, env, lambda: NodeLoad(url, threads=3, netns=netns), rounds, "swarm"
                )
            finally:
                cluster.manager.docker("stack", "rm", root.name)
                remove_ledger(root.name)


def bench_images(cluster) -> dict[str, str]:
    from bench_project import image_env

    local = image_env()
    return {
        "POSTGRES_IMAGE": cluster.push(local["POSTGRES_IMAGE"]),
        "NGINX_IMAGE": cluster.push(local["NGINX_IMAGE"]),
    }


def remove_ledger(project: str) -> None:
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", f"label=io.djship.ledger={project}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    if volumes:
        subprocess.run(["docker", "volume", "rm", *volumes], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=("host", "swarm", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    machine = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {machine}, {os.cpu_count()} CPUs", flush=True)
    if args.target in ("host", "both"):
        host(args.rounds)
    if args.target in ("swarm", "both"):
        swarm(args.rounds)


if __name__ == "__main__":
    main()
