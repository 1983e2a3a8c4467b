#!/usr/bin/env bash
# Two-node cluster fan-out: what the Redis Streams hop of cluster mode (docs/cluster.md) costs.
#
#   bench/sidebyside/cluster.sh            # full sizes: 1000 clients, 2000 events (~2.5 min once built)
#   bench/sidebyside/cluster.sh --quick    # 100 clients, 200 events (smoke test, ~30 s)
#   bench/sidebyside/cluster.sh --help
#
# Six cases, each on freshly started processes, in this order:
#   single-max          one iorelay (smol) without Redis; N clients; E events as fast as P posters go
#   cluster-max         redis-server + two iorelay nodes with --redis-url on it; N/2 clients on
#                       each node; event i POSTed to node (i mod 2); the same E events at max rate
#   single-rate         as single-max, E events at R ev/s
#   cluster-rate        as cluster-max, E events at R ev/s
#   single-rate-light   as single-rate with L clients (100): a light load, so that the latency
#   cluster-rate-light  shows the Redis hop itself rather than queueing on a busy machine
# The load generator checks that every client got every accepted event exactly once (lost,
# duplicates) and measures delivery latency from just before the POST to receipt. Server CPU is
# summed over the relay(s) and, in the cluster, redis-server, and also given per process.
#
# Writes <out>/cluster.md (the table), cluster.jsonl (one loadgen JSON line per case),
# meta.json and logs/ (each process's output, each node's /health after its case).
# Default <out>: bench/sidebyside/results/<UTC>/. Loopback only; every wait is bounded; every
# process started here is stopped by its pid (process group) when its case ends or on exit.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# 1000 websockets in the load generator plus as many in the servers (children of this shell).
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 16384 ]; then
  ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

# ------------------------------------------------------------------ options
CLIENTS=1000
LIGHT_CLIENTS=100
EVENTS=2000
RATE=100
MAX_POSTERS=4
PAYLOAD=512
TIME_LIMIT=90
LOADGEN_THREADS=2
QUICK=0
SKIP_BUILD=0
OUT=""
IORELAY_DIR=""   # where the iorelay binary is; default: build it (release) here

usage() {
  cat <<'EOF'
usage: bench/sidebyside/cluster.sh [options]
  --quick              small sizes (100 and 20 clients, 200 events, 30 s limit): a smoke test
  --clients N          websocket clients, split evenly over the two nodes (1000)
  --light-clients L    clients of the light fixed-rate cases (100; 0 skips them)
  --events E           events per case (2000)
  --rate R             events/s of the fixed-rate cases (100)
  --max-posters P      keep-alive posters of the max-rate cases (4)
  --payload-bytes B    event body size (512)
  --time-limit-s S     per case (90)
  --loadgen-threads T  tokio worker threads of the load generator (2)
  --iorelay-dir DIR    take the iorelay binary from DIR instead of building it
                       (cargo build --release -p iorelay-smol, CARGO_TARGET_DIR honoured)
  --skip-build         don't run cargo
  --out DIR            output dir (default results/<UTC timestamp>)
  env: SIDEBYSIDE_TARGET_DIR  cargo target dir of the load generator (default bench/sidebyside/target)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; CLIENTS=100; LIGHT_CLIENTS=20; EVENTS=200; TIME_LIMIT=30; shift ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --light-clients) LIGHT_CLIENTS="$2"; shift 2 ;;
    --events) EVENTS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --max-posters) MAX_POSTERS="$2"; shift 2 ;;
    --payload-bytes) PAYLOAD="$2"; shift 2 ;;
    --time-limit-s) TIME_LIMIT="$2"; shift 2 ;;
    --loadgen-threads) LOADGEN_THREADS="$2"; shift 2 ;;
    --iorelay-dir) IORELAY_DIR="$(cd "$2" && pwd)" || exit 2; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$CLIENTS" "$LIGHT_CLIENTS" "$EVENTS" "$RATE" "$MAX_POSTERS" "$PAYLOAD" "$TIME_LIMIT" "$LOADGEN_THREADS"; do
  case "$v" in ''|*[!0-9]*) echo "sizes must be whole numbers (got '$v')" >&2; exit 2 ;; esac
done
if [ "$CLIENTS" -lt 2 ] || [ "$LIGHT_CLIENTS" = 1 ] || [ "$EVENTS" -lt 1 ] || [ "$RATE" -lt 1 ]; then
  echo "need --clients >= 2, --light-clients 0 or >= 2, --events >= 1, --rate >= 1" >&2; exit 2
fi

# relative --out and --iorelay-dir are taken from the caller's directory, before this cd
[ -z "$OUT" ] && OUT="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT/logs"
OUT="$(cd "$OUT" && pwd)"
cd "$HERE" || exit 1
RESULTS="$OUT/cluster.jsonl"
: >"$RESULTS"
BENCH_TARGET="${SIDEBYSIDE_TARGET_DIR:-$HERE/target}"
LOADGEN="$BENCH_TARGET/release/loadgen"
if [ -z "$IORELAY_DIR" ]; then
  IORELAY_DIR="$(mkdir -p "${CARGO_TARGET_DIR:-$ROOT/target}" && cd "${CARGO_TARGET_DIR:-$ROOT/target}" && pwd)/release"
  BUILD_IORELAY=1
else
  BUILD_IORELAY=0
fi
IORELAY="$IORELAY_DIR/iorelay"

log() { printf '\n=== %s\n' "$*" >&2; }

# ------------------------------------------------------------------ dependencies
# Debian's redis-server, installed the way tests/cluster/run.sh does when it is missing.
install_redis() { "$ROOT/scripts/apt-install.sh" "redis-server redis-cli" redis-server; }
install_redis || { echo "redis-server is missing and could not be installed (apt-get needs root or sudo)" >&2; exit 1; }

if [ "$SKIP_BUILD" = 0 ]; then
  log "building loadgen"
  cargo build --release -q --manifest-path loadgen/Cargo.toml --target-dir "$BENCH_TARGET" \
    || { echo "loadgen build failed" >&2; exit 1; }
  if [ "$BUILD_IORELAY" = 1 ]; then
    log "building iorelay (release)"
    (cd "$ROOT" && cargo build --release -q -p iorelay-smol --bin iorelay) || { echo "iorelay build failed" >&2; exit 1; }
  fi
fi
[ -x "$LOADGEN" ] || { echo "missing $LOADGEN (run without --skip-build)" >&2; exit 1; }
[ -x "$IORELAY" ] || { echo "missing $IORELAY (run without --skip-build, or --iorelay-dir)" >&2; exit 1; }

# ------------------------------------------------------------------ processes
# Every process is started in its own process group (set -m), remembered with its name, and
# stopped by that group id only: TERM, up to 5 s, then KILL.
PROC_PIDS=()
PROC_NAMES=()
TMP_DIRS=()

start_proc() { # name logfile command...
  local name="$1" logf="$2"; shift 2
  set -m
  "$@" >"$logf" 2>&1 </dev/null &
  local pid=$!
  set +m
  PROC_PIDS+=("$pid")
  PROC_NAMES+=("$name")
  LAST_PID="$pid"
}

stop_all() {
  local pid i
  for pid in "${PROC_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PROC_PIDS[@]}"; do
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  PROC_PIDS=()
  PROC_NAMES=()
  for i in "${TMP_DIRS[@]}"; do rm -rf "$i"; done
  TMP_DIRS=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# A free loopback port: bound by the kernel's choice, read, released. Another process could
# take it before we use it; the readiness checks below then fail the case instead of measuring
# the wrong server.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_redis() { # case -> REDIS_PORT, REDIS_PID
  local tag="$1" dir i
  REDIS_PORT="$(free_port)"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/iorelay-clusterbench-redis.XXXXXX")"
  TMP_DIRS+=("$dir")
  # no persistence (no RDB snapshots, no AOF): the stream lives in memory only
  start_proc redis "$OUT/logs/$tag.redis.log" \
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --protected-mode yes
  REDIS_PID="$LAST_PID"
  for i in $(seq 1 150); do
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "redis-server did not answer PING on port $REDIS_PORT (see logs/$tag.redis.log)" >&2
  return 1
}

start_node() { # name logfile [redis-url] -> NODE_PORT, NODE_PID
  local name="$1" logf="$2" redis_url="${3:-}" dir
  NODE_PORT="$(free_port)"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/iorelay-clusterbench.XXXXXX")"
  TMP_DIRS+=("$dir")
  # The flags of run.sh's iorelay peer (fresh data and state dirs, --max-connections 20000),
  # plus --redis-url for a cluster node; everything else default (stream `socket.io`).
  local args=(serve --port "$NODE_PORT" --data-dir "$dir/data" --state-dir "$dir/state" --log warn --max-connections 20000)
  [ -n "$redis_url" ] && args+=(--redis-url "$redis_url")
  start_proc "$name" "$logf" "$IORELAY" "${args[@]}"
  NODE_PID="$LAST_PID"
}

# /health's cluster.state of a node ("up", "connecting", "down"; "none" without cluster mode)
cluster_state() { # port
  curl -s --max-time 2 "http://127.0.0.1:$1/health" 2>/dev/null \
    | python3 -c 'import json, sys
try: print((json.load(sys.stdin).get("cluster") or {}).get("state", "none"))
except Exception: print("no-answer")'
}

wait_cluster_up() { # port...
  local p i
  for p in "$@"; do
    for i in $(seq 1 150); do
      [ "$(cluster_state "$p")" = up ] && continue 2
      sleep 0.1
    done
    echo "node on port $p: cluster link not up after 15 s (state $(cluster_state "$p"))" >&2
    return 1
  done
}

record_failure() { # case reason
  python3 -c 'import json,sys; print(json.dumps({"scenario":sys.argv[1],"error":sys.argv[2]}))' "$1" "$2" >>"$RESULTS"
  echo "!!! $1: $2" >&2
}

# ------------------------------------------------------------------ one case
run_case() { # single|cluster  max|rate|rate-light
  local kind="$1" mode="$2" tag="$1-$2" urls pids names line rc port_a="" clients="$CLIENTS"
  local rate_args=(--rate 0 --posters "$MAX_POSTERS")
  [ "$mode" != max ] && rate_args=(--rate "$RATE")
  [ "$mode" = rate-light ] && clients="$LIGHT_CLIENTS"
  log "$tag: $clients clients, $EVENTS events, ${rate_args[*]}"
  if [ "$kind" = single ]; then
    start_node node "$OUT/logs/$tag.node.log"
    urls="http://127.0.0.1:$NODE_PORT"; pids="$NODE_PID"; names="node"
  else
    if ! start_redis "$tag"; then record_failure "$tag" "redis-server did not start"; stop_all; return; fi
    start_node node-a "$OUT/logs/$tag.node-a.log" "redis://127.0.0.1:$REDIS_PORT"
    local pid_a="$NODE_PID"
    port_a="$NODE_PORT"
    start_node node-b "$OUT/logs/$tag.node-b.log" "redis://127.0.0.1:$REDIS_PORT"
    urls="http://127.0.0.1:$port_a,http://127.0.0.1:$NODE_PORT"
    pids="$pid_a,$NODE_PID,$REDIS_PID"; names="node-a,node-b,redis"
  fi
  if ! "$LOADGEN" wait --url "$urls" --pid "$pids" --timeout-s 60 2>>"$OUT/logs/$tag.loadgen.log"; then
    record_failure "$tag" "a server did not become ready (see logs/$tag.*.log)"; stop_all; return
  fi
  # /health answers before the node's link to Redis is up; a case starts with both links up
  if [ "$kind" = cluster ] && ! wait_cluster_up "$port_a" "$NODE_PORT" 2>>"$OUT/logs/$tag.loadgen.log"; then
    record_failure "$tag" "cluster link not up (see logs/$tag.*.log)"; stop_all; return
  fi
  line="$("$LOADGEN" fanout --url "$urls" --pid "$pids" --pid-names "$names" --peer "iorelay-$kind" --label "$tag" \
          --clients "$clients" --events "$EVENTS" "${rate_args[@]}" \
          --threads "$LOADGEN_THREADS" --payload-bytes "$PAYLOAD" --time-limit-s "$TIME_LIMIT" \
          2> >(tee -a "$OUT/logs/$tag.loadgen.log" >&2))"
  rc=$?
  # what the nodes and Redis say after the case: /health (cluster counters) and the stream length
  local u i=0 url_list
  IFS=',' read -r -a url_list <<<"$urls"
  for u in "${url_list[@]}"; do
    curl -s --max-time 5 "$u/health" >"$OUT/logs/$tag.health-$i.json" 2>/dev/null
    i=$((i + 1))
  done
  local xlen=""
  [ "$kind" = cluster ] && xlen="$(redis-cli -p "$REDIS_PORT" xlen socket.io 2>/dev/null)"
  if [ -n "$line" ] && [ "${line:0:1}" = "{" ]; then
    python3 - "$line" "$OUT/logs" "$tag" "${#url_list[@]}" "$xlen" >>"$RESULTS" <<'EOF'
import json, os, sys
r = json.loads(sys.argv[1])
logs, tag, n, xlen = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
# per node: /health's event counters (drops, slow-consumer closes), store and cluster link
nodes = []
for i in range(n):
    try:
        h = json.load(open(os.path.join(logs, f"{tag}.health-{i}.json")))
        nodes.append({k: h.get(k) for k in ("events", "store", "cluster")})
    except Exception as e:
        nodes.append({"error": f"/health after the case: {e}"})
r["nodes_after"] = nodes
r["stream_length"] = int(xlen) if xlen.isdigit() else None
print(json.dumps(r))
EOF
  else
    record_failure "$tag" "loadgen exited rc=$rc without a result (see logs/$tag.loadgen.log)"
  fi
  stop_all
}

# ------------------------------------------------------------------ metadata and run
export META_DATE META_IORELAY META_REDIS META_SIZES META_LOAD META_NPROC META_CPU META_KERNEL
META_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
META_IORELAY="$(git -C "$ROOT" describe --always --dirty 2>/dev/null) ($IORELAY)"
META_REDIS="$(redis-server --version | head -1)"
META_SIZES="clients=$CLIENTS light_clients=$LIGHT_CLIENTS events=$EVENTS rate=$RATE max_posters=$MAX_POSTERS payload_bytes=$PAYLOAD time_limit_s=$TIME_LIMIT loadgen_threads=$LOADGEN_THREADS quick=$QUICK"
META_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
META_NPROC="$(nproc)"
META_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
META_KERNEL="$(uname -r)"
python3 - "$OUT/meta.json" <<'EOF'
import json, os, sys
keys = ["DATE", "IORELAY", "REDIS", "SIZES", "LOAD", "NPROC", "CPU", "KERNEL"]
json.dump({k.lower(): os.environ.get("META_" + k, "") for k in keys}, open(sys.argv[1], "w"), indent=1)
EOF

T0=$(date +%s)
run_case single max
run_case cluster max
run_case single rate
run_case cluster rate
if [ "$LIGHT_CLIENTS" -gt 0 ]; then
  run_case single rate-light
  run_case cluster rate-light
fi
log "done in $(( $(date +%s) - T0 ))s"

python3 cluster_report.py "$OUT" >"$OUT/cluster.md"
cat "$OUT/cluster.md"
echo
echo "results: $OUT/cluster.md  $OUT/cluster.jsonl  (logs in $OUT/logs)" >&2
