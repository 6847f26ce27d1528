"""A throwaway generated project for the benchmarks, taken down (volumes included) at the end.

Uses local stand-ins for the base images when Docker Hub is out of reach (as on CI machines),
like scripts/demo does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def image_env() -> dict[str, str]:
    """Base image variables: the official images if present, else the stand-ins."""
    if (
        subprocess.run(
            ["docker", "image", "inspect", "python:3.13-slim"], capture_output=True
        ).returncode
        == 0
    ):
        env = {}
    else:
        out = subprocess.run(
            ["bash", str(REPO / "tests/standins/build.sh")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        env = dict(line.split("=", 1) for line in out.split())
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():
        env["BUILD_CA_BUNDLE"] = str(bundle)
    return env


def image_size_mb(image: str) -> float:
    """The size of a local image, in MB (10^6 bytes), as `docker image inspect` reports it."""
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out) / 1e6


def djship(root: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "djship", "--plain", *args],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"djship {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


@contextmanager
def bench_project(
    name: str, *new_args: str, extra: dict[str, str] | None = None
) -> Iterator[tuple[Path, dict[str, str]]]:
    env = {**image_env(), **(extra or {})}
    base = Path(tempfile.mkdtemp(prefix="djship-bench-"))
    root = base / name
    try:
        djship(base, "new", name, *new_args, env=env)
        yield root, env
    finally:
        for environment in ("prod", "dev"):
            subprocess.run(
                [
                    "docker",
                    "compose",
                    "-f",
                    "compose.yaml",
                    "-f",
                    f"environments/{environment}/compose.yaml",
                    "down",
                    "--volumes",
                    "--timeout",
                    "5",
                ],
                cwd=root,
                capture_output=True,
            )
        shutil.rmtree(base, ignore_errors=True)
