// Shared client-side helpers for the conformance checks.
//
// Everything here is bounded: every wait takes a deadline and fails with a
// message that says what was being waited for.

import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import WebSocket from "ws";

export const BASE_URL = (process.env.CONFORMANCE_URL ?? "http://localhost:3000").replace(/\/+$/, "");
export const WS_BASE_URL = BASE_URL.replace(/^http/, "ws");

// The server configuration the suites assume (the "conformance" mode).
export const PING_INTERVAL = 300;
export const PING_TIMEOUT = 200;
export const MAX_PAYLOAD = 1_000_000;

// Extra slack added to the two timing checks that must sleep ("closes the
// session upon ping timeout" over polling). The official suites use no slack at
// all; set CONFORMANCE_TIMING_MARGIN_MS=0 to be exactly as strict as they are.
export const TIMING_MARGIN = Number(process.env.CONFORMANCE_TIMING_MARGIN_MS ?? 20);

// Per-test budgets, equal to the ones the official (mocha) suites run under:
// 2 s by default, 5 s for the heartbeat groups.
export const TEST_TIMEOUT = 2000;
export const HEARTBEAT_TEST_TIMEOUT = 5000;

// Default bound for a single wait inside a test.
export const WAIT = 2000;

// "strict" (default): fail when a frame that the official Socket.IO suite
// waits for alone arrives in the same socket read as the frame before it,
// since that suite would never see it (see Client.nextOnce). "lenient": accept
// such frames. The Node.js reference server does coalesce the CONNECT reply
// and the next event now and then, so `run.sh reference` uses "lenient".
export const STRICT_DELIVERY = (process.env.CONFORMANCE_DELIVERY ?? "strict") !== "lenient";

export { delay };

/** Rejects after `ms` with a message naming `what`, unless `promise` settles first. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Builds `${BASE_URL}${path}/?EIO=4&transport=...` style URLs. */
export function endpoint(path, query, { ws = false } = {}) {
  const base = ws ? WS_BASE_URL : BASE_URL;
  return `${base}${path}/${query === undefined ? "" : `?${query}`}`;
}

/**
 * One HTTP request with a bounded total duration (headers and body).
 * Resolves to { status, body, headers }; rejects on network error or timeout.
 */
export async function request(url, { method = "GET", body, timeout = WAIT, signal } = {}) {
  const signals = [AbortSignal.timeout(timeout)];
  if (signal) signals.push(signal);
  const response = await fetch(url, { method, body, signal: AbortSignal.any(signals) });
  const text = await response.text();
  return { status: response.status, body: text, headers: response.headers };
}

/** Parses an Engine.IO open packet ("0{...}") and checks its shape. */
export function checkOpenPacket(text, expectedUpgrades) {
  assert.equal(typeof text, "string", "the open packet must be sent as text");
  assert.ok(text.startsWith("0"), `expected an open packet starting with "0", got ${JSON.stringify(text)}`);
  const handshake = JSON.parse(text.slice(1));
  assert.deepEqual(
    Object.keys(handshake).sort(),
    ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"],
    "the open packet must carry exactly sid, upgrades, pingInterval, pingTimeout, maxPayload",
  );
  assert.equal(typeof handshake.sid, "string");
  assert.deepEqual(handshake.upgrades, expectedUpgrades);
  assert.equal(handshake.pingInterval, PING_INTERVAL);
  assert.equal(handshake.pingTimeout, PING_TIMEOUT);
  assert.equal(handshake.maxPayload, MAX_PAYLOAD);
  return handshake;
}

/** Opens a polling session on `path` and returns its sid. */
export async function openPollingSession(path) {
  const { status, body } = await request(endpoint(path, "EIO=4&transport=polling"));
  assert.equal(status, 200, "polling handshake must answer 200");
  return checkOpenPacket(body, ["websocket"]).sid;
}

/**
 * A WebSocket client that keeps every event until a test asks for it, so no
 * frame is lost between two waits.
 *
 * Each received message is { data, binary, batch }: `data` is a string for text
 * frames and a Uint8Array for binary frames; `batch` numbers the synchronous
 * delivery run the frame arrived in (frames read from the socket in one chunk
 * share a batch). See `nextOnce()` for why that matters.
 */
export class Client {
  constructor(url) {
    this.url = url;
    this.ws = new WebSocket(url);
    this.queues = { open: [], message: [], close: [] };
    this.waiters = { open: [], message: [], close: [] };
    this.errors = [];
    this.opened = false;
    this.closed = false;
    this.batch = 0;
    this.inBatch = false;
    this.lastConsumed = null;

    this.ws.on("open", () => {
      this.opened = true;
      this.push("open", {});
    });
    this.ws.on("message", (raw, isBinary) => {
      if (!this.inBatch) {
        this.batch += 1;
        this.inBatch = true;
        queueMicrotask(() => {
          this.inBatch = false;
        });
      }
      const data = isBinary ? new Uint8Array(raw) : raw.toString("utf8");
      this.push("message", { data, binary: isBinary, batch: this.batch });
    });
    this.ws.on("close", (code, reason) => {
      this.closed = true;
      this.push("close", { code, reason: reason.toString() });
    });
    // Always handled here so that the process never crashes; tests decide
    // whether an error was acceptable (see assertNoError()).
    this.ws.on("error", (error) => {
      this.errors.push(error);
    });
  }

  push(type, event) {
    const waiter = this.waiters[type].shift();
    if (waiter) waiter(event);
    else this.queues[type].push(event);
  }

  /** Next event of `type` (buffered), bounded by `timeout`. */
  next(type, timeout = WAIT) {
    if (this.queues[type].length) return Promise.resolve(this.queues[type].shift());
    let resolveFn;
    const pending = new Promise((resolve) => {
      resolveFn = resolve;
      this.waiters[type].push(resolve);
    });
    return within(timeout, `a WebSocket "${type}" event on ${this.url}`, pending).catch((error) => {
      const index = this.waiters[type].indexOf(resolveFn);
      if (index !== -1) this.waiters[type].splice(index, 1);
      throw error;
    });
  }

  waitOpen(timeout = WAIT) {
    return this.next("open", timeout);
  }

  waitClose(timeout = WAIT) {
    return this.next("close", timeout);
  }

  /** Next message, buffered (like the Engine.IO suite's helper). */
  async nextMessage(timeout = WAIT) {
    const message = await this.next("message", timeout);
    this.lastConsumed = message;
    return message;
  }

  /**
   * Next message, with the delivery constraint of the official Socket.IO v5
   * suite: it registers a one-shot listener only after the previous message
   * was handled, and the `ws` client emits every frame of one socket read
   * synchronously, so a frame that arrives in the same read as the previous
   * frame is never seen by that suite (it then times out). We keep the frame
   * but fail with an explanation instead.
   */
  async nextOnce(timeout = WAIT) {
    const previous = this.lastConsumed;
    const message = await this.nextMessage(timeout);
    if (STRICT_DELIVERY && previous !== null) {
      assert.notEqual(
        message.batch,
        previous.batch,
        `frame ${JSON.stringify(show(message.data))} arrived in the same socket read as the previous frame ` +
          `${JSON.stringify(show(previous.data))}; a client that listens for one frame at a time would miss it ` +
          "(the server should write these frames separately)",
      );
    }
    return message;
  }

  /** Next text message; fails if a binary frame comes instead. */
  async nextText(timeout = WAIT) {
    const message = await this.nextMessage(timeout);
    assert.equal(message.binary, false, "expected a text frame, got a binary frame");
    return message.data;
  }

  send(data) {
    this.ws.send(data);
  }

  /** No 'error' event happened (the official suites would crash on one). */
  assertNoError() {
    assert.deepEqual(
      this.errors.map((e) => e.message),
      [],
      "the WebSocket client reported an error (e.g. the upgrade was refused with a non-101 status)",
    );
  }

  dispose() {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}

function show(data) {
  return typeof data === "string" ? data : Array.from(data);
}

/** Creates clients and disposes of all of them after the test. */
export function clientPool(t) {
  const clients = [];
  t.after(() => {
    for (const client of clients) client.dispose();
  });
  return (url) => {
    const client = new Client(url);
    clients.push(client);
    return client;
  };
}

/** Concatenates Engine.IO packets into a polling payload. */
export function payload(...packets) {
  return packets.join("\x1e");
}

export function bytes(...values) {
  return Uint8Array.from(values);
}
