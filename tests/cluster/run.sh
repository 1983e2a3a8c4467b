#!/usr/bin/env bash
# Cluster tests (issue 12): redis-server, and three nodes on one stream — `iorelay` (smol),
# `iorelay-std` (both with --redis-url) and a Node.js Socket.IO 4.8 server with the official
# @socket.io/redis-streams-adapter 0.3.1 (server.mjs) — with a socket.io-client and a
# python-socketio client on each. The checks are in cluster.mjs.
#
#   tests/cluster/run.sh BINARY_SMOL BINARY_STD
#
# Installs what is missing: Debian's redis-server (apt-get, as root or with sudo), the npm
# packages (npm ci from the committed lock) and the interop suite's python venv
# (tests/interop/python/.venv). Loopback only; every process started is ended by pid on exit.
# Ends with the line `N passed, M failed`; exits non-zero on any failure.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

[ $# -eq 2 ] || { echo "usage: $0 BINARY_SMOL BINARY_STD" >&2; exit 2; }
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
for b in "$1" "$2"; do
  [ -f "$b" ] && [ -x "$b" ] || { echo "error: $b is not an executable file" >&2; exit 2; }
done
IORELAY_SMOL="$(abs "$1")"
IORELAY_STD="$(abs "$2")"

fail_setup() {
  echo "error: $1" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# --- dependencies (fresh-machine safe) -----------------------------------------------------------
install_redis() { "$ROOT/scripts/apt-install.sh" "redis-server redis-cli" redis-server; }

install_node() { "$ROOT/scripts/npm-ci.sh" "$HERE"; }

# The interop suite's venv (python-socketio).
install_python() { CLUSTER_PYTHON="$("$ROOT/scripts/python-venv.sh" "$ROOT/tests/interop/python")"; }

install_redis || fail_setup "redis-server is missing and could not be installed (apt-get needs root or sudo)"
install_node || fail_setup "npm ci failed"
install_python || fail_setup "python venv setup failed"

# --- run -----------------------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/iorelay-cluster.XXXXXX")"
pids="$work/pids"
: >"$pids"
: >"$work/driver.out"
driver=""

cleanup() {
  local pid
  [ -n "$driver" ] && kill -TERM "$driver" 2>/dev/null
  # Everything the driver started, by pid: TERM, a bounded wait, then KILL.
  while read -r pid; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
  done <"$pids"
  for _ in $(seq 1 50); do
    local alive=0
    while read -r pid; do
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1
    done <"$pids"
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  while read -r pid; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  done <"$pids"
  [ -n "$driver" ] && wait "$driver" 2>/dev/null
  if [ "${IORELAY_CLUSTER_KEEP:-}" = 1 ]; then
    echo "cluster: logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

began=$SECONDS
echo "=== cluster: $IORELAY_SMOL + $IORELAY_STD + node (socket.io 4.8.4, redis-streams-adapter 0.3.1)"
IORELAY_SMOL="$IORELAY_SMOL" IORELAY_STD="$IORELAY_STD" REDIS_SERVER="$(command -v redis-server)" \
  WORK="$work" PIDS="$pids" PYTHON="$CLUSTER_PYTHON" \
  timeout --kill-after=10 600 node "$HERE/cluster.mjs" >"$work/driver.out" 2>&1 &
driver=$!
# The driver's lines as they come, but its summary: that is printed last, below.
tail -n +1 -f --pid="$driver" "$work/driver.out" | grep --line-buffered -vE '^[0-9]+ passed, [0-9]+ failed$' &
tailer=$!
wait "$driver"
rc=$?
driver=""
wait "$tailer" 2>/dev/null
echo "cluster: $((SECONDS - began)) s" >&2

summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/driver.out" | tail -n 1)"
if [ -z "$summary" ]; then
  echo "error: the driver ended (exit $rc) without a summary" >&2
  summary="0 passed, 1 failed"
  rc=1
fi
if [ "$rc" != 0 ]; then
  for f in "$work"/*.err; do
    [ -s "$f" ] || continue
    echo "--- $(basename "$f") (last 20 lines)" >&2
    tail -n 20 "$f" >&2
  done
fi
echo "$summary" | grep -q ' 0 failed$' || rc=1
echo "$summary"
exit "$rc"
