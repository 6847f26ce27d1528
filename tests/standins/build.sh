#!/usr/bin/env bash
# Build local stand-ins for the official images (python, postgres, nginx, registry) and a
# log receiver (rsyslog) for the LOG_TARGET tests: no registry is
# reachable on the test machines, so nothing can be pulled. Each stand-in is built from
# Debian's own packages and behaves like the image it replaces (entry points, variables,
# data directory). Images are cached: one is rebuilt only when its recipe changes.
#
# Prints the KEY=image lines the tests export (PYTHON_IMAGE=..., ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SUITE=trixie                     # Python 3.13 and PostgreSQL 17, like the official images
BASE=djship-standin/debian:${SUITE}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '[standins] %s\n' "$*" >&2; }

recipe_hash() { (cd "$here/$1" && cat $(ls | sort)) | sha256sum | cut -c1-16; }

image_label() {
  docker image inspect -f '{{ index .Config.Labels "djship.recipe" }}' "$1" 2>/dev/null || true
}

build_base() {
  if docker image inspect "$BASE" >/dev/null 2>&1; then return; fi
  command -v debootstrap >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  local rootfs
  rootfs=$(mktemp -d)
  log "debootstrap ${SUITE} (minbase)"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
}

build_standin() { # name tag
  local name=$1 tag=$2 hash
  hash=$(recipe_hash "$name")
  if [ "$(image_label "$tag")" != "$hash" ]; then
    log "building $tag"
    DOCKER_BUILDKIT=0 docker build -q --label "djship.recipe=$hash" --build-arg "BASE=$BASE" \
      -t "$tag" "$here/$name" >/dev/null
  fi
}

build_base
build_standin python djship-standin/python:3.13-slim
build_standin postgres djship-standin/postgres:17-alpine
build_standin nginx djship-standin/nginx:1.28-alpine
build_standin registry djship-standin/registry:2
build_standin rsyslog djship-standin/rsyslog:trixie
echo "PYTHON_IMAGE=djship-standin/python:3.13-slim"
echo "POSTGRES_IMAGE=djship-standin/postgres:17-alpine"
echo "NGINX_IMAGE=djship-standin/nginx:1.28-alpine"
echo "REGISTRY_IMAGE=djship-standin/registry:2"
echo "RSYSLOG_IMAGE=djship-standin/rsyslog:trixie"
