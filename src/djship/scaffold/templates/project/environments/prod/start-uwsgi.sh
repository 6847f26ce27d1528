#!/bin/sh
# Starts uWSGI with a worker count fitted to the CPU this container may really use.
# uWSGI's %k counts the host's cores and ignores a `cpus:` limit, so the cgroup quota is
# read here (v2 and v1), falling back to the cores this process may run on (nproc).
# WEB_MAX_WORKERS, WEB_MIN_WORKERS, WEB_INITIAL_WORKERS and WEB_WORKER_RSS_MB in .env override
# the results.
set -eu
cgroup=${CGROUP_ROOT:-/sys/fs/cgroup}

cpu_limit() { # the CPU quota rounded up, or nothing when there is none
  if [ -r "$cgroup/cpu.max" ]; then                      # v2: "<quota> <period>" or "max <period>"
    read -r quota period <"$cgroup/cpu.max"
  elif [ -r "$cgroup/cpu/cpu.cfs_quota_us" ]; then       # v1: quota is -1 when unlimited
    quota=$(cat "$cgroup/cpu/cpu.cfs_quota_us")
    period=$(cat "$cgroup/cpu/cpu.cfs_period_us")
  else
    return 0
  fi
  case "$quota" in max | -1 | "") return 0 ;; esac
  echo $(((quota + period - 1) / period))
}

memory_limit_mb() { # the memory limit in MB, or nothing when there is none
  if [ -r "$cgroup/memory.max" ]; then                   # v2: bytes, or "max"
    limit=$(cat "$cgroup/memory.max")
  elif [ -r "$cgroup/memory/memory.limit_in_bytes" ]; then  # v1: about 8 EiB when unlimited
    limit=$(cat "$cgroup/memory/memory.limit_in_bytes")
  else
    return 0
  fi
  case "$limit" in max | "") return 0 ;; esac
  mb=$((limit / 1048576))
  if [ "$mb" -lt 1048576 ]; then echo "$mb"; fi          # over 1 TiB means no limit
}

cpus=$(nproc)
limit=$(cpu_limit)
if [ -n "$limit" ] && [ "$limit" -lt "$cpus" ]; then cpus=$limit; fi

max=${WEB_MAX_WORKERS:-$((cpus * ${WEB_WORKERS_PER_CPU:-2}))}
min=${WEB_MIN_WORKERS:-$cpus}      # one per CPU stays up: a surge never meets a shrunk pool
initial=${WEB_INITIAL_WORKERS:-$max}   # start full: the cheaper subsystem stops idle ones
# The cheaper subsystem needs floor < ceiling (0 turns it off) and a start in between.
if [ "$min" -ge "$max" ]; then min=$((max - 1)); fi
if [ "$initial" -gt "$max" ]; then initial=$max; fi
if [ "$initial" -lt "$min" ]; then initial=$min; fi
# A worker whose memory grows past its share of the limit (the master counts as one more)
# is recycled after its request, long before the kernel's OOM killer would stop the
# container; 512 MB each when there is no limit.
memory=$(memory_limit_mb)
share=512
if [ -n "$memory" ]; then share=$((memory / (max + 1))); fi
rss=${WEB_WORKER_RSS_MB:-$share}
export WEB_MAX_WORKERS=$max WEB_MIN_WORKERS=$min WEB_INITIAL_WORKERS=$initial WEB_WORKER_RSS_MB=$rss
echo "start-uwsgi: ${cpus} CPU(s) usable; workers ${min}..${max}, ${initial} at start;" \
  "a worker over ${rss} MB is recycled" >&2

# `djship reload` ships code to /srv/hotfix/code (on sys.path) and touches the chain-reload
# trigger: both must exist before uWSGI starts watching.
mkdir -p /srv/hotfix/code 2>/dev/null || true
touch /srv/hotfix/reload 2>/dev/null || true

# One host: the first container (or one starting after the live one died) takes the traffic;
# during a deploy the new one waits until djship moves live.sock to it, once healthy.
if [ -d /run/web ] && [ -w /run/web ]; then
  python /app/environments/prod/live-socket.py --if-free || true
fi

# uWSGI's HTTP router gets port 8000 opened with TCP_NODELAY (router-socket.py says why).
uwsgi="python /app/environments/prod/router-socket.py :8000 uwsgi --ini /app/environments/prod/uwsgi.ini"

# Without a stop delay, uWSGI is the container's main process, as usual.
delay=${WEB_STOP_DELAY:-0}
if [ "$delay" = 0 ]; then
  exec $uwsgi
fi
# A swarm takes a task out of its DNS as it stops it, but nginx may still use the address it
# resolved a moment ago: keep serving WEB_STOP_DELAY seconds after SIGTERM, then drain.
# SIGHUP (full reload) is passed on as it is.
$uwsgi &
pid=$!
trap 'sleep "$delay"; kill -TERM "$pid"' TERM
trap 'kill -HUP "$pid"' HUP
status=0
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" || status=$?   # returns early when a trapped signal arrives
done
exit "$status"
