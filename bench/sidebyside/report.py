#!/usr/bin/env python3
"""Turn <results dir>/results.jsonl (+ meta.json) into a markdown report on stdout.

usage: python3 report.py results/<run>      (stdlib only)
"""
import json
import os
import sys


def load(out):
    rows = []
    with open(os.path.join(out, "results.jsonl")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    meta = {}
    mp = os.path.join(out, "meta.json")
    if os.path.exists(mp):
        with open(mp) as f:
            meta = json.load(f)
    return rows, meta


def g(d, path, default=None):
    cur = d
    for k in path.split("."):
        if not isinstance(cur, dict) or k not in cur:
            return default
        cur = cur[k]
    return cur


def fnum(x, nd=0):
    if x is None:
        return "–"
    if isinstance(x, (int, float)):
        if nd == 0:
            return f"{x:,.0f}"
        return f"{x:,.{nd}f}"
    return str(x)


def fms(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cpu(r):
    s = g(r, "cpu.server_cpu_s")
    lg = g(r, "cpu.loadgen_cpu_s")
    w = g(r, "cpu.wall_s")
    if s is None and lg is None:
        return "–", "–", "–"
    sp = g(r, "cpu.server_cpu_pct")
    lp = g(r, "cpu.loadgen_cpu_pct")
    return (f"{s:.2f} ({sp:.0f}%)" if s is not None else "–",
            f"{lg:.2f} ({lp:.0f}%)" if lg is not None else "–",
            f"{w:.2f}" if w is not None else "–")


def lost_cell(r):
    """lost = expected - delivered; split into never-posted vs acked (204) but undelivered."""
    lost = g(r, "delivery.lost")
    s = fnum(lost)
    if lost:
        un = g(r, "delivery.undelivered_acked")
        np_ = g(r, "delivery.not_posted_events")
        bits = []
        if np_:
            n = g(r, "connect.connected", 0) or 0
            bits.append(f"{fnum(np_ * n)} = {fnum(np_)} events × {fnum(n)} clients never posted")
        if un is not None:
            bits.append(f"{fnum(un)} msgs acked-but-undelivered")
        if g(r, "delivery.drain_end") != "complete":
            bits.append(g(r, "delivery.drain_end"))
        s += " (" + ", ".join(bits) + ")"
    return s


def mib(kb):
    """KiB -> MiB text; 0 (no process to read) -> a dash."""
    return f"{kb / 1024:.1f}" if kb else "–"


def table(headers, body):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in body:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(out)


def errs(r):
    parts = []
    for k in ("status_errors", "io_errors", "post.status_errors", "post.io_errors"):
        v = g(r, k)
        if v:
            parts.append(", ".join(f"{a}: {b}" for a, b in v.items()))
    return "; ".join(parts) if parts else "0"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    rows, meta = load(out)
    peers = []
    for r in rows:
        if r.get("peer") not in peers:
            peers.append(r.get("peer"))
    labels = []
    for r in rows:
        lab = r.get("label") or r.get("scenario")
        if lab not in labels:
            labels.append(lab)
    by = {}
    for r in rows:
        by[(r.get("peer"), r.get("label") or r.get("scenario"))] = r

    p = print
    p("# iorelay side-by-side benchmark")
    p()
    if meta.get("quick") == "1":
        p("> **Quick / smoke run** (`--quick`): small sizes to show the suite works end to end. "
          "Not a measurement: compare nothing from it.")
        p()
    if meta:
        p(f"- date: {meta.get('date')}  ·  machine: {meta.get('nproc')} cores ({meta.get('cpu')}), {meta.get('mem')}, kernel {meta.get('kernel')}")
        run_peers = (meta.get("peers") or "").split()
        versions = []
        if "socketioxide" in run_peers:
            versions.append(f"socketioxide = socketioxide {meta.get('sx')} + axum {meta.get('axum')} ({meta.get('rustc')})")
        if "node-socketio" in run_peers:
            versions.append(f"node-socketio = socket.io {meta.get('sio')} on Node {meta.get('node')}")
        if "python-socketio" in run_peers:
            versions.append(f"python-socketio = Python {meta.get('py')}")
        if versions:
            p(f"- peers: {'; '.join(versions)}")
        if meta.get("iorelay"):
            p(f"- iorelay: {meta.get('iorelay')}; {meta.get('iorelay_sizes', '').strip()}")
        if meta.get("emit_py"):
            p(f"- emit scenario's Python: {meta.get('emit_py')}")
        if meta.get("extra"):
            p(f"- extra peers: `{meta.get('extra').strip()}`")
        pin = "server pinned to CPU 0, loadgen to CPU 1" if meta.get("pin") == "1" else "unpinned: server and loadgen share both cores"
        p(f"- scheduling: {pin}; loadgen tokio worker threads: {meta.get('threads')}")
        p(f"- sizes: {meta.get('sizes')}")
    p("- every scenario runs against a freshly started server; CPU = utime+stime from /proc (server: PID + descendants; loadgen: getrusage) over the measured phase; % is of one core")
    p()

    # ---------------------------------------------------------------- overview
    p("## Overview")
    p()
    hdr = ["metric"] + peers
    body = []

    def row(name, fn, labs):
        for lab in labs:
            cells = []
            any_ = False
            for peer in peers:
                r = by.get((peer, lab))
                if r is None:
                    cells.append("–")
                    continue
                any_ = True
                if "error" in r:
                    cells.append("FAILED")
                    continue
                cells.append(fn(r))
            if any_:
                body.append([name.format(lab=lab)] + cells)

    for lab in labels:
        if lab == "check":
            row("conformance checks passed", lambda r: f"{r.get('passed')}/{r.get('passed', 0) + r.get('failed', 0)}", [lab])
        elif lab.startswith("ingest"):
            row("**{lab}**: events/s", lambda r: fnum(r.get("events_per_s")), [lab])
            row("{lab}: request p50 / p99 ms", lambda r: f"{fms(g(r, 'latency.p50_ms'))} / {fms(g(r, 'latency.p99_ms'))}", [lab])
            row("{lab}: listener got / sent ok", lambda r: f"{fnum(g(r, 'listener.received'))} / {fnum(r.get('ok'))}", [lab])
            row("{lab}: server / loadgen CPU s", lambda r: f"{g(r, 'cpu.server_cpu_s', 0):.2f} / {g(r, 'cpu.loadgen_cpu_s', 0):.2f}", [lab])
        elif lab.startswith("fanout"):
            row("**{lab}**: delivered msgs/s", lambda r: fnum(g(r, "delivery.msgs_per_s")), [lab])
            row("{lab}: delivery p50 / p99 / max ms",
                lambda r: f"{fms(g(r, 'delivery.latency.p50_ms'))} / {fms(g(r, 'delivery.latency.p99_ms'))} / {fms(g(r, 'delivery.latency.max_ms'))}", [lab])
            row("{lab}: lost / dups", lambda r: f"{lost_cell(r)} / {fnum(g(r, 'delivery.dups'))}", [lab])
            row("{lab}: server / loadgen CPU s", lambda r: f"{g(r, 'cpu.server_cpu_s', 0):.2f} / {g(r, 'cpu.loadgen_cpu_s', 0):.2f}", [lab])
            row("{lab}: server CPU µs per delivered msg",
                lambda r: fnum(1e6 * g(r, "cpu.server_cpu_s", 0) / max(1, g(r, "delivery.delivered", 0)), 1), [lab])
        elif lab.startswith("idle"):
            row("server RSS at start MiB", lambda r: f"{r.get('rss_before_kb', 0) / 1024:.1f}", [lab])
            row("**{lab}**: bytes / connection (marginal)", lambda r: fnum(r.get("bytes_per_conn")), [lab])
            row("{lab}: RSS before → idle MiB (VmHWM)",
                lambda r: f"{r.get('rss_before_kb', 0) / 1024:.1f} → {r.get('rss_idle_kb', 0) / 1024:.1f} ({r.get('hwm_kb', 0) / 1024:.1f})", [lab])
        elif lab.startswith("crowd"):
            row("**{lab}**: clients connected / got the broadcast",
                lambda r: f"{fnum(g(r, 'connect.connected'))} / {fnum(g(r, 'delivery.delivered'))}", [lab])
            row("{lab}: connect s, broadcast p50 / p99 / max ms",
                lambda r: f"{fms(g(r, 'connect.secs'))} s, {fms(g(r, 'delivery.latency.p50_ms'))} / {fms(g(r, 'delivery.latency.p99_ms'))} / {fms(g(r, 'delivery.latency.max_ms'))}", [lab])
            row("{lab}: bytes / connection (RSS start → idle)", lambda r: fnum(r.get("bytes_per_conn_total")), [lab])
        elif lab == "emit":
            row("**emit**: hook client, whole process median / p90 ms",
                lambda r: f"{fms(r.get('emit_median_ms'))} / {fms(r.get('emit_p90_ms'))}", [lab])
            row("emit: python3 + requests.post median ms (ratio)",
                lambda r: f"{fms(r.get('python_median_ms'))} ({r.get('ratio')}×)", [lab])
    p(table(hdr, body))
    p()

    # ---------------------------------------------------------------- details
    p("## Details")
    for lab in labels:
        rs = [(peer, by.get((peer, lab))) for peer in peers if by.get((peer, lab)) is not None]
        if not rs:
            continue
        p()
        p(f"### {lab}")
        p()
        anyr = next((r for _, r in rs if "error" not in r), None)
        if anyr is not None and anyr.get("params"):
            p(f"params: `{json.dumps(anyr.get('params'))}`")
            p()
        sc = (anyr or rs[0][1]).get("scenario", "")
        b = []
        if sc == "check":
            hdr = ["peer", "passed", "failed", "failing checks"]
            for peer, r in rs:
                if "error" in r:
                    b.append([peer, "–", "–", r["error"]])
                    continue
                bad = [f"{c['name']} ({c['detail']})" for c in r.get("checks", []) if not c.get("ok")]
                b.append([peer, r.get("passed"), r.get("failed"), "; ".join(bad) or "none"])
        elif sc.startswith("ingest"):
            hdr = ["peer", "ok / attempted", "errors", "events/s", "p50 ms", "p99 ms", "max ms",
                   "listener got/expected", "server CPU s", "loadgen CPU s", "wall s"]
            for peer, r in rs:
                if "error" in r:
                    b.append([peer, "FAILED: " + r["error"]] + [""] * (len(hdr) - 2))
                    continue
                sc_, lc, w = cpu(r)
                b.append([peer, f"{fnum(r.get('ok'))} / {fnum(r.get('attempted'))}" + (" (time limit)" if r.get("timed_out") else ""),
                          errs(r), fnum(r.get("events_per_s")), fms(g(r, "latency.p50_ms")), fms(g(r, "latency.p99_ms")),
                          fms(g(r, "latency.max_ms")), f"{fnum(g(r, 'listener.received'))} / {fnum(g(r, 'listener.expected'))}",
                          sc_, lc, w])
        elif sc.startswith("fanout"):
            hdr = ["peer", "clients ok", "posted ok @ ev/s", "post p99 ms", "delivered / expected", "lost", "dups",
                   "closed early", "msgs/s", "p50 ms", "p99 ms", "max ms", "server CPU s", "loadgen CPU s", "wall s", "server RSS end MiB"]
            for peer, r in rs:
                if "error" in r:
                    b.append([peer, "FAILED: " + r["error"]] + [""] * (len(hdr) - 2))
                    continue
                sc_, lc, w = cpu(r)
                lost = lost_cell(r)
                b.append([peer, f"{g(r, 'connect.connected')}/{g(r, 'params.clients')}",
                          f"{fnum(g(r, 'post.ok'))} @ {fnum(g(r, 'post.rate_achieved'))}", fms(g(r, "post.latency.p99_ms")),
                          f"{fnum(g(r, 'delivery.delivered'))} / {fnum(g(r, 'delivery.expected'))}", lost,
                          fnum(g(r, "delivery.dups")), fnum(g(r, "delivery.closed_early")), fnum(g(r, "delivery.msgs_per_s")),
                          fms(g(r, "delivery.latency.p50_ms")), fms(g(r, "delivery.latency.p99_ms")), fms(g(r, "delivery.latency.max_ms")),
                          sc_, lc, w, f"{g(r, 'server_mem_end.rss_kb', 0) / 1024:.1f}"])
        elif sc == "idle-memory":
            hdr = ["peer", "clients ok", "connect s", "RSS before MiB", "RSS warm-up MiB", "RSS idle MiB", "VmHWM MiB", "RSS after close MiB",
                   "bytes/conn marginal", "bytes/conn total", "threads", "server CPU s (connect+idle)", "loadgen CPU s", "closed early"]
            for peer, r in rs:
                if "error" in r:
                    b.append([peer, "FAILED: " + r["error"]] + [""] * (len(hdr) - 2))
                    continue
                sc_, lc, _ = cpu(r)
                b.append([peer, f"{g(r, 'connect.connected')}/{g(r, 'params.clients')}", g(r, "connect.secs"),
                          f"{r.get('rss_before_kb', 0) / 1024:.1f}", f"{r.get('rss_warm_kb', 0) / 1024:.1f}",
                          f"{r.get('rss_idle_kb', 0) / 1024:.1f}",
                          f"{r.get('hwm_kb', 0) / 1024:.1f}", f"{r.get('rss_after_close_kb', 0) / 1024:.1f}",
                          fnum(r.get("bytes_per_conn")), fnum(r.get("bytes_per_conn_total")), r.get("server_threads_idle"), sc_, lc, r.get("closed_early")])
        elif sc == "crowd":
            hdr = ["peer", "clients ok", "connect s", "closed while idle", "POST", "delivered / connected", "lost", "dups",
                   "p50 ms", "p99 ms", "max ms", "RSS start MiB", "RSS connected MiB", "RSS idle MiB", "bytes/conn",
                   "threads", "server CPU s (broadcast)", "loadgen CPU s (broadcast)"]
            for peer, r in rs:
                if "error" in r:
                    b.append([peer, "FAILED: " + r["error"]] + [""] * (len(hdr) - 2))
                    continue
                post = g(r, "post.status") or g(r, "post.error")
                sc_, lc, _ = cpu({"cpu": r.get("broadcast_cpu", {})})
                b.append([peer, f"{g(r, 'connect.connected')}/{g(r, 'params.clients')}", g(r, "connect.secs"),
                          r.get("closed_while_idle"), post,
                          f"{fnum(g(r, 'delivery.delivered'))} / {fnum(g(r, 'delivery.expected'))}",
                          fnum(g(r, "delivery.lost")), fnum(g(r, "delivery.dups")),
                          fms(g(r, "delivery.latency.p50_ms")), fms(g(r, "delivery.latency.p99_ms")), fms(g(r, "delivery.latency.max_ms")),
                          mib(r.get("rss_before_kb")), mib(r.get("rss_connected_kb")),
                          mib(r.get("rss_idle_kb")), fnum(r.get("bytes_per_conn_total")),
                          r.get("server_threads_idle"), sc_, lc])
        elif sc == "emit":
            hdr = ["binary", "runs", "events received (of 2 × runs)", "emit median ms", "emit p90 ms",
                   "python3 + requests median ms", "python p90 ms", "python / emit (medians)"]
            for peer, r in rs:
                if "error" in r:
                    b.append([peer, "FAILED: " + r["error"]] + [""] * (len(hdr) - 2))
                    continue
                b.append([peer, r.get("runs"), r.get("delivered"), fms(r.get("emit_median_ms")), fms(r.get("emit_p90_ms")),
                          fms(r.get("python_median_ms")), fms(r.get("python_p90_ms")), f"{r.get('ratio')}×"])
        else:
            hdr = ["peer", "result"]
            b = [[peer, json.dumps(r)[:200]] for peer, r in rs]
        p(table(hdr, b))

    # ---------------------------------------------------------------- problems
    probs = []
    for r in rows:
        peer, lab = r.get("peer"), r.get("label") or r.get("scenario")
        if "error" in r:
            probs.append(f"- **{peer} / {lab}**: {r['error']}")
            continue
        if r.get("server_alive_after") is False:
            probs.append(f"- **{peer} / {lab}**: server process died during the scenario")
        if r.get("scenario") == "check" and r.get("failed"):
            probs.append(f"- **{peer} / check**: {r['failed']} conformance check(s) failed")
        if r.get("timed_out"):
            probs.append(f"- **{peer} / {lab}**: hit the time limit ({r.get('attempted')} of {g(r, 'params.events')} requests)")
        e = errs(r)
        if e != "0":
            probs.append(f"- **{peer} / {lab}**: HTTP errors: {e}")
        if g(r, "listener.received") is not None and g(r, "listener.received") < g(r, "listener.expected", 0):
            probs.append(f"- **{peer} / {lab}**: listener client received {g(r, 'listener.received')} of "
                         f"{g(r, 'listener.expected')} broadcasts (events acknowledged with 204 but not delivered)")
        if r.get("scenario") == "crowd":
            if g(r, "post.status") not in (200, 204):
                probs.append(f"- **{peer} / {lab}**: the broadcast POST was not accepted: {g(r, 'post.status') or g(r, 'post.error')}")
            if g(r, "delivery.lost"):
                probs.append(f"- **{peer} / {lab}**: {g(r, 'delivery.lost')} of {g(r, 'delivery.expected')} clients that connected did not "
                             f"get the broadcast (drain ended: {g(r, 'delivery.drain_end')})")
        elif r.get("scenario") == "emit":
            if r.get("delivered") is not None and r.get("delivered") < 2 * (r.get("runs") or 0):
                probs.append(f"- **{peer} / emit**: the fake relay received {r.get('delivered')} of {2 * r.get('runs')} events")
        elif g(r, "delivery.lost"):
            probs.append(f"- **{peer} / {lab}**: {g(r, 'delivery.lost')} of {g(r, 'delivery.expected')} messages not delivered "
                         f"(drain ended: {g(r, 'delivery.drain_end')}; {g(r, 'post.ok')} of {g(r, 'params.events')} events posted before the "
                         f"time limit; {g(r, 'delivery.undelivered_acked')} messages of acknowledged events never reached a connected client)")
        if g(r, "delivery.dups"):
            probs.append(f"- **{peer} / {lab}**: {g(r, 'delivery.dups')} duplicate deliveries")
        ce = g(r, "delivery.closed_early") or r.get("closed_early")
        if ce:
            probs.append(f"- **{peer} / {lab}**: {ce} websocket clients were disconnected by the server")
        cf = g(r, "connect.failed")
        if cf:
            probs.append(f"- **{peer} / {lab}**: {cf} clients failed to connect: {g(r, 'connect.errors')}")
    p()
    p("## Problems seen")
    p()
    p("\n".join(probs) if probs else "none")


if __name__ == "__main__":
    main()
