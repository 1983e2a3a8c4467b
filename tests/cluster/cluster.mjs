// The cluster tests' driver (run by run.sh, which installs what is needed and cleans up):
// redis-server, then three nodes on one stream — `iorelay` (smol), `iorelay-std` and a Node.js
// server with the official redis-streams-adapter (server.mjs) — with a socket.io-client and a
// python-socketio client on each, then the checks, in order. Prints `ok - NAME` or
// `not ok - NAME: why` per check and ends with `N passed, M failed`; exits 1 on a failure.
//
// Environment: IORELAY_SMOL, IORELAY_STD (binaries), REDIS_SERVER (its path), WORK (scratch
// dir), PIDS (a file: every process started is appended to it, so run.sh's trap can end it by
// pid), PYTHON (python with python-socketio, optional: no python clients without it).
//
// Every wait is on a condition with a deadline; the one deliberate wait is the Redis outage.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/cluster/run.sh)`);
  return value;
};
const SMOL = env("IORELAY_SMOL");
const STD = env("IORELAY_STD");
const REDIS_SERVER = env("REDIS_SERVER");
const WORK = env("WORK");
const PIDS = env("PIDS");
const PYTHON = process.env.PYTHON || "";
const OUTAGE_MS = Number(process.env.IORELAY_CLUSTER_OUTAGE_MS || 10_000);
const WAIT_MS = 30_000;
const RUN = `r${process.pid}-${Date.now().toString(36)}`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` every 20 ms until it holds; throws `what` after `ms`. */
async function until(predicate, what, ms = WAIT_MS) {
  const end = Date.now() + ms;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

// --- processes -----------------------------------------------------------------------------------

const children = new Set();

/** Spawns a process, records its pid for run.sh's trap, logs its output to WORK/NAME.{out,err}. */
function start(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], ...opts });
  fs.appendFileSync(PIDS, `${child.pid}\n`);
  children.add(child);
  child.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  child.exited.then(() => children.delete(child));
  child.stdout.pipe(fs.createWriteStream(path.join(WORK, `${name}.out`), { flags: "a" }));
  child.stderr.pipe(fs.createWriteStream(path.join(WORK, `${name}.err`), { flags: "a" }));
  child.name = name;
  return child;
}

/** The first stdout line of `child` matching `re` (its first group), within `ms`. */
function lineOf(child, re, ms = 15_000) {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => done(new Error(`${child.name}: no line matching ${re} within ${ms} ms`)), ms);
    const done = (err, value) => {
      clearTimeout(timer);
      lines.close();
      err ? reject(err) : resolve(value);
    };
    lines.on("line", (line) => {
      const m = line.match(re);
      if (m) done(null, m[1]);
    });
    child.exited.then(({ code, signal }) => done(new Error(`${child.name} exited (${code ?? signal}) before ${re}`)));
  });
}

async function stop(child, signal = "SIGTERM") {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await child.exited;
  clearTimeout(timer);
}

/** A free loopback port (bound, read, released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether Redis at `port` answers PING. */
function pings(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\r\n")) done(text.startsWith("+PONG"));
    });
  });
}

/** Whether `key` exists in Redis (`EXISTS`, spoken in RESP on a socket of its own). */
function redisExists(key) {
  return new Promise((resolve) => {
    const socket = net.connect(redis.port, "127.0.0.1");
    let text = "";
    const done = (value) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write(`*2\r\n$6\r\nEXISTS\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`));
    socket.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\r\n")) done(text.startsWith(":1"));
    });
  });
}

const redis = { port: 0, child: null };

async function startRedis() {
  redis.child = start("redis", REDIS_SERVER, [
    "--port", String(redis.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--dir", WORK, "--protected-mode", "yes",
  ]);
  await until(() => pings(redis.port), `redis-server on port ${redis.port}`, 15_000);
}

async function stopRedis() {
  await stop(redis.child);
  redis.child = null;
}

// --- HTTP ----------------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function request(base, method, pathname, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = data ? { "content-type": "application/json", "content-length": data.length } : {};
    const req = http.request(`${base}${pathname}`, { method, headers, agent, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${pathname}: no answer in 10 s`)));
    req.on("error", reject);
    req.end(data ?? undefined);
  });
}

async function post(node, event) {
  const { status, text } = await request(node.url, "POST", "/api/events", event);
  if (status !== 204 && status !== 202) throw new Error(`POST /api/events to ${node.name}: ${status} ${text}`);
}

async function health(node) {
  return JSON.parse((await request(node.url, "GET", "/health")).text);
}

async function history(node) {
  const { status, text } = await request(node.url, "GET", "/api/history?limit=1000");
  assert.equal(status, 200, `GET /api/history on ${node.name}`);
  return JSON.parse(text).events.map((e) => `${e.id}@${e.offset}`);
}

// --- nodes and clients ---------------------------------------------------------------------------

const nodes = {};

async function startRelay(name, binary, port = 0) {
  const child = start(name, binary, ["serve", "--port", String(port), "--redis-url", `redis://127.0.0.1:${redis.port}`], {
    env: {
      ...process.env,
      IORELAY_DATA_DIR: path.join(WORK, `${name}.data`),
      IORELAY_STATE_DIR: path.join(WORK, `${name}.state`),
    },
  });
  const url = await lineOf(child, /^iorelay listening on (http:\/\/[^ ]*)/);
  const node = nodes[name] ?? { name, binary, clients: [] };
  Object.assign(node, { child, url, port: Number(new URL(url).port) });
  nodes[name] = node;
  await until(async () => (await health(node)).cluster?.state === "up", `${name}'s cluster link up`);
  return node;
}

async function startNodeServer() {
  const child = start("node", process.execPath, [path.join(HERE, "server.mjs")], {
    env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${redis.port}` },
  });
  const url = await lineOf(child, /^node listening on (http:\/\/[^ ]*)/);
  nodes.node = { name: "node", child, url, port: Number(new URL(url).port), clients: [] };
  return nodes.node;
}

/** What one client received: ids in arrival order. */
class Received {
  constructor(label) {
    this.label = label;
    this.ids = [];
    this.counts = new Map();
  }
  add(id) {
    this.ids.push(id);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }
  has(ids) {
    return ids.every((id) => this.counts.has(id));
  }
  /** The ids of `ids` not received exactly once, as text, or "". */
  notOnce(ids) {
    const bad = ids.filter((id) => this.counts.get(id) !== 1);
    return bad.length ? `${this.label}: ${bad.length} not exactly once (${bad.slice(0, 3).map((id) => `${id}×${this.counts.get(id) ?? 0}`).join(", ")}…)` : "";
  }
  /** The order `ids` arrived in. */
  orderOf(ids) {
    const wanted = new Set(ids);
    return this.ids.filter((id) => wanted.has(id));
  }
}

const clients = [];
// The clients whose arrival order is checked: python-socketio runs each handler on a thread of
// its own, so its clients are checked for "all, once" only.
const ordered = () => clients.filter((c) => c.socket);

/** Asserts two id lists are equal, saying where they first differ. */
function sameOrder(got, want, what) {
  if (got.join() === want.join()) return;
  let i = 0;
  while (i < got.length && got[i] === want[i]) i += 1;
  throw new Error(`${what}: differs at ${i} of ${want.length} (got ${got.slice(i, i + 3).join(" ")}; want ${want.slice(i, i + 3).join(" ")})`);
}

async function nodeClient(node) {
  const received = new Received(`socket.io-client@${node.name}`);
  const socket = io(node.url, { forceNew: true, transports: ["websocket"], reconnectionDelay: 200, reconnectionDelayMax: 1_000 });
  socket.on("claude_event", (event) => {
    if (event && typeof event === "object") received.add(String(event.id));
  });
  received.socket = socket;
  received.connected = () => socket.connected;
  await until(() => socket.connected, `${received.label} connected`, 10_000);
  node.clients.push(received);
  clients.push(received);
  return received;
}

async function pythonClient(node) {
  const received = new Received(`python-socketio@${node.name}`);
  const child = start(`py-${node.name}`, PYTHON, [path.join(HERE, "pyclient.py"), node.url]);
  received.connected = () => connected;
  let connected = false;
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    const msg = JSON.parse(line);
    if ("connected" in msg) connected = msg.connected;
    else received.add(String(msg.id));
  });
  received.child = child;
  await until(() => connected, `${received.label} connected`, 15_000);
  node.clients.push(received);
  clients.push(received);
  return received;
}

// --- the checks ----------------------------------------------------------------------------------

let seq = 0;
const event = (tag, extra = {}) => ({
  id: `${RUN}-${tag}-${++seq}`,
  type: "hook",
  subtype: "cluster_test",
  session_id: `cluster-${RUN}`,
  data: { tag },
  ...extra,
});

/** Waits until every client of `among` has every id of `ids`, then checks each got each once. */
async function allOnce(ids, among = clients, ms = WAIT_MS) {
  await until(() => among.every((c) => c.has(ids)), `${ids.length} events at ${among.length} clients`, ms).catch((err) => {
    const missing = among.map((c) => `${c.label} missing ${ids.filter((id) => !c.counts.has(id)).length}`).join("; ");
    throw new Error(`${err.message} (${missing})`);
  });
  const bad = among.map((c) => c.notOnce(ids)).filter(Boolean);
  assert.equal(bad.join("; "), "", "every client gets each event once");
}

/** Posts a marker to each iorelay node and waits for both everywhere: what was appended before
 * them has been read by every node (delivery is in stream order). */
async function barrier(among = clients) {
  const markers = [event("marker"), event("marker")];
  await post(nodes.smol, markers[0]);
  await post(nodes.std, markers[1]);
  await allOnce(markers.map((e) => e.id), among);
}

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

for (const [label, binary] of [["iorelay", () => SMOL], ["iorelay-std", () => STD]]) check(`${label} whose Redis cannot be reached starts anyway, serves, and says so once`, async () => {
  const dead = await freePort();
  const name = `no-redis-${label}`;
  const child = start(name, binary(), ["serve", "--port", "0", "--redis-url", `redis://127.0.0.1:${dead}`], {
    env: { ...process.env, IORELAY_DATA_DIR: path.join(WORK, `${name}.data`), IORELAY_STATE_DIR: path.join(WORK, `${name}.state`) },
  });
  try {
    const url = await lineOf(child, /^iorelay listening on (http:\/\/[^ ]*)/);
    const node = { name, url };
    const e = event(name);
    await post(node, e);
    const h = await health(node);
    assert.notEqual(h.cluster.state, "up");
    assert.equal(h.cluster.buffered, 1, "the event waits to be appended");
    // Several reconnects (250 ms, doubling) have failed by now; one log line said so.
    await until(async () => (await health(node)).cluster.disconnects >= 3, "three failed connects", 10_000);
    const said = fs.readFileSync(path.join(WORK, `${name}.err`), "utf8").split("\n").filter((l) => l.includes("cannot reach Redis"));
    assert.equal(said.length, 1, `one log line (${said.length})`);
  } finally {
    await stop(child);
  }
});

check("an event ingested on either iorelay node reaches the clients of all three nodes once", async () => {
  const a = event("fanout");
  const b = event("fanout");
  await post(nodes.smol, a);
  await post(nodes.std, b);
  await allOnce([a.id, b.id]);
  await barrier();
  await allOnce([a.id, b.id]);
});

check("a broadcast from the Node.js server reaches iorelay's clients", async () => {
  const e = event("from-node");
  const { status } = await request(nodes.node.url, "POST", "/emit", e);
  assert.equal(status, 204);
  await allOnce([e.id]);
});

check("the same id posted to both iorelay nodes at once enters the stream once: every client of the three nodes gets it once", async () => {
  // The Node adapter delivers every entry it reads (it has no duplicate window), so its
  // clients show whether the stream got one entry or two.
  for (let round = 0; round < 5; round += 1) {
    const e = event("dup");
    await Promise.all([post(nodes.smol, e), post(nodes.std, { ...e })]);
    await barrier();
    await allOnce([e.id]);
  }
});

check("the same id posted to the second node after the first delivered it is delivered once everywhere", async () => {
  const e = event("dup-later");
  await post(nodes.smol, e);
  await allOnce([e.id]);
  await post(nodes.std, { ...e });
  await barrier();
  await allOnce([e.id]);
});

check("/api/history gives the same answer on both iorelay nodes", async () => {
  let a = [];
  let b = [];
  await until(async () => {
    [a, b] = await Promise.all([history(nodes.smol), history(nodes.std)]);
    return a.length > 0 && a.join() === b.join();
  }, "equal histories", 10_000).catch(() => {});
  assert.deepEqual(a, b);
  assert.ok(a.length >= 8, `history has the events posted (${a.length})`);
});

check("1 000 events posted round-robin to both iorelay nodes reach every client once, in stream order", async () => {
  const events = Array.from({ length: 1000 }, () => event("bulk"));
  for (let i = 0; i < events.length; i += 1) await post(i % 2 ? nodes.std : nodes.smol, events[i]);
  const ids = events.map((e) => e.id);
  await allOnce(ids, clients, 60_000);
  // Every node delivers in stream order: all clients saw the same order; each node's own
  // events in the order they were posted.
  const order = clients[0].orderOf(ids);
  for (const c of ordered()) sameOrder(c.orderOf(ids), order, `${c.label} saw ${clients[0].label}'s order`);
  for (const parity of [0, 1]) {
    const posted = ids.filter((_, i) => i % 2 === parity);
    for (const c of ordered()) sameOrder(c.orderOf(posted), posted, `${c.label}: one node's events in posting order`);
  }
  bulk.ids = ids;
});
const bulk = { ids: [] };

check("redis-server stopped for 10 s while 100 events are posted, then started: every client has all 1 100 once, in order", async () => {
  assert.equal(bulk.ids.length, 1000, "the 1 000 events of the previous check");
  const events = Array.from({ length: 100 }, () => event("outage"));
  await stopRedis();
  const began = Date.now();
  // Spread the posts over the outage: 10 every OUTAGE_MS / 10.
  for (let i = 0; i < events.length; i += 1) {
    if (i % 10 === 0) {
      const at = began + (OUTAGE_MS / 10) * (i / 10);
      if (at > Date.now()) await sleep(at - Date.now());
    }
    await post(i % 2 ? nodes.std : nodes.smol, events[i]);
  }
  const rest = began + OUTAGE_MS - Date.now();
  if (rest > 0) await sleep(rest);
  // Each node kept answering (post() checked for 204/202) and holds its 50 to append.
  const down = await Promise.all([health(nodes.smol), health(nodes.std)]);
  for (const h of down) {
    assert.notEqual(h.cluster.state, "up", "the link is down during the outage");
    assert.equal(h.cluster.buffered, 50, "/health's cluster.buffered during the outage");
  }
  const metrics = await Promise.all([nodes.smol, nodes.std].map((n) => request(n.url, "GET", "/metrics")));
  for (const { text } of metrics) {
    assert.match(text, /^iorelay_cluster_connected 0$/m);
    assert.match(text, /^iorelay_cluster_buffered_appends 50$/m);
  }
  await startRedis();
  const ids = events.map((e) => e.id);
  await allOnce([...bulk.ids, ...ids], clients, 60_000);
  for (const parity of [0, 1]) {
    const posted = ids.filter((_, i) => i % 2 === parity);
    for (const c of ordered()) sameOrder(c.orderOf(posted), posted, `${c.label}: one node's outage events in posting order`);
  }
  await until(async () => {
    const hs = await Promise.all([health(nodes.smol), health(nodes.std)]);
    return hs.every((h) => h.cluster.state === "up" && h.cluster.buffered === 0 && h.cluster.awaiting === 0);
  }, "both links up with nothing buffered");
  await barrier();
  await allOnce([...bulk.ids, ...ids]);
  for (const node of [nodes.smol, nodes.std]) {
    const { text } = await request(node.url, "GET", "/metrics");
    assert.match(text, /^iorelay_cluster_connected 1$/m, `${node.name} connected again`);
    const disconnects = Number(text.match(/^iorelay_cluster_disconnects_total (\d+)$/m)?.[1]);
    assert.ok(disconnects >= 1, `${node.name} counted the outage (${disconnects})`);
  }
});

check("a node killed with kill -9 and restarted resumes where it stopped", async () => {
  const std = nodes.std;
  await stop(std.child, "SIGKILL");
  const missed = Array.from({ length: 20 }, () => event("while-down"));
  for (const e of missed) await post(nodes.smol, e);
  const ids = missed.map((e) => e.id);
  const others = clients.filter((c) => !c.label.endsWith("@std"));
  await allOnce(ids, others);
  await startRelay("std", STD, std.port);
  // Its clients reconnect by themselves; its history is the other node's again.
  // (From the missed events on: what the nodes delivered during the outage kept local offsets.)
  const since = (h) => h.slice(Math.max(0, h.findIndex((x) => x.startsWith(`${ids[0]}@`))));
  let a = [];
  let b = [];
  await until(async () => {
    [a, b] = (await Promise.all([history(nodes.smol), history(std)])).map(since);
    return b.length >= ids.length && a.join() === b.join();
  }, "the restarted node's history to match", 10_000).catch(() => {});
  sameOrder(b, a, "the restarted node's history since the kill");
  sameOrder(b.map((x) => x.split("@")[0]), ids, "the missed events in its history");
  // A client connecting now gets the missed events in its event_history, in order.
  const socket = io(std.url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  try {
    const page = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no event_history in 10 s")), 10_000);
      socket.on("event_history", (h) => {
        clearTimeout(timer);
        resolve(h);
      });
    });
    const got = (Array.isArray(page) ? page : page.events ?? []).map((e) => e.id).filter((id) => ids.includes(id));
    assert.deepEqual(got, ids, "event_history has the missed events once, in order");
  } finally {
    socket.disconnect();
  }
  // Live delivery goes on through the restarted node, for its reconnected clients too.
  for (const c of std.clients) await until(() => c.connected(), `${c.label} reconnected`);
  const after = event("after-restart");
  await post(std, after);
  await allOnce([after.id]);
  await barrier();
  await allOnce([after.id]);
});

check("a node killed with kill -9 during a Redis outage appends what it kept after its restart: every client gets those events once", async () => {
  const std = nodes.std;
  const kept = Array.from({ length: 10 }, () => event("kept"));
  const ids = kept.map((e) => e.id);
  const committed = (await health(std)).store.committed;
  await stopRedis();
  for (const e of kept) await post(std, e);
  // Delivered to the node's own clients at once, waiting to be appended, and on disk.
  await allOnce(ids, std.clients);
  await until(async () => {
    const h = await health(std);
    return h.cluster.buffered === ids.length && h.store.pending === 0 && h.store.committed >= committed + ids.length;
  }, "the events buffered and committed");
  await stop(std.child, "SIGKILL");
  await startRedis();
  await startRelay("std", STD, std.port);
  await allOnce(ids, clients, 60_000);
  // Its clients reconnect by themselves (as new: nothing was parked); then the barrier.
  for (const c of std.clients) await until(() => c.connected(), `${c.label} reconnected`);
  await barrier();
  await allOnce(ids);
  await until(async () => (await health(std)).cluster.buffered === 0, "nothing left to append");
});

/** A loopback TCP proxy, as a load balancer: forwards to `target` (a port); `switchTo(port)`
 * sends new connections elsewhere (`null`: refuses them) and cuts the open ones (a node lost
 * to its clients). */
async function proxy(target) {
  const open = new Set();
  const server = net.createServer((inbound) => {
    if (target === null) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect(target, "127.0.0.1");
    open.add(inbound);
    open.add(outbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
      open.delete(inbound);
      open.delete(outbound);
    };
    inbound.on("error", close).on("close", close);
    outbound.on("error", close).on("close", close);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    switchTo(port) {
      target = port;
      for (const socket of open) socket.destroy();
    },
    close() {
      for (const socket of open) socket.destroy();
      server.close();
    },
  };
}

check("a client dropped on one node recovers on another (iorelay ↔ iorelay, iorelay ↔ Node.js): recovered, every missed event once, in order", async () => {
  const { smol, std, node } = nodes;
  for (const [from, to] of [[smol, std], [std, smol], [smol, node], [node, std]]) {
    const balancer = await proxy(from.port);
    const received = new Received(`recovering client ${from.name}→${to.name}`);
    const socket = io(balancer.url, {
      forceNew: true,
      transports: ["websocket"],
      reconnectionDelay: 300,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
    });
    socket.on("claude_event", (e) => received.add(String(e.id)));
    try {
      await until(() => socket.connected, "the client connected through the proxy", 10_000);
      assert.equal(socket.recovered, false);
      const seen = event("seen");
      await post(from === nodes.node ? nodes.smol : from, seen);
      await until(() => received.has([seen.id]), "the first event");
      const pid = socket._pid; // socket.io-client 4.8's private id, sent back on reconnection
      assert.ok(pid, "the client has a pid (recovery is on)");
      const dropped = new Promise((resolve) => socket.once("disconnect", resolve));
      balancer.switchTo(null);
      await dropped;
      // Posted while the client is away, to both nodes; it comes back once the node it left
      // has parked its session in Redis.
      const missed = Array.from({ length: 10 }, () => event("missed"));
      for (let i = 0; i < missed.length; i += 1) await post(i % 2 ? nodes.std : nodes.smol, missed[i]);
      await until(() => redisExists(`sio:session:${pid}`), `${from.name} to park the session in Redis`);
      balancer.switchTo(to.port);
      await until(() => socket.connected, `the client reconnected to ${to.name}`, 10_000);
      assert.equal(socket.recovered, true, `${to.name} recovered the session ${from.name} parked`);
      received.label = `a client recovered on ${to.name} after ${from.name}`;
      const ids = missed.map((e) => e.id);
      await until(() => received.has(ids), "the missed events");
      await barrier([...clients, received]);
      assert.equal(received.notOnce([seen.id, ...ids]), "");
      // In order: the stream's, as a client connected to that node all along saw them (POSTs
      // to two nodes are answered before they are appended, so the stream may have the two
      // nodes' events in another order than posted); each node's in the order posted.
      const witness = to.clients.find((c) => c.socket);
      sameOrder(received.orderOf(ids), witness.orderOf(ids), `the missed events in ${witness.label}'s order`);
      for (const parity of [0, 1]) {
        const posted = ids.filter((_, i) => i % 2 === parity);
        sameOrder(received.orderOf(posted), posted, "one node's missed events in posting order");
      }
    } finally {
      socket.disconnect();
      balancer.close();
    }
  }
});

// --- run -----------------------------------------------------------------------------------------

async function main() {
  let passed = 0;
  let failed = 0;
  try {
    redis.port = await freePort();
    await startRedis();
    await startRelay("smol", SMOL);
    await startRelay("std", STD);
    await startNodeServer();
    for (const node of Object.values(nodes)) {
      await nodeClient(node);
      if (PYTHON) await pythonClient(node);
    }
    console.log(`cluster: redis on ${redis.port}; smol ${nodes.smol.url}, std ${nodes.std.url}, node ${nodes.node.url}; ${clients.length} clients`);
  } catch (err) {
    console.log(`not ok - setup: ${err.stack ?? err}`);
    failed += 1;
  }
  if (!failed) {
    for (const { name, fn } of checks) {
      const began = Date.now();
      try {
        await fn();
        console.log(`ok - ${name} (${Date.now() - began} ms)`);
        passed += 1;
      } catch (err) {
        console.log(`not ok - ${name} (${Date.now() - began} ms): ${err.message}`);
        failed += 1;
      }
    }
  }
  for (const c of clients) {
    c.socket?.disconnect();
    c.child?.stdin.end();
  }
  await Promise.all([...children].map((child) => stop(child)));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
