#!/usr/bin/env bash
# Runs the Engine.IO v4 / Socket.IO v5 conformance checks against a server.
#
#   run.sh <command that starts the server> [args...]
#   run.sh reference            # the official Node.js servers (reference-server.mjs)
#
# The command runs from the current directory with PORT=3000, in its own
# process group, which is killed afterwards. It must serve /engine.io/,
# /socket.io/ and GET /health (200) on localhost:3000 in conformance mode.
# A single argument is run through `bash -c`, so it may contain shell syntax.
#
# Exit status: that of the test run (0 = all passed); 2 on setup failure.

set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT=3000
URL="http://localhost:${PORT}"
STARTUP_SECONDS=10

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <command that starts the server> [args...] | $0 reference" >&2
  exit 2
fi

if ! command -v node >/dev/null 2>&1; then
  echo "run.sh: node (>= 20) is required" >&2
  exit 2
fi

# Dependencies: install exactly what package-lock.json says when missing or stale.
"$HERE/../../scripts/npm-ci.sh" "$HERE" || { echo "run.sh: npm ci failed" >&2; exit 2; }

if [ "$1" = "reference" ] && [ "$#" -eq 1 ]; then
  set -- node "$HERE/reference-server.mjs"
  # The Node.js reference server sometimes writes the Socket.IO CONNECT reply
  # and the next event in one go (see README, "delivery check").
  export CONFORMANCE_DELIVERY="${CONFORMANCE_DELIVERY:-lenient}"
fi

healthy() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 1 "$URL/health" 2>/dev/null
  else
    node -e "fetch('$URL/health',{signal:AbortSignal.timeout(1000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
  fi
}

if healthy; then
  echo "run.sh: something already answers on $URL/health; stop it first" >&2
  exit 2
fi

LOG="$(mktemp "${TMPDIR:-/tmp}/conformance-server.XXXXXX.log")"
SERVER_PID=""

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null
  fi
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}
trap 'stop_server; rm -f "$LOG"' EXIT
trap 'exit 130' INT TERM

# setsid: the server (and anything it spawns) gets its own process group,
# whose id is the server's pid.
if [ "$#" -eq 1 ]; then
  PORT="$PORT" setsid bash -c "$1" >"$LOG" 2>&1 </dev/null &
else
  PORT="$PORT" setsid "$@" >"$LOG" 2>&1 </dev/null &
fi
SERVER_PID=$!

deadline=$((SECONDS + STARTUP_SECONDS))
until healthy; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run.sh: the server exited before answering $URL/health; its output:" >&2
    tail -n 50 "$LOG" >&2
    exit 2
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "run.sh: no 200 from $URL/health within ${STARTUP_SECONDS} s; server output:" >&2
    tail -n 50 "$LOG" >&2
    exit 2
  fi
  sleep 0.1
done

cd "$HERE"
CONFORMANCE_URL="$URL" node --test --test-concurrency=1 engineio.test.mjs socketio.test.mjs
status=$?

if [ "$status" -ne 0 ]; then
  echo "run.sh: conformance checks failed (exit $status); last server output:" >&2
  tail -n 30 "$LOG" >&2
fi
exit "$status"
