"""Prod image size for the same project (Django + psycopg2 from source + lxml from source +
Pillow) on each base, against a naive single-stage image that keeps the compilers.

Alpine is measured only where python:3.13-alpine and an Alpine package mirror are reachable;
elsewhere the line says so.
"""

from __future__ import annotations

import subprocess
import time

from bench_project import bench_project, djship, image_size_mb

HEAVY = ('    "psycopg2==2.9.10",\n', '    "pillow>=11",\n', '    "lxml==5.2.2",\n')

# What a first Dockerfile often looks like: one stage, compilers and headers kept.
NAIVE = """\
ARG PYTHON_IMAGE=python:3.13-slim
FROM ${PYTHON_IMAGE}
ARG BUILD_PACKAGES
ARG RUNTIME_PACKAGES
RUN apt-get update \\
 && apt-get install -y --no-install-recommends $BUILD_PACKAGES $RUNTIME_PACKAGES media-types
WORKDIR /app
COPY . .
RUN --mount=type=secret,id=ca_bundle sh environments/with-ca-bundle.sh pip install uv==0.13.9 \\
 && UV_PROJECT_ENVIRONMENT=/usr/local sh environments/with-ca-bundle.sh uv sync --locked
CMD ["uwsgi", "--ini", "environments/prod/uwsgi.ini"]
"""


NAIVE_COMPOSE = """\
services:
  naive:
    image: bench_bases-naive
    build:
      context: .
      dockerfile: naive.Dockerfile
      args: {{PYTHON_IMAGE: "{python}", BUILD_PACKAGES: "{build}", RUNTIME_PACKAGES: "{runtime}"}}
      secrets: [ca_bundle]
secrets:
  ca_bundle:
    file: {bundle}
"""


def arg_value(dockerfile: str, name: str) -> str:
    line = next(line for line in dockerfile.splitlines() if line.startswith(f"ARG {name}="))
    return line.split("=", 1)[1].strip('"')


def main() -> None:
    with bench_project("bench_bases") as (root, env):
        pyproject = root / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace(
                '    "pyuwsgi>=2.0.30",\n', '    "pyuwsgi>=2.0.30",\n' + "".join(HEAVY)
            )
        )
        djship(root, "lock", env=env)
        start = time.perf_counter()
        djship(root, "build", "--env", "prod", env=env)
        built = time.perf_counter() - start
        dockerfile = (root / "environments/prod/Dockerfile").read_text()
        (root / "naive.Dockerfile").write_text(NAIVE)
        python_image = env.get("PYTHON_IMAGE", "python:3.13-slim")
        (root / "naive-compose.yaml").write_text(
            NAIVE_COMPOSE.format(
                python=python_image,
                build=arg_value(dockerfile, "BUILD_PACKAGES"),
                runtime=arg_value(dockerfile, "RUNTIME_PACKAGES"),
                bundle=env.get("BUILD_CA_BUNDLE", "/dev/null"),
            )
        )
        start = time.perf_counter()
        subprocess.run(
            ["docker", "compose", "-f", "naive-compose.yaml", "build"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        naive_time = time.perf_counter() - start
        print(f"base image {python_image}: {image_size_mb(python_image):.0f} MB")
        djship_mb, naive_mb = (
            image_size_mb("bench_bases-web:prod"),
            image_size_mb("bench_bases-naive"),
        )
        print(f"debian, djship multi-stage prod image: {djship_mb:.0f} MB (build {built:.0f} s)")
        print(
            f"debian, naive single stage with compilers: {naive_mb:.0f} MB "
            f"(build {naive_time:.0f} s)"
        )
        alpine = subprocess.run(
            ["docker", "image", "inspect", "python:3.13-alpine"], capture_output=True
        )
        if alpine.returncode != 0:
            print(
                "alpine: not measured here (python:3.13-alpine and Alpine's package mirror "
                "are out of reach on this machine)"
            )
        subprocess.run(["docker", "image", "rm", "-f", "bench_bases-naive"], capture_output=True)


if __name__ == "__main__":
    main()
