#!/usr/bin/env bash
# A Docker engine for pachlite's container mode, on a Debian 12 machine with no registry access.
#
#   bash .ci/docker.sh start   # install docker.io + debootstrap, start dockerd, build pachlite-base
#   bash .ci/docker.sh stop    # stop the dockerd that `start` started
#
# Idempotent: an engine that already answers is used as it is; the base image is built only if
# the engine lacks it (or holds one made with other packages), from a cached debootstrap tarball
# when there is one. Run as root.
#
# dockerd runs with no bridge and no iptables/ip-forward changes: datums need no network (pachlite
# runs them with --network none), and the host's firewall and sysctls stay as they were. So a
# `docker build` cannot reach PyPI either: the stage image installs its pinned packages from the
# wheels `make wheels` downloads beforehand (`make test` does).
set -euo pipefail

BASE_IMAGE=pachlite-base:bookworm
SUITE=bookworm
PACKAGES=python3,python3-venv  # the stage image makes a venv of the pinned packages on it
CACHE_DIR=${PACHLITE_CACHE_DIR:-/var/cache/pachlite}
LOG=${PACHLITE_DOCKERD_LOG:-/var/log/pachlite-dockerd.log}
PIDFILE=/var/run/pachlite-dockerd.pid
WAIT_SECONDS=30

say() { printf 'docker.sh: %s\n' "$*"; }
die() { printf 'docker.sh: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
engine_answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return
  local t; t=$(now)
  say "installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  say "installed ${missing[*]} in $(since "$t")"
}

# One try of dockerd with a storage driver; true once `docker info` answers.
try_dockerd() {
  local driver=$1 t; t=$(now)
  printf '\n=== %s dockerd --storage-driver=%s\n' "$(date -Is)" "$driver" >>"$LOG"
  # setsid: the daemon outlives this script and the CI step's process group.
  setsid dockerd --storage-driver="$driver" --pidfile="$PIDFILE" \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    >>"$LOG" 2>&1 </dev/null &
  local pid=$!
  for _ in $(seq $((WAIT_SECONDS * 10))); do
    if engine_answers; then
      say "dockerd (pid $pid, storage $driver) answered in $(since "$t"); log: $LOG"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  say "dockerd with storage driver $driver did not come up; its log ends:" >&2
  tail -n 5 "$LOG" | sed 's/^/    /' >&2
  return 1
}

start_engine() {
  if engine_answers; then
    say "a Docker engine already answers ($(docker info --format '{{.ServerVersion}}')); using it"
    return
  fi
  # overlay2 is fast; vfs (a full copy per layer) works where overlay cannot mount, e.g. nested.
  try_dockerd overlay2 || try_dockerd vfs ||
    die "the Docker engine could not start (see $LOG); container mode needs one: run on a machine or VM that allows dockerd, or run pachlite without containers"
}

debian_mirror() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
    awk -v suite="$SUITE" '$2 == suite { print $1; exit }'
}

# A minimal Debian root file system with Python, imported as an image: no registry.
build_base_image() {
  local mirror; mirror=${PACHLITE_DEBIAN_MIRROR:-$(debian_mirror)}
  mirror=${mirror:-http://deb.debian.org/debian/}
  # The cache key names everything that changes the tarball's content.
  local key; key=$(printf '%s %s %s' "$SUITE" "$PACKAGES" "$mirror" | sha256sum | cut -c1-12)
  # The image's comment carries the key: a base imported with other packages is replaced.
  local message="debootstrap $SUITE minbase +$PACKAGES ($key)"
  if [ "$(docker image inspect --format '{{.Comment}}' "$BASE_IMAGE" 2>/dev/null)" = "$message" ]; then
    say "$BASE_IMAGE is already in the engine"
    return
  fi
  local tarball=$CACHE_DIR/$SUITE-minbase-$key.tar
  mkdir -p "$CACHE_DIR"
  if [ -f "$tarball" ]; then
    say "using cached root file system $tarball"
  else
    local t rootfs; t=$(now)
    rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
    say "debootstrap $SUITE (+$PACKAGES) from $mirror"
    if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" \
        >"$CACHE_DIR/debootstrap.log" 2>&1; then
      tail -n 5 "$CACHE_DIR/debootstrap.log" | sed 's/^/    /' >&2
      rm -rf "$rootfs"
      die "debootstrap failed (log: $CACHE_DIR/debootstrap.log); check that $mirror is reachable"
    fi
    # The downloaded .debs and package lists are ~100 MB the image never uses.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    say "root file system built in $(since "$t"): $tarball ($(du -h "$tarball" | cut -f1))"
  fi
  local t; t=$(now)
  docker import --message "$message" "$tarball" "$BASE_IMAGE" >/dev/null
  say "imported $BASE_IMAGE in $(since "$t")"
}

stop_engine() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || { say "no dockerd started by docker.sh is running"; return; }
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$PIDFILE"
    say "no dockerd started by docker.sh is running"
    return
  fi
  local t; t=$(now)
  kill "$pid"
  for _ in $(seq $((WAIT_SECONDS * 10))); do
    kill -0 "$pid" 2>/dev/null || { say "dockerd (pid $pid) stopped in $(since "$t")"; return; }
    sleep 0.1
  done
  die "dockerd (pid $pid) did not stop within ${WAIT_SECONDS}s; see $LOG"
}

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and starts dockerd"
case "${1:-}" in
  start)
    t0=$(now)
    install_packages
    start_engine
    build_base_image
    say "ready in $(since "$t0")"
    ;;
  stop) stop_engine ;;
  *) die "usage: bash .ci/docker.sh start|stop" ;;
esac
