#!/usr/bin/env python3
"""Turn <out>/cluster.jsonl (+ meta.json, logs/) of bench/sidebyside/cluster.sh into a markdown
table on stdout: one iorelay node without Redis against two nodes on one Redis stream.

usage: python3 cluster_report.py results/<run>      (stdlib only)
"""
import glob
import json
import os
import sys

from report import fms, fnum, g  # the side-by-side report's cell formats


def lat(r, key="delivery.latency", with_max=True):
    p = [g(r, f"{key}.p50_ms"), g(r, f"{key}.p99_ms")] + ([g(r, f"{key}.max_ms")] if with_max else [])
    return " / ".join(fms(x) for x in p) if p[0] is not None else "–"


def cpu_split(r):
    """Server CPU seconds of the measured phase: the total, and per process in a cluster."""
    total = g(r, "cpu.server_cpu_s")
    split = g(r, "cpu.server_cpu_s_by_process")
    if total is None:
        return "–"
    if not split:
        return f"{total:.2f}"
    return " + ".join(f"{v:.2f}" for v in split.values()) + f" = {total:.2f}"


def per_msg(r):
    s, d = g(r, "cpu.server_cpu_s"), g(r, "delivery.delivered")
    return 1e6 * s / d if s is not None and d else None


def per_msg_us(r):
    x = per_msg(r)
    return f"{x:.1f}" if x is not None else "–"


def loss(r):
    return f"{fnum(g(r, 'delivery.lost'))} / {fnum(g(r, 'delivery.dups'))} / {fnum(g(r, 'delivery.closed_early'))}"


def pct_change(a, b):
    if a is None or b is None or a == 0:
        return "–"
    return f"{100.0 * (b - a) / a:+.0f} %"


def main(out):
    rows = {}
    errors = []
    with open(os.path.join(out, "cluster.jsonl")) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if "error" in r:
                errors.append(r)
            else:
                rows[r.get("label")] = r
    meta = {}
    if os.path.exists(os.path.join(out, "meta.json")):
        with open(os.path.join(out, "meta.json")) as f:
            meta = json.load(f)

    sm, cm = rows.get("single-max", {}), rows.get("cluster-max", {})
    sr, cr = rows.get("single-rate", {}), rows.get("cluster-rate", {})
    sl, cl = rows.get("single-rate-light", {}), rows.get("cluster-rate-light", {})
    any_row = sm or cm or next(iter(rows.values()), {})
    clients = g(any_row, "params.clients")
    events = g(any_row, "params.events")
    rate = g(sr, "params.rate") or g(cr, "params.rate")
    rate_s = f"{rate:g} ev/s" if rate else "fixed rate"

    print("## Two-node cluster fan-out (Redis Streams)\n")
    print(f"- run: {meta.get('date', '?')}, iorelay {meta.get('iorelay', '?')}")
    print(f"- {meta.get('redis', 'redis-server ?')}, no persistence, on loopback")
    print(f"- sizes: {meta.get('sizes', '?')}")
    print(f"- machine: {meta.get('nproc', '?')} cores ({meta.get('cpu', '?')}), Linux {meta.get('kernel', '?')}, "
          f"load average before the run {meta.get('load', '?')}")
    print(f"- single: one node, no Redis. cluster: two nodes on one redis-server, the clients split evenly, "
          f"event i POSTed to node i mod 2. {fnum(clients)} clients ({fnum(g(sl or cl, 'params.clients'))} in the "
          f"light cases), {fnum(events)} events per case; every process fresh per case. Server CPU in the "
          "cluster is node A + node B + redis-server.\n")

    t = [("metric", "single node", "two-node cluster", "cluster vs single")]
    t.append(("**max rate**: delivered msgs/s", fnum(g(sm, "delivery.msgs_per_s")), fnum(g(cm, "delivery.msgs_per_s")),
              pct_change(g(sm, "delivery.msgs_per_s"), g(cm, "delivery.msgs_per_s"))))
    t.append(("max rate: delivered / expected", f"{fnum(g(sm, 'delivery.delivered'))} / {fnum(g(sm, 'delivery.expected'))}",
              f"{fnum(g(cm, 'delivery.delivered'))} / {fnum(g(cm, 'delivery.expected'))}", ""))
    t.append(("max rate: lost / dups / closed early", loss(sm), loss(cm), ""))
    t.append(("max rate: events posted/s (POST p50 / p99 / max ms)",
              f"{fnum(g(sm, 'post.rate_achieved'))} ({lat(sm, 'post.latency')})",
              f"{fnum(g(cm, 'post.rate_achieved'))} ({lat(cm, 'post.latency')})", ""))
    t.append(("max rate: delivery p50 / p99 / max ms", lat(sm), lat(cm), ""))
    t.append(("max rate: server CPU s (node A + node B + redis)", cpu_split(sm), cpu_split(cm), ""))
    t.append(("max rate: server CPU µs per delivered msg", per_msg_us(sm), per_msg_us(cm),
              pct_change(per_msg(sm), per_msg(cm))))
    t.append(("max rate: loadgen CPU s, wall s", f"{fnum(g(sm, 'cpu.loadgen_cpu_s'), 2)}, {fnum(g(sm, 'cpu.wall_s'), 2)}",
              f"{fnum(g(cm, 'cpu.loadgen_cpu_s'), 2)}, {fnum(g(cm, 'cpu.wall_s'), 2)}", ""))
    for srow, crow in ((sr, cr), (sl, cl)):
        if not srow and not crow:
            continue
        n = g(srow, "params.clients") or g(crow, "params.clients")
        name = f"{rate_s}, {fnum(n)} clients"
        t.append((f"**{name}**: delivered msgs/s", fnum(g(srow, "delivery.msgs_per_s")),
                  fnum(g(crow, "delivery.msgs_per_s")), ""))
        t.append((f"{name}: delivery p50 / p99 / max ms", lat(srow), lat(crow),
                  f"p50 {pct_change(g(srow, 'delivery.latency.p50_ms'), g(crow, 'delivery.latency.p50_ms'))}, "
                  f"p99 {pct_change(g(srow, 'delivery.latency.p99_ms'), g(crow, 'delivery.latency.p99_ms'))}"))
        t.append((f"{name}: p50 / p99 ms of events posted to the client's own node; to the other node", "–",
                  f"{lat(crow, 'delivery.latency_own_server', False)}; "
                  f"{lat(crow, 'delivery.latency_other_server', False)}", ""))
        t.append((f"{name}: lost / dups / closed early", loss(srow), loss(crow), ""))
        t.append((f"{name}: server CPU s (node A + node B + redis)", cpu_split(srow), cpu_split(crow), ""))
        t.append((f"{name}: server CPU µs per delivered msg", per_msg_us(srow), per_msg_us(crow),
                  pct_change(per_msg(srow), per_msg(crow))))
    for name, r in (("max rate", cm), (rate_s, cr), (f"{rate_s} light", cl)):
        h = [x.get("cluster") for x in r.get("nodes_after") or []]
        if h:
            t.append((f"{name}: stream entries (XLEN); entries written / read per node A, B", "–",
                      f"{fnum(r.get('stream_length'))}; "
                      + ", ".join(f"{fnum(g(x, 'entries_written'))} / {fnum(g(x, 'entries_read'))}" for x in h), ""))
    print("| " + " | ".join(t[0]) + " |")
    print("|---|---:|---:|---|")
    for row in t[1:]:
        print("| " + " | ".join(row) + " |")

    # ---------------------------------------------------------------- problems
    probs = []
    for e in errors:
        probs.append(f"{e.get('scenario')}: {e.get('error')}")
    for label, r in sorted(rows.items()):
        d = r.get("delivery", {})
        for k in ("lost", "dups", "closed_early", "out_of_range"):
            if d.get(k):
                probs.append(f"{label}: {k} = {d[k]}")
        if d.get("drain_end") != "complete":
            probs.append(f"{label}: delivery ended by {d.get('drain_end')}")
        if g(r, "connect.failed"):
            probs.append(f"{label}: {g(r, 'connect.failed')} clients failed to connect {g(r, 'connect.errors')}")
        if g(r, "post.status_errors") or g(r, "post.io_errors"):
            probs.append(f"{label}: POST errors {g(r, 'post.status_errors')} {g(r, 'post.io_errors')}")
        if r.get("server_alive_after") is False:
            probs.append(f"{label}: a server process was gone at the end")
        cluster = label.startswith("cluster")
        for i, n in enumerate(r.get("nodes_after") or []):
            node = ("node " + "AB"[i]) if cluster and i < 2 else "node"
            if "error" in n:
                probs.append(f"{label}: {node} {n['error']}")
                continue
            for k in ("events_dropped", "deliveries_dropped", "requests_rejected", "slow_client_disconnects"):
                if g(n, f"events.{k}"):
                    probs.append(f"{label}: {node} {k} = {g(n, f'events.{k}')}")
            if g(n, "store.status") not in (None, "ok"):
                probs.append(f"{label}: {node} store status {g(n, 'store.status')}")
            h = n.get("cluster")
            if not cluster:
                continue
            if not isinstance(h, dict):
                probs.append(f"{label}: {node} has no cluster object in /health")
                continue
            if h.get("state") != "up":
                probs.append(f"{label}: {node} cluster state {h.get('state')}")
            for k in ("entries_skipped", "buffer_dropped", "disconnects", "buffered", "awaiting"):
                if h.get(k):
                    probs.append(f"{label}: {node} {k} = {h[k]}")
            if h.get("last_error"):
                probs.append(f"{label}: {node} last_error {h['last_error']!r}")
        posted = g(r, "post.ok")
        if r.get("stream_length") is not None and posted is not None and r["stream_length"] != posted:
            probs.append(f"{label}: stream holds {r['stream_length']} entries for {posted} accepted events")
    # anything a node wrote at --log warn besides its listening line
    for path in sorted(glob.glob(os.path.join(out, "logs", "*.node*.log"))):
        lines = [x.rstrip() for x in open(path, errors="replace")
                 if x.strip() and not x.startswith("iorelay listening on ")]
        if lines:
            probs.append(f"{os.path.basename(path)}: {len(lines)} line(s), first: {lines[0][:200]}")
    # redis-server's warnings (level `#`), less its start/stop banner and the overcommit
    # warning, which is about background saves (there are none: --save '' --appendonly no)
    benign = ("Redis is starting", "Redis version=", "Configuration loaded", "Server initialized",
              "WARNING Memory overcommit", "User requested shutdown", "ready to exit")
    for path in sorted(glob.glob(os.path.join(out, "logs", "*.redis.log"))):
        warn = [x.rstrip() for x in open(path, errors="replace")
                if " # " in x and not any(b in x for b in benign)]
        if warn:
            probs.append(f"{os.path.basename(path)}: {len(warn)} warning(s), first: {warn[0][:200]}")
    print("\n### Problems seen\n")
    if probs:
        for p in probs:
            print(f"- {p}")
    else:
        print("None: every client got every event once, no POST failed, both links stayed up, the nodes logged nothing.")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
