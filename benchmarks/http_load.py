"""Requests per second and p50/p99 latency through the prod proxy (HTTPS), with wrk on
127.0.0.1, for a dynamic page and for a static file. Median of 3 runs, with min and max.

On a 2-core machine wrk, docker-proxy and the stack share the cores: compare the two lines of
one run with each other, not with figures from another machine.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import time

import requests
import urllib3
from bench_project import bench_project, djship

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
RUNS, SECONDS, CONNECTIONS, THREADS = 3, 10, 16, 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)


def wait_for_quiet_sockets(limit: int = 300, timeout: float = 120) -> None:
    """TIME_WAIT sockets left by a run throttle the next one: wait until they are gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        summary = subprocess.run(["ss", "-s"], capture_output=True, text=True).stdout
        match = re.search(r"timewait (\d+)", summary)
        if not match or int(match.group(1)) < limit:
            return
        time.sleep(2)


def wrk(url: str, seconds: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one wrk run."""
    out = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
    if "Non-2xx" in out or "Socket errors" in out:
        print(
            f"  warning: {url}: "
            + " ".join(
                line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket" in line
            )
        )
    return rps, p50, p99


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(name: str, url: str) -> None:
    wait_for_quiet_sockets()
    wrk(url, 3)  # warm-up
    runs = []
    for _ in range(RUNS):
        wait_for_quiet_sockets()
        runs.append(wrk(url, SECONDS))
    rps = [r[0] for r in runs]
    p50 = [r[1] for r in runs]
    p99 = [r[2] for r in runs]
    print(
        f"{name}: {statistics.median(rps):.0f} req/s (min {min(rps):.0f}, max {max(rps):.0f}); "
        f"p50 {statistics.median(p50):.1f} ms; p99 {statistics.median(p99):.1f} ms "
        f"(min {min(p99):.1f}, max {max(p99):.1f})"
    )


def main() -> None:
    ensure_wrk()
    http_port, https_port = free_port(), free_port()
    with bench_project("bench_http", "--port", str(http_port), "--https-port", str(https_port)) as (
        root,
        env,
    ):
        djship(root, "certificate", env=env)
        djship(root, "up", "--env", "prod", env=env)
        base = f"https://127.0.0.1:{https_port}/"
        manifest = requests.get(base + "static/staticfiles.json", verify=False, timeout=10)
        css = manifest.json()["paths"]["welcome/style.css"]
        print(
            f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s over HTTPS through nginx, "
            f"{RUNS} runs each"
        )
        measure("dynamic page (/)", base)
        measure(f"static file (/static/{css})", base + "static/" + css)


if __name__ == "__main__":
    main()
