// Issue 5's delivery modes with the stock socket.io-client against the relay server
// (IORELAY_RELAY_URL): a client connecting with auth `{reliable: true}` gets each live event
// with an ack request (socket.io-client hands the handler a callback as the last argument);
// an event whose callback is called arrives once, one whose first delivery is not acked
// arrives again about a second later with the same id and offset. A client connecting with
// `{batch: true}` gets `event_batch` events holding arrays of events. The relay's counters in
// /metrics show what happened (tests run one at a time, so deltas are this test's).

import assert from "node:assert/strict";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { io } from "socket.io-client";
import { Inbox, WAIT_MS, deadline, until } from "../test/helpers.mjs";

const RELAY_URL = process.env.IORELAY_RELAY_URL;
if (!RELAY_URL) throw new Error("IORELAY_RELAY_URL is not set (run tests/interop/run.sh)");

/** A request to the relay; resolves `{ status, text }`. */
function request(method, path, body) {
  return deadline(
    new Promise((resolve, reject) => {
      const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
      const headers = data ? { "content-type": "application/json", "content-length": data.length } : {};
      const req = http.request(`${RELAY_URL}${path}`, { method, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode, text }));
      });
      req.on("error", reject);
      req.end(data ?? undefined);
    }),
    WAIT_MS,
    `${method} ${path}`,
  );
}

const stop = (id, session) => ({ id, type: "hook", subtype: "stop", session_id: session });

async function post(event) {
  assert.equal((await request("POST", "/api/events", event)).status, 204);
}

/** The reliable-delivery counters of /metrics. */
async function counters() {
  const { text } = await request("GET", "/metrics");
  const value = (name) => Number(text.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1]);
  return {
    queued: value("iorelay_reliable_queued_total"),
    retried: value("iorelay_reliable_retried_total"),
    succeeded: value("iorelay_reliable_succeeded_total"),
    outstanding: value("iorelay_reliable_outstanding"),
    batches: value("iorelay_event_batches_sent_total"),
  };
}

/** The counters once `predicate` holds of them (polled), or the last read at the deadline. */
async function countersWhen(predicate, ms = WAIT_MS) {
  const end = Date.now() + ms;
  let now = await counters();
  while (!predicate(now) && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    now = await counters();
  }
  return now;
}

/** A websocket dashboard on `/` with `auth`, whose `claude_event` handler is `onEvent`. */
async function dashboard(t, auth, onEvent) {
  const socket = io(RELAY_URL, { forceNew: true, reconnection: false, transports: ["websocket"], auth });
  const inbox = new Inbox(socket);
  if (onEvent) socket.on("claude_event", onEvent);
  t.after(() => socket.disconnect());
  await inbox.next("event_history");
  return { socket, inbox };
}

test("a reliable client that acks gets each event once and nothing is retried", async (t) => {
  const session = `node-${randomUUID()}`;
  const before = await counters();
  const got = [];
  await dashboard(t, { session, reliable: true }, (event, offset, ack) => {
    assert.equal(offset, event.offset);
    assert.equal(typeof ack, "function", "an ack request: the callback is the last argument");
    got.push(event.id);
    ack();
  });
  const ids = [1, 2, 3].map((i) => `${session}-${i}`);
  for (const id of ids) await post(stop(id, session));
  await until(() => got.length === 3, "three events");
  // Acks resolve well before the first retry (1 s): outstanding returns to 0 only by acks.
  const now = await countersWhen((c) => c.succeeded - before.succeeded === 3 && c.outstanding === 0);
  assert.equal(now.queued - before.queued, 3);
  assert.equal(now.succeeded - before.succeeded, 3);
  assert.equal(now.retried - before.retried, 0);
  assert.equal(now.outstanding, 0);
  assert.deepEqual(got, ids);
});

test("an event whose first delivery is not acked arrives again with the same id", async (t) => {
  const session = `node-${randomUUID()}`;
  const before = await counters();
  const got = [];
  await dashboard(t, { session, reliable: true }, (event, offset, ack) => {
    got.push({ id: event.id, offset, at: Date.now() });
    if (got.length > 1) ack();
  });
  await post(stop(`${session}-1`, session));
  await until(() => got.length === 2, "the retry", 5000);
  assert.equal(got[1].id, got[0].id, "the client de-duplicates by id");
  assert.equal(got[1].offset, got[0].offset);
  const gap = got[1].at - got[0].at;
  assert.ok(gap >= 900 && gap < 3000, `retried about 1 s later, not ${gap} ms`);
  const now = await countersWhen((c) => c.succeeded - before.succeeded === 1 && c.outstanding === 0);
  assert.equal(now.retried - before.retried, 1);
  assert.equal(now.succeeded - before.succeeded, 1);
  assert.equal(now.outstanding, 0);
});

test("a batching client gets event_batch arrays with the last offset", async (t) => {
  const session = `node-${randomUUID()}`;
  const { inbox } = await dashboard(t, { session, batch: true });
  const ids = [1, 2, 3].map((i) => `${session}-${i}`);
  for (const id of ids) await post(stop(id, session));
  const seen = [];
  while (seen.length < 3) {
    const [events, offset] = await inbox.next("event_batch");
    assert.ok(Array.isArray(events) && events.length > 0);
    assert.equal(offset, events[events.length - 1].offset);
    seen.push(...events.map((e) => e.id));
  }
  assert.deepEqual(seen, ids);
  assert.equal(inbox.all.filter(([n]) => n === "claude_event").length, 0);
});
