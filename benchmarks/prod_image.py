"""Prod image figures: size, cold build time, rebuild time after a one-line code change.

Cold = no layer cache (`--no-cache`); BuildKit's download cache mounts are kept, so it
measures building, not the network. Prints one line per figure.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time

from bench_project import bench_project, image_size_mb

COMPOSE = [
    "docker",
    "compose",
    "--progress",
    "quiet",
    "-f",
    "compose.yaml",
    "-f",
    "environments/prod/compose.yaml",
]


def timed_build(root, *flags: str) -> float:
    start = time.perf_counter()
    subprocess.run([*COMPOSE, "build", *flags, "web"], cwd=root, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with bench_project("bench_image") as (root, _env):
        timed_build(root)  # warm the download cache
        cold = timed_build(root, "--no-cache")
        views = root / "welcome" / "views.py"
        rebuilds = []
        for round_ in range(3):
            views.write_text(views.read_text() + f"\n# edit {round_} {time.time_ns()}\n")
            rebuilds.append(timed_build(root))
        rebuilds.sort()
        print(f"machine: {platform.machine()}, {_cpus()} CPUs, Docker {_docker()}")
        image, base = "bench_image-web:prod", _env_base(_env)
        print(
            f"prod image size: {image_size_mb(image):.0f} MB "
            f"(base {base}: {image_size_mb(base):.0f} MB, djship's layers: "
            f"{image_size_mb(image) - image_size_mb(base):.0f} MB)"
        )
        print(f"cold build (no layer cache): {cold:.1f} s")
        print(
            f"rebuild after a one-line code change: median {rebuilds[1]:.1f} s "
            f"(min {rebuilds[0]:.1f}, max {rebuilds[2]:.1f})"
        )


def _env_base(env: dict[str, str]) -> str:
    return env.get("PYTHON_IMAGE", "python:3.13-slim")


def _cpus() -> int:
    return os.cpu_count() or 0


def _docker() -> str:
    return subprocess.run(
        ["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True
    ).stdout.strip()


if __name__ == "__main__":
    main()
