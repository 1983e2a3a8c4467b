#!/usr/bin/env bash
# Interop tests: the official socket.io-client (npm) and python-socketio (PyPI) against one server.
#
#   tests/interop/run.sh BINARY_PATH [LABEL]   # an iorelay binary; LABEL smol|std (from the name)
#   tests/interop/run.sh reference [LABEL]     # the official socket.io server (reference-server.mjs)
#
# Installs what is missing (npm ci; a venv at python/.venv), starts the server with
# `serve --conformance --port 0`, runs both suites against it with IORELAY_URL, stops it, and ends
# with the line `N passed, M failed`. Exits non-zero on any failure. See README.md.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

usage() {
  echo "usage: $0 BINARY_PATH|reference [smol|std|LABEL]" >&2
  exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage

target="$1"
label="${2:-}"
if [ "$target" = reference ]; then
  server_argv=(node "$HERE/reference-server.mjs")
  label="${label:-reference}"
else
  [ -f "$target" ] && [ -x "$target" ] || { echo "error: $target is not an executable file" >&2; exit 2; }
  binary="$(cd "$(dirname "$target")" && pwd)/$(basename "$target")"
  server_argv=("$binary")
  if [ -z "$label" ]; then
    case "$(basename "$binary")" in
      *std*) label=std ;;
      *) label=smol ;;
    esac
  fi
fi

case "$label" in
  std) many_default=200 ;;
  *) many_default=1000 ;;
esac
export IORELAY_MANY_CLIENTS="${IORELAY_MANY_CLIENTS:-$many_default}"
export IORELAY_LABEL="$label"

# Each of the many clients holds a socket in this process and the server: room for both.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
  ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

# --- dependencies (fresh-machine safe) -----------------------------------------------------------
install_node() { "$ROOT/scripts/npm-ci.sh" "$HERE/node"; }

install_python() { "$ROOT/scripts/python-venv.sh" "$HERE/python" >/dev/null; }

install_node || { echo "error: npm ci failed" >&2; echo "0 passed, 1 failed"; exit 1; }
install_python || { echo "error: python venv setup failed" >&2; echo "0 passed, 1 failed"; exit 1; }

# --- the server under test -----------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/iorelay-interop.XXXXXX")"
server_pid=""

stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null
  fi
  wait "$server_pid" 2>/dev/null
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME FLAGS...: starts `SERVER serve FLAGS --port 0`, waits (bounded) for its
# listening line, and sets server_pid and url; on failure prints why and returns 1.
start_server() {
  local name="$1"
  shift
  # Each server keeps its history and hook state in the run's scratch dir, never the user's.
  IORELAY_DATA_DIR="$work/$name.data" IORELAY_STATE_DIR="$work/$name.state" \
    "${server_argv[@]}" serve "$@" --port 0 >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  url=""
  for _ in $(seq 1 200); do
    url="$(sed -n 's#^iorelay listening on \(http://[^ ]*\).*$#\1#p' "$work/$name.out" | head -n 1)"
    [ -n "$url" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "error: the $name server did not print 'iorelay listening on http://...' within 10 s" >&2
  echo "--- server stdout:" >&2; cat "$work/$name.out" >&2
  echo "--- server stderr:" >&2; tail -n 50 "$work/$name.err" >&2
  return 1
}

if ! start_server server --conformance; then
  echo "0 passed, 1 failed"
  exit 1
fi

export IORELAY_URL="$url"
IORELAY_SERVER_ARGV="$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${server_argv[@]}")"
export IORELAY_SERVER_ARGV
echo "interop [$label]: server ${server_argv[*]} at $url; many clients: $IORELAY_MANY_CLIENTS" >&2

# --- the suites ----------------------------------------------------------------------------------
passed=0
failed=0

# run_node NAME FILES: node --test over FILES (space-separated, globs expanded in node/); adds
# to passed/failed, sets node_pass/node_fail.
run_node() {
  local name="$1"
  shift
  echo "=== socket.io-client (node) [$label] $name"
  (
    cd "$HERE/node" &&
      # shellcheck disable=SC2086 # FILES is a list of globs on purpose
      node --test --test-concurrency=1 --test-force-exit --test-timeout=180000 --test-reporter=spec $1
  ) 2>&1 | tee "$work/node-$name.out"
  local rc=${PIPESTATUS[0]}
  # The spec reporter's summary (`ℹ pass N`); --test-force-exit can cut a file reporter's summary.
  local out="$work/node-$name.out" cancelled skipped
  node_pass="$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$out" | tail -n 1)"
  node_fail="$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$out" | tail -n 1)"
  cancelled="$(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$out" | tail -n 1)"
  skipped="$(sed -n 's/^ℹ skipped \([0-9]*\)$/\1/p' "$out" | tail -n 1)"
  node_pass="${node_pass:-0}"
  node_fail=$((${node_fail:-0} + ${cancelled:-0} + ${skipped:-0}))
  if [ "$rc" -ne 0 ] && [ "$node_fail" -eq 0 ]; then node_fail=1; fi
  if [ "$node_pass" -eq 0 ] && [ "$node_fail" -eq 0 ]; then node_fail=1; fi
  passed=$((passed + node_pass))
  failed=$((failed + node_fail))
}

# run_python NAME PATHS: pytest over PATHS (space-separated, relative to python/); adds to
# passed/failed, sets py_pass/py_fail.
run_python() {
  local name="$1"
  shift
  echo "=== python-socketio (python) [$label] $name"
  (
    cd "$HERE/python" &&
      # shellcheck disable=SC2086 # PATHS is a list on purpose
      .venv/bin/python -m pytest -p no:cacheprovider -q -rfE --junitxml="$work/python-$name.xml" $1
  )
  local rc=$?
  read -r py_pass py_fail < <(
    python3 - "$work/python-$name.xml" <<'EOF' 2>/dev/null || echo "0 0"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad + skipped)
EOF
  )
  py_pass="${py_pass:-0}"
  py_fail="${py_fail:-0}"
  if [ "$rc" -ne 0 ] && [ "$py_fail" -eq 0 ]; then py_fail=1; fi
  if [ "$py_pass" -eq 0 ] && [ "$py_fail" -eq 0 ]; then py_fail=1; fi
  passed=$((passed + py_pass))
  failed=$((failed + py_fail))
}

# check_server NAME: a server that died during its suites counts as one failure.
check_server() {
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "error: the $1 server under test exited during the run" >&2
    failed=$((failed + 1))
  fi
  if [ "$failed" -ne 0 ]; then
    echo "--- $1 server stderr (last 40 lines):" >&2
    tail -n 40 "$work/$1.err" >&2
  fi
}

run_node conformance "${IORELAY_NODE_TESTS:-test/*.test.mjs}"
summary="node $node_pass passed, $node_fail failed"
run_python conformance "${IORELAY_PYTHON_TESTS:-tests}"
summary="$summary; python $py_pass passed, $py_fail failed"
check_server server
stop_server

# --- the relay suites: the same binary as a relay (`serve --port 0`, no --conformance) -----------
if [ "$target" = reference ]; then
  echo "interop [$label]: the reference server has no relay mode; relay suites skipped" >&2
elif ! start_server relay; then
  failed=$((failed + 1))
  summary="$summary; the relay server did not start"
else
  export IORELAY_RELAY_URL="$url"
  echo "interop [$label]: relay server ${server_argv[*]} serve --port 0 at $url" >&2
  run_node relay "${IORELAY_NODE_RELAY_TESTS:-relay/*.test.mjs}"
  summary="$summary; relay: node $node_pass passed, $node_fail failed"
  run_python relay "${IORELAY_PYTHON_RELAY_TESTS:-relay}"
  summary="$summary; python $py_pass passed, $py_fail failed"
  check_server relay
  stop_server
fi

echo "interop [$label]: $summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
