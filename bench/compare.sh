#!/bin/sh
# Runs `fanout` against pairs of server binaries, interleaved so drift in machine load hits
# both alike, and appends one JSON line per run (with a "label" and the 1-minute load average)
# to OUT. Usage: bench/compare.sh FANOUT OUT REPS LABEL=BINARY... [-- FANOUT-ARGS...]
set -eu
fanout=$1 out=$2 reps=$3
shift 3
servers=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do servers="$servers $1"; shift; done
[ $# -gt 0 ] && shift
rep=1
while [ "$rep" -le "$reps" ]; do
    for pair in $servers; do
        label=${pair%%=*} binary=${pair#*=}
        load=$(cut -d' ' -f1 /proc/loadavg)
        line=$("$fanout" --server "$binary" --label "$label" "$@" | tail -n 1)
        echo "{\"rep\":$rep,\"load1\":$load,${line#\{}" >> "$out"
        echo "$label rep $rep: $line" >&2
    done
    rep=$((rep + 1))
done
