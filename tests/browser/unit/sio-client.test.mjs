// The client's state machine over a scripted websocket, on mocked timers: the handshake,
// heartbeat and stale detection, recovery by pid and offset, acks, the queue, CONNECT_ERROR,
// and what it does with packets it does not read. (The real transports are covered in
// Chromium by client.test.mjs.)

import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import { Backoff } from "../../../dashboard/js/sio/backoff.js";
import { Client, CONNECT_TIMEOUT_MS } from "../../../dashboard/js/sio/client.js";

/** Every websocket the client opened, newest last; the test plays the relay on it. */
let sockets = [];

class ScriptedWebSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    sockets.push(this);
  }
  send(text) {
    this.sent.push(text);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.();
  }
  receive(data) {
    this.onmessage?.({ data });
  }
  fail(code = 1006) {
    this.onclose?.({ code });
  }
  /** Opens, sends the Engine.IO handshake, and answers the CONNECT with `pid`. */
  handshake({ pid = "p1", pingInterval = 25000, pingTimeout = 20000 } = {}) {
    this.open();
    this.receive(`0${JSON.stringify({ sid: "e1", upgrades: [], pingInterval, pingTimeout, maxPayload: 1e6 })}`);
    this.receive(`40${JSON.stringify({ sid: "s1", pid })}`);
  }
}

const last = () => sockets.at(-1);
const flush = () => new Promise(setImmediate);

/** A client on a scripted websocket, with delays of exactly 1 s, 2 s, 4 s, 5 s; `log` records
 * its lifecycle events. */
function client(options = {}) {
  const c = new Client({ url: "http://relay.test", transports: ["websocket"], backoff: new Backoff({ jitter: 0 }), ...options });
  const log = [];
  for (const name of ["state", "connect", "disconnect", "connect_error"]) c.on(name, (arg) => log.push([name, arg]));
  return { c, log };
}

beforeEach(() => {
  sockets = [];
  globalThis.WebSocket = ScriptedWebSocket;
  mock.timers.enable({ apis: ["setTimeout"] });
});
afterEach(() => {
  mock.timers.reset();
  delete globalThis.WebSocket;
});

test("the handshake: websocket URL, CONNECT with the auth, connected on the reply", () => {
  const { c, log } = client({ auth: () => ({ token: "t", limit: 5 }) });
  c.connect();
  assert.equal(last().url, "ws://relay.test/socket.io/?EIO=4&transport=websocket");
  last().handshake();
  assert.deepEqual(last().sent, ['40{"token":"t","limit":5}']);
  assert.equal(c.connected, true);
  assert.deepEqual(log, [["state", "connecting"], ["state", "connected"], ["connect", { recovered: false }]]);
});

test("a ping is answered with a pong and restarts stale detection; without one the link is dropped", () => {
  const { c, log } = client();
  c.connect();
  last().handshake({ pingInterval: 1000, pingTimeout: 500 });
  mock.timers.tick(1400);
  last().receive("2");
  assert.equal(last().sent.at(-1), "3");
  assert.equal(c.getConnectionMetrics().lastPing, 0);
  mock.timers.tick(1499);
  assert.equal(c.connected, true);
  mock.timers.tick(1);
  assert.equal(c.connected, false);
  assert.equal(sockets[0].closed, true);
  assert.deepEqual(log.slice(-2), [["disconnect", "ping timeout"], ["state", "reconnecting"]]);
  mock.timers.tick(1000);
  assert.equal(sockets.length, 2, "a new attempt after the first backoff delay");
});

test("a reconnect sends the pid and the last string argument of an event back, and is recovered when the pid comes back", () => {
  const { c, log } = client({ auth: () => ({ limit: 5 }) });
  const events = [];
  c.on("claude_event", (event, offset) => events.push([event.id, offset]));
  c.connect();
  last().handshake({ pid: "p1" });
  last().receive('42["claude_event",{"id":"a"},"7"]');
  last().receive('42["event_history",{"events":[]}]');
  last().fail();
  mock.timers.tick(1000);
  last().open();
  last().receive('0{"sid":"e2","pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
  assert.deepEqual(last().sent, ['40{"limit":5,"pid":"p1","offset":"7"}']);
  last().receive('40{"sid":"s1","pid":"p1"}');
  assert.deepEqual(events, [["a", "7"]]);
  assert.deepEqual(log.filter(([name]) => name === "connect"), [["connect", { recovered: false }], ["connect", { recovered: true }]]);
});

test("a new pid in the reply is not a recovery", () => {
  const { c, log } = client();
  c.connect();
  last().handshake({ pid: "p1" });
  last().fail();
  mock.timers.tick(1000);
  last().handshake({ pid: "p2" });
  assert.deepEqual(log.at(-1), ["connect", { recovered: false }]);
});

test("the backoff grows while attempts fail and starts again from 1 s after a connection", () => {
  const { c } = client();
  c.connect();
  last().handshake();
  last().fail();
  for (const delay of [1000, 2000, 4000, 5000]) {
    const before = sockets.length;
    mock.timers.tick(delay - 1);
    assert.equal(sockets.length, before, `nothing before ${delay} ms`);
    mock.timers.tick(1);
    assert.equal(sockets.length, before + 1, `an attempt after ${delay} ms`);
    last().fail();
  }
  mock.timers.tick(5000);
  last().handshake();
  last().fail();
  mock.timers.tick(1000);
  assert.equal(sockets.length, 7);
});

test("no CONNECT reply within 20 s counts as a failed attempt", () => {
  const { c, log } = client();
  c.connect();
  last().open();
  mock.timers.tick(CONNECT_TIMEOUT_MS);
  assert.equal(sockets[0].closed, true);
  assert.deepEqual(log.at(-1), ["state", "reconnecting"]);
  mock.timers.tick(1000);
  assert.equal(sockets.length, 2);
});

test("CONNECT_ERROR is reported with its message and data, and not retried until connect()", () => {
  const { c, log } = client();
  c.connect();
  last().open();
  last().receive('0{"sid":"e1","pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
  last().receive('44{"message":"unauthorized","data":{"why":"token"}}');
  assert.deepEqual(log.at(-1), ["connect_error", { message: "unauthorized", data: { why: "token" } }]);
  mock.timers.tick(60_000);
  assert.equal(sockets.length, 1);
  c.connect();
  assert.equal(sockets.length, 2);
});

test("acks: emitWithAck resolves with the first argument, rejects on timeout, on disconnect, and when not connected", async () => {
  const { c } = client();
  await assert.rejects(c.emitWithAck("history", {}), /not connected/);
  c.connect();
  last().handshake();
  const answered = c.emitWithAck("history", { limit: 1 });
  assert.equal(last().sent.at(-1), '420["history",{"limit":1}]');
  last().receive('430[{"events":[],"count":0}]');
  assert.deepEqual(await answered, { events: [], count: 0 });

  const timedOut = c.emitWithAck("history", {}, { timeout: 100 });
  mock.timers.tick(100);
  await assert.rejects(timedOut, /no ack within 100 ms/);

  const cut = c.emitWithAck("history", {});
  last().fail();
  await assert.rejects(cut, /connection lost/);
});

test("emitWithRetry tries once plus maxRetries, waiting each delay, and settles once", async () => {
  const { c } = client();
  c.connect();
  last().handshake();
  const calls = [];
  const settled = [];
  c.emitWithRetry("subscribe", {}, { timeout: 100, retryDelays: [10, 20], onSuccess: (v) => calls.push(["ok", v]), onFailure: (e) => calls.push(["fail", e.message]) })
    .then((v) => settled.push(["resolved", v]), (e) => settled.push(["rejected", e.message]));
  for (const wait of [100, 10, 100, 20, 100, 20]) {
    await flush();
    mock.timers.tick(wait);
  }
  await flush();
  assert.equal(last().sent.at(-1), '423["subscribe",{}]', "the fourth try");
  last().receive('433[{"ok":true}]');
  await flush();
  await flush();
  assert.deepEqual(settled, [["resolved", { ok: true }]]);
  assert.deepEqual(calls, [["ok", { ok: true }]]);
  assert.deepEqual(c.getConnectionMetrics().retryAttempts, 3);
  assert.deepEqual(c.getConnectionMetrics().pendingEmissions, 0);
});

test("emits while disconnected are queued, at most 100, the oldest dropped with a warning, and flushed in order", (t) => {
  const warn = t.mock.method(console, "warn", () => {});
  const { c } = client();
  for (let i = 0; i < 103; i++) c.emit("note", i);
  assert.equal(c.getConnectionMetrics().queuedEvents, 100);
  assert.equal(warn.mock.callCount(), 3);
  c.connect();
  last().handshake();
  assert.deepEqual(last().sent.slice(1, 3), ['42["note",3]', '42["note",4]']);
  assert.equal(last().sent.length, 101);
  assert.equal(c.getConnectionMetrics().queuedEvents, 0);
});

test("binary and malformed packets are ignored with a warning, and the connection stays up", (t) => {
  const warn = t.mock.method(console, "warn", () => {});
  const { c } = client();
  const seen = [];
  c.on("claude_event", (e) => seen.push(e.id));
  c.connect();
  last().handshake();
  last().receive(new ArrayBuffer(4));
  last().receive('451-["upload",{"_placeholder":true,"num":0}]');
  last().receive('42["claude_event",');
  last().receive('42["claude_event",{"id":"ok"},"1"]');
  assert.equal(warn.mock.callCount(), 3);
  assert.deepEqual(seen, ["ok"]);
  assert.equal(c.connected, true);
});

test("a server event with an ack id gets a callback that answers once", () => {
  const { c } = client();
  c.on("claude_event", (event, offset, ack) => {
    ack("got");
    ack("again");
  });
  c.connect();
  last().handshake();
  last().receive('429["claude_event",{"id":"a"},"5"]');
  assert.deepEqual(last().sent.slice(-1), ['439["got"]']);
});

test("a DISCONNECT from the relay is reconnected; disconnect() ends it for good", () => {
  const { c, log } = client();
  c.connect();
  last().handshake();
  last().receive("41");
  assert.deepEqual(log.slice(-2), [["disconnect", "io server disconnect"], ["state", "reconnecting"]]);
  mock.timers.tick(1000);
  last().handshake();
  c.disconnect();
  assert.equal(last().sent.at(-1), "41");
  assert.equal(last().closed, true);
  assert.deepEqual(log.slice(-2), [["disconnect", "io client disconnect"], ["state", "disconnected"]]);
  mock.timers.tick(60_000);
  assert.equal(sockets.length, 2);
});

test("the window's online event starts an attempt at once instead of waiting out the backoff", () => {
  const listeners = {};
  globalThis.addEventListener = (name, fn) => (listeners[name] = fn);
  try {
    const { c } = client();
    c.connect();
    last().handshake();
    last().fail();
    assert.equal(sockets.length, 1);
    listeners.online();
    assert.equal(sockets.length, 2);
    listeners.online();
    assert.equal(sockets.length, 2, "not while an attempt is under way");
  } finally {
    delete globalThis.addEventListener;
  }
});
