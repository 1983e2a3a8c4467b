#!/usr/bin/env bash
# iorelay's side-by-side benchmark: both iorelay binaries and the Socket.IO peers
# (socketioxide, socket.io on Node, python-socketio) doing the same relay job on this machine,
# driven by one load generator that shares no code with any of them. Loopback only; every loop
# is bounded in count and time. See bench/README.md and docs/benchmarks.md.
#
#   bench/sidebyside/run.sh                    # every built-in peer, every scenario, full sizes
#   bench/sidebyside/run.sh --quick            # small sizes, smoke test (1-2 min once built)
#   bench/sidebyside/run.sh --peers iorelay,socketioxide --scenarios fanout-max
#   bench/sidebyside/run.sh --peer before='exec /tmp/before/iorelay --port $PORT --log warn'
#   bench/sidebyside/run.sh --help
#
# Every server is started alone, once per scenario (fresh process each time), with
# PORT set in its environment, and stopped by the PID (process group) this script got
# when it started it. Results: <out>/results.jsonl (one JSON line per peer x scenario),
# <out>/results.md (tables), <out>/meta.json, <out>/logs/.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CALLER_DIR="$(pwd)"
cd "$HERE"

# The crowd scenario holds 10 000 websockets in the load generator and as many in the server
# (each a child of this shell): room for both, as tests/interop/run.sh does.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 16384 ]; then
  ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

# ------------------------------------------------------------------ defaults
PORT="${PORT:-8765}"
export PORT
BUILTIN=(iorelay iorelay-std socketioxide node-socketio python-socketio)
PEERS_SEL="all"
EXTRA_NAMES=()
EXTRA_CMDS=()
SCENARIOS="check,ingest-ephemeral,ingest-keepalive,fanout-rate,fanout-max,idle,crowd,emit"
INGEST_EPHEMERAL_EVENTS=10000
INGEST_KEEPALIVE_EVENTS=40000
INGEST_CONC=8
FANOUT_CLIENTS="100 1000"
FANOUT_EVENTS=2000
FANOUT_RATE=100
FANOUT_MAX_POSTERS=4
IDLE_CLIENTS=1000
IDLE_S=5
CROWD_CLIENTS=10000
CROWD_IDLE_S=2
EMIT_RUNS=40
PAYLOAD=512
TIME_LIMIT=90
LOADGEN_THREADS=""   # default: 2, or 1 with --pin (the loadgen then has one core)
PIN=0
SKIP_BUILD=0
OUT=""
QUICK=0
IORELAY_DIR=""      # where the iorelay binaries are; default: build them (release) here

usage() {
  cat <<'EOF'
usage: bench/sidebyside/run.sh [options]
  --peers LIST              built-in peers to run, comma separated, or "all" (default) or "none"
                            (iorelay, iorelay-std, socketioxide, node-socketio, python-socketio)
  --peer NAME=COMMAND       extra peer (repeatable). COMMAND is run by bash from the directory
                            run.sh was called from, with PORT in its environment. It must serve
                            the relay on 127.0.0.1:$PORT. Prefer a plain binary or `exec ...` so
                            the PID measured is the server itself (descendants are summed anyway).
  --scenarios LIST          default: check,ingest-ephemeral,ingest-keepalive,fanout-rate,fanout-max,idle,crowd,emit
                            (crowd: many idle clients, then one broadcast; emit: whole-process
                            time of `iorelay emit` / `iorelay-std emit` against python + requests)
  --quick                   small sizes (smoke test, 1-2 minutes once built)
  --iorelay-dir DIR         take iorelay and iorelay-std (and emit-bench) from DIR instead of
                            building them (cargo build --release, CARGO_TARGET_DIR honoured)
  --pin                     pin server to CPU 0 and loadgen to CPU 1 (default: unpinned, shared);
                            implies --loadgen-threads 1 unless given
  --skip-build              don't run npm/pip/cargo
  --out DIR                 output dir (default results/<UTC timestamp>)
  --port N                  default 8765
  sizes: --ingest-ephemeral-events N (10000) --ingest-keepalive-events N (40000)
         --ingest-concurrency N (8) --fanout-clients "100 1000" --fanout-events N (2000)
         --fanout-rate R (100 ev/s) --fanout-max-posters N (4) --idle-clients N (1000)
         --idle-s S (5) --crowd-clients N (10000) --crowd-idle-s S (2) --emit-runs N (40)
         --payload-bytes N (512) --time-limit-s S (90) --loadgen-threads N (2; 1 with --pin)
  env: SIDEBYSIDE_TARGET_DIR  cargo target dir of the load generator and the socketioxide peer
                              (default bench/sidebyside/target; they are not workspace crates)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --peers) PEERS_SEL="$2"; shift 2 ;;
    --peer)
      spec="$2"; shift 2
      name="${spec%%=*}"; cmd="${spec#*=}"
      if [ -z "$name" ] || [ "$name" = "$spec" ] || [ -z "$cmd" ]; then echo "bad --peer '$spec' (want NAME=COMMAND)" >&2; exit 2; fi
      EXTRA_NAMES+=("$name"); EXTRA_CMDS+=("$cmd") ;;
    --peer=*) set -- --peer "${1#--peer=}" "${@:2}" ;;
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --quick)
      QUICK=1
      INGEST_EPHEMERAL_EVENTS=500; INGEST_KEEPALIVE_EVENTS=1000; FANOUT_CLIENTS="20 100"
      FANOUT_EVENTS=200; FANOUT_RATE=100; IDLE_CLIENTS=100; IDLE_S=1; TIME_LIMIT=30
      CROWD_CLIENTS=10000; CROWD_IDLE_S=1; EMIT_RUNS=5; shift ;;
    --iorelay-dir) IORELAY_DIR="$(cd "$2" && pwd)" || exit 2; shift 2 ;;
    --crowd-clients) CROWD_CLIENTS="$2"; shift 2 ;;
    --crowd-idle-s) CROWD_IDLE_S="$2"; shift 2 ;;
    --emit-runs) EMIT_RUNS="$2"; shift 2 ;;
    --pin) PIN=1; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --port) PORT="$2"; export PORT; shift 2 ;;
    --ingest-ephemeral-events) INGEST_EPHEMERAL_EVENTS="$2"; shift 2 ;;
    --ingest-keepalive-events) INGEST_KEEPALIVE_EVENTS="$2"; shift 2 ;;
    --ingest-concurrency) INGEST_CONC="$2"; shift 2 ;;
    --fanout-clients) FANOUT_CLIENTS="$2"; shift 2 ;;
    --fanout-events) FANOUT_EVENTS="$2"; shift 2 ;;
    --fanout-rate) FANOUT_RATE="$2"; shift 2 ;;
    --fanout-max-posters) FANOUT_MAX_POSTERS="$2"; shift 2 ;;
    --idle-clients) IDLE_CLIENTS="$2"; shift 2 ;;
    --idle-s) IDLE_S="$2"; shift 2 ;;
    --payload-bytes) PAYLOAD="$2"; shift 2 ;;
    --time-limit-s) TIME_LIMIT="$2"; shift 2 ;;
    --loadgen-threads) LOADGEN_THREADS="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

case "$PEERS_SEL" in
  all) PEERS=("${BUILTIN[@]}") ;;
  none) PEERS=() ;;
  *) IFS=',' read -r -a PEERS <<<"$PEERS_SEL" ;;
esac
for p in "${PEERS[@]}"; do
  case "$p" in iorelay|iorelay-std|node-socketio|python-socketio|socketioxide) ;; *) echo "unknown built-in peer $p" >&2; exit 2 ;; esac
done
for n in "${EXTRA_NAMES[@]}"; do PEERS+=("$n"); done
if [ ${#PEERS[@]} -eq 0 ]; then echo "no peers selected" >&2; exit 2; fi

if [ -z "$LOADGEN_THREADS" ]; then
  if [ "$PIN" = 1 ]; then LOADGEN_THREADS=1; else LOADGEN_THREADS=2; fi
fi
[ -z "$OUT" ] && OUT="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT/logs"
OUT="$(cd "$OUT" && pwd)"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
# The load generator and the socketioxide peer are crates of their own (not in iorelay's
# workspace): one target dir for both, apart from the workspace's.
BENCH_TARGET="${SIDEBYSIDE_TARGET_DIR:-$HERE/target}"
LOADGEN="$BENCH_TARGET/release/loadgen"
URL="http://127.0.0.1:$PORT"
has_scenario() { case ",$SCENARIOS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
has_peer() { local p; for p in "${PEERS[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
WANT_IORELAY=0
if has_peer iorelay || has_peer iorelay-std; then WANT_IORELAY=1; fi
if [ -z "$IORELAY_DIR" ]; then
  IORELAY_DIR="$(mkdir -p "${CARGO_TARGET_DIR:-$ROOT/target}" && cd "${CARGO_TARGET_DIR:-$ROOT/target}" && pwd)/release"
  BUILD_IORELAY=1
else
  BUILD_IORELAY=0
fi
EMIT_PYTHON=""

log() { printf '\n=== %s\n' "$*" >&2; }

# ------------------------------------------------------------------ build / setup
build_loadgen() { cargo build --release -q --manifest-path loadgen/Cargo.toml --target-dir "$BENCH_TARGET"; }
build_iorelay() {
  # release builds of both binaries, and emit-bench (the in-repo timer of `emit`, std only)
  (cd "$ROOT" && cargo build --release -q -p iorelay-smol -p iorelay-std -p iorelay-bench \
     --bin iorelay --bin iorelay-std --bin emit-bench)
}
setup_emit_python() {
  # a Python with `requests` (what the hook path `iorelay emit` replaces uses)
  if python3 -c 'import requests' 2>/dev/null; then EMIT_PYTHON="$(command -v python3)"; return 0; fi
  [ -x .venv-emit/bin/python ] || python3 -m venv .venv-emit
  .venv-emit/bin/python -m pip install --quiet --disable-pip-version-check 'requests>=2.31,<3' || return 1
  EMIT_PYTHON="$HERE/.venv-emit/bin/python"
}
setup_peer() {
  case "$1" in
    node-socketio) "$ROOT/scripts/npm-ci.sh" peers/node-socketio ;;
    python-socketio) (cd peers/python-socketio && ./setup.sh) ;;
    socketioxide) cargo build --release -q --manifest-path peers/socketioxide/Cargo.toml --target-dir "$BENCH_TARGET" ;;
    *) return 0 ;;
  esac
}
if [ "$SKIP_BUILD" = 0 ]; then
  log "building loadgen"
  build_loadgen || { echo "loadgen build failed" >&2; exit 1; }
  if [ "$WANT_IORELAY" = 1 ] && [ "$BUILD_IORELAY" = 1 ]; then
    log "building iorelay, iorelay-std and emit-bench (release)"
    build_iorelay || { echo "iorelay build failed" >&2; exit 1; }
  fi
  for p in "${PEERS[@]}"; do
    case "$p" in node-socketio|python-socketio|socketioxide)
      log "setting up $p"
      if ! setup_peer "$p" >"$OUT/logs/setup-$p.log" 2>&1; then
        echo "setup of $p failed, see $OUT/logs/setup-$p.log" >&2
        tail -20 "$OUT/logs/setup-$p.log" >&2
      fi ;;
    esac
  done
fi
if [ "$WANT_IORELAY" = 1 ] && has_scenario emit; then
  setup_emit_python >"$OUT/logs/setup-emit-python.log" 2>&1 || { echo "no python with requests (see $OUT/logs/setup-emit-python.log)" >&2; }
fi
[ -x "$LOADGEN" ] || { echo "missing $LOADGEN (run without --skip-build)" >&2; exit 1; }
for p in iorelay iorelay-std; do
  if has_peer "$p" && [ ! -x "$IORELAY_DIR/$p" ]; then echo "missing $IORELAY_DIR/$p (run without --skip-build, or --iorelay-dir)" >&2; exit 1; fi
done

# ------------------------------------------------------------------ metadata
extra_cmd_of() { local i; for i in "${!EXTRA_NAMES[@]}"; do [ "${EXTRA_NAMES[$i]}" = "$1" ] && { echo "${EXTRA_CMDS[$i]}"; return; }; done; }
ver() { "$@" 2>/dev/null | head -1 || true; }
META_NODE="$(ver node --version)"
META_SIO="$(cd peers/node-socketio 2>/dev/null && ver node -e 'console.log(require("socket.io/package.json").version)')"
META_PY="$(cd peers/python-socketio 2>/dev/null && ver .venv/bin/python -c 'from importlib.metadata import version as v; import sys; print(sys.version.split()[0], "python-socketio", v("python-socketio"), "python-engineio", v("python-engineio"), "aiohttp", v("aiohttp"))')"
META_SX="$(grep -A1 '^name = "socketioxide"$' peers/socketioxide/Cargo.lock 2>/dev/null | sed -n 's/^version = "\(.*\)"/\1/p')"
META_AXUM="$(grep -A1 '^name = "axum"$' peers/socketioxide/Cargo.lock 2>/dev/null | sed -n 's/^version = "\(.*\)"/\1/p')"
META_IORELAY="$(git -C "$ROOT" describe --always --dirty 2>/dev/null) ($IORELAY_DIR)"
META_IORELAY_SIZES="$(for b in iorelay iorelay-std; do [ -f "$IORELAY_DIR/$b" ] && printf '%s %s bytes; ' "$b" "$(stat -c %s "$IORELAY_DIR/$b")"; done)"
META_EMIT_PY="$([ -n "$EMIT_PYTHON" ] && "$EMIT_PYTHON" -c 'import sys, requests; print(sys.version.split()[0], "requests", requests.__version__)' 2>/dev/null)"
META_QUICK="$QUICK"
export META_NODE META_SIO META_PY META_SX META_AXUM META_IORELAY META_IORELAY_SIZES META_EMIT_PY META_QUICK
export META_RUSTC="$(ver rustc --version)" META_KERNEL="$(uname -r)" META_NPROC="$(nproc)"
export META_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
export META_MEM="$(grep MemTotal /proc/meminfo | awk '{print $2" kB"}')"
export META_PIN="$PIN" META_THREADS="$LOADGEN_THREADS" META_PEERS="${PEERS[*]}"
export META_EXTRA="$(for i in "${!EXTRA_NAMES[@]}"; do printf '%s=%s\n' "${EXTRA_NAMES[$i]}" "${EXTRA_CMDS[$i]}"; done)"
export META_SIZES="ingest_ephemeral_events=$INGEST_EPHEMERAL_EVENTS ingest_keepalive_events=$INGEST_KEEPALIVE_EVENTS ingest_concurrency=$INGEST_CONC fanout_clients=[$FANOUT_CLIENTS] fanout_events=$FANOUT_EVENTS fanout_rate=$FANOUT_RATE fanout_max_posters=$FANOUT_MAX_POSTERS idle_clients=$IDLE_CLIENTS idle_s=$IDLE_S crowd_clients=$CROWD_CLIENTS crowd_idle_s=$CROWD_IDLE_S emit_runs=$EMIT_RUNS payload_bytes=$PAYLOAD time_limit_s=$TIME_LIMIT"
export META_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
python3 - "$OUT/meta.json" <<'EOF'
import json, os, sys
keys = ["DATE","NPROC","CPU","MEM","KERNEL","RUSTC","NODE","SIO","PY","SX","AXUM","IORELAY","IORELAY_SIZES","EMIT_PY","QUICK","PIN","THREADS","PEERS","EXTRA","SIZES"]
json.dump({k.lower(): os.environ.get("META_" + k, "") for k in keys}, open(sys.argv[1], "w"), indent=1)
EOF

# ------------------------------------------------------------------ server lifecycle
SERVER_PID=""
SRV_TASKSET=()
LG_TASKSET=()
if [ "$PIN" = 1 ]; then SRV_TASKSET=(taskset -c 0); LG_TASKSET=(taskset -c 1); fi

STATE_DIR=""
start_server() { # peer logfile
  local peer="$1" logf="$2" cmd dir
  case "$peer" in
    iorelay|iorelay-std)
      # A fresh history store and state dir per start. max_connections is raised from its
      # default 10 000 (a protection against exhausting descriptors) so that the crowd
      # scenario's POST is admitted next to its 10 000 websockets; the other peers have no cap.
      STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/iorelay-bench.XXXXXX")"
      dir="$HERE"
      cmd="exec '$IORELAY_DIR/$peer' --port \"\$PORT\" --data-dir '$STATE_DIR/data' --state-dir '$STATE_DIR/state' --log warn --max-connections 20000" ;;
    node-socketio) dir="$HERE/peers/node-socketio"; cmd="exec node server.js" ;;
    python-socketio) dir="$HERE/peers/python-socketio"; cmd="exec .venv/bin/python server.py" ;;
    socketioxide) dir="$HERE/peers/socketioxide"; cmd="exec '$BENCH_TARGET/release/relay-socketioxide'" ;;
    *) dir="$CALLER_DIR"; cmd="$(extra_cmd_of "$peer")" ;;
  esac
  # set -m: the background job gets its own process group (pgid == its pid), so the
  # server and anything it spawned can be stopped by that id, and nothing else.
  set -m
  (cd "$dir" && export PORT && exec "${SRV_TASKSET[@]}" bash -c "$cmd") >"$logf" 2>&1 </dev/null &
  SERVER_PID=$!
  set +m
}

stop_server() {
  local pid="$SERVER_PID" i
  [ -z "$pid" ] && return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  SERVER_PID=""
  if [ -n "$STATE_DIR" ]; then rm -rf "$STATE_DIR"; STATE_DIR=""; fi
}
trap 'stop_server; exit 130' INT TERM

record_failure() { # peer scenario reason
  python3 -c 'import json,sys; print(json.dumps({"peer":sys.argv[1],"scenario":sys.argv[2],"error":sys.argv[3]}))' "$1" "$2" "$3" >>"$RESULTS"
  echo "!!! $1 / $2: $3" >&2
}

# run one loadgen invocation against a fresh server
run_case() { # peer scenario-name loadgen-args...
  local peer="$1" scen="$2"; shift 2
  local tag="${peer}.${scen}"
  if ! "$LOADGEN" wait-free --url "$URL" --timeout-s 15; then
    record_failure "$peer" "$scen" "port $PORT still busy before start"; return
  fi
  start_server "$peer" "$OUT/logs/$tag.server.log"
  if ! "$LOADGEN" wait --url "$URL" --pid "$SERVER_PID" --timeout-s 60 2>>"$OUT/logs/$tag.loadgen.log"; then
    record_failure "$peer" "$scen" "server did not become ready (see logs/$tag.server.log)"
    stop_server; return
  fi
  local line rc
  line="$("${LG_TASKSET[@]}" "$LOADGEN" "$@" --url "$URL" --pid "$SERVER_PID" --peer "$peer" --label "$scen" \
          --threads "$LOADGEN_THREADS" --payload-bytes "$PAYLOAD" --time-limit-s "$TIME_LIMIT" \
          2> >(tee -a "$OUT/logs/$tag.loadgen.log" >&2))"
  rc=$?
  if [ -n "$line" ] && [ "${line:0:1}" = "{" ]; then
    echo "$line" >>"$RESULTS"
  else
    record_failure "$peer" "$scen" "loadgen exited rc=$rc without a result (see logs/$tag.loadgen.log)"
  fi
  stop_server
}

# `emit` needs no server: emit-bench runs its own fake relay and times whole processes of the
# binary's hook client against a fresh python3 + requests.post, interleaved.
run_emit() { # peer
  local peer="$1" tag="$1.emit" line
  case "$peer" in iorelay|iorelay-std) ;; *) return 0 ;; esac
  if [ -z "$EMIT_PYTHON" ]; then record_failure "$peer" emit "no python3 with requests"; return; fi
  if [ ! -x "$IORELAY_DIR/emit-bench" ]; then record_failure "$peer" emit "missing $IORELAY_DIR/emit-bench"; return; fi
  line="$(timeout "$(( TIME_LIMIT + 60 ))" "$IORELAY_DIR/emit-bench" --iorelay "$IORELAY_DIR/$peer" --python "$EMIT_PYTHON" \
          --runs "$EMIT_RUNS" 2>"$OUT/logs/$tag.log" | tee -a "$OUT/logs/$tag.log" | tail -n 1)"
  if [ "${line:0:1}" = "{" ]; then
    python3 -c 'import json,sys; r=json.loads(sys.argv[3]); r.update(peer=sys.argv[1], scenario="emit", label="emit"); print(json.dumps(r))' \
      "$peer" emit "$line" >>"$RESULTS"
    sed -n '1,4p' "$OUT/logs/$tag.log" >&2
  else
    record_failure "$peer" emit "emit-bench gave no result (see logs/$tag.log)"
  fi
}

# ------------------------------------------------------------------ run
T0=$(date +%s)
IFS=',' read -r -a SCEN_LIST <<<"$SCENARIOS"
for peer in "${PEERS[@]}"; do
  log "peer $peer"
  for s in "${SCEN_LIST[@]}"; do
    case "$s" in
      check) run_case "$peer" check check ;;
      ingest-ephemeral) run_case "$peer" "$s" ingest --mode ephemeral --events "$INGEST_EPHEMERAL_EVENTS" --concurrency "$INGEST_CONC" ;;
      ingest-keepalive) run_case "$peer" "$s" ingest --mode keepalive --events "$INGEST_KEEPALIVE_EVENTS" --concurrency "$INGEST_CONC" ;;
      fanout-rate) for n in $FANOUT_CLIENTS; do run_case "$peer" "fanout-rate-n$n" fanout --clients "$n" --events "$FANOUT_EVENTS" --rate "$FANOUT_RATE"; done ;;
      fanout-max) for n in $FANOUT_CLIENTS; do run_case "$peer" "fanout-max-n$n" fanout --clients "$n" --events "$FANOUT_EVENTS" --rate 0 --posters "$FANOUT_MAX_POSTERS"; done ;;
      idle) run_case "$peer" idle-memory idle --clients "$IDLE_CLIENTS" --idle-s "$IDLE_S" ;;
      crowd) run_case "$peer" "crowd-$CROWD_CLIENTS" crowd --clients "$CROWD_CLIENTS" --idle-s "$CROWD_IDLE_S" ;;
      emit) run_emit "$peer" ;;
      *) echo "unknown scenario $s" >&2 ;;
    esac
  done
done
log "done in $(( $(date +%s) - T0 ))s"

python3 report.py "$OUT" >"$OUT/results.md"
cat "$OUT/results.md"
echo
echo "results: $OUT/results.jsonl  $OUT/results.md  (logs in $OUT/logs)" >&2
