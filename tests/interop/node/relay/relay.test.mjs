// Issue 4's relay behaviour with the stock socket.io-client against the relay server
// (IORELAY_RELAY_URL, `serve --port 0` without --conformance): events posted over HTTP arrive
// live as `claude_event` with `id` and `session_id` over websocket and polling, a late joiner's
// `event_history` holds the earlier events, a session filter narrows the stream, an id posted
// three times arrives once, 500 events posted on one keep-alive connection arrive once each,
// in order; `subscribe` and `history` answer through acks.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { WAIT_MS, until } from "../test/helpers.mjs";
import { barrier, count, dashboard, ids, live, poster, stop } from "./helpers.mjs";

test("websocket and late polling dashboards get legacy and hook events live and in event_history", async (t) => {
  const session = `node-${randomUUID()}`;
  const { post } = poster(t);
  const ws = await dashboard(t, "websocket", { session });
  assert.deepEqual(ws.history, { events: [], count: 0, total_available: 0 });
  const legacy = { namespace: "", event: "claude_event",
    data: { id: `${session}-legacy`, type: "hook", subtype: "stop", session_id: session, data: { reason: "done" } } };
  assert.equal((await post("/api/events", legacy)).status, 204);
  const hook = { id: `${session}-hook`, hook_event_name: "PostToolUse", session_id: session,
    cwd: "/srv/app", tool_name: "Edit", tool_use_id: "tu-1", tool_response: { ok: true } };
  assert.equal((await post("/api/hooks", hook)).status, 204);
  const early = await live(ws.inbox, 2);
  assert.deepEqual(ids(early), [`${session}-legacy`, `${session}-hook`]);
  assert.deepEqual(early.map((e) => e.session_id), [session, session]);
  assert.deepEqual(early[0].data, { reason: "done" });
  assert.equal(early[1].subtype, "post_tool_use");
  assert.equal(early[1].project, "app");
  assert.deepEqual(early[1].data, hook);

  const late = await dashboard(t, "polling", { session });
  assert.deepEqual(late.history, { events: early, count: 2, total_available: 2 });
  await post("/api/events", stop(`${session}-after`, session));
  for (const d of [ws, late]) assert.deepEqual(ids(await live(d.inbox, 1)), [`${session}-after`]);
  assert.equal(ws.socket.io.engine.transport.name, "websocket");
  assert.equal(late.socket.io.engine.transport.name, "polling");
});

test("a session-filtered dashboard receives only its session", async (t) => {
  const session = `node-${randomUUID()}`;
  const { post } = poster(t);
  const mine = await dashboard(t, "polling", { session });
  const everyone = await dashboard(t, "websocket", undefined);
  await post("/api/events", stop(`${session}-1`, session));
  await post("/api/events", stop(`${session}-2`, `${session}-other`));
  await post("/api/events", stop(`${session}-3`, session));
  assert.deepEqual(ids(await live(mine.inbox, 2)), [`${session}-1`, `${session}-3`]);
  await barrier(mine.socket, { session });
  assert.equal(count(mine.inbox, "claude_event"), 2);
  const ours = () => everyone.inbox.all.filter(([n, e]) => n === "claude_event" && e.id.startsWith(session));
  await until(() => ours().length === 3, "the unfiltered dashboard's three events");
  assert.deepEqual(ours().map(([, e]) => e.id), [`${session}-1`, `${session}-2`, `${session}-3`]);
});

test("an id posted three times arrives once", async (t) => {
  const session = `node-${randomUUID()}`;
  const { post } = poster(t);
  const ws = await dashboard(t, "websocket", { session });
  for (let i = 0; i < 3; i++) await post("/api/events", stop(`${session}-dup`, session));
  await post("/api/events", stop(`${session}-next`, session));
  assert.deepEqual(ids(await live(ws.inbox, 2)), [`${session}-dup`, `${session}-next`]);
  await barrier(ws.socket, { session });
  assert.equal(count(ws.inbox, "claude_event"), 2);
});

test("500 events posted on one keep-alive connection arrive once each, in order", async (t) => {
  const session = `node-${randomUUID()}`;
  const { post, sockets } = poster(t);
  const ws = await dashboard(t, "websocket", { session });
  const polling = await dashboard(t, "polling", { session });
  const expected = Array.from({ length: 500 }, (_, i) => `${session}-${String(i).padStart(3, "0")}`);
  for (const id of expected) assert.equal((await post("/api/events", stop(id, session))).status, 204);
  assert.equal(sockets.size, 1, "one connection carried every event");
  for (const d of [ws, polling]) {
    const events = await live(d.inbox, 500, 30000);
    assert.deepEqual(ids(events), expected);
    const offsets = events.map((e) => Number(e.offset));
    assert.deepEqual(offsets, offsets.map((_, i) => offsets[0] + i));
    await barrier(d.socket, { session });
    assert.equal(count(d.inbox, "claude_event"), 500);
  }
});

test("subscribe, history and unknown events are answered through acks", async (t) => {
  const session = `node-${randomUUID()}`;
  const { post } = poster(t);
  for (let i = 1; i <= 4; i++) await post("/api/events", stop(`${session}-${i}`, session));
  const ws = await dashboard(t, "websocket", { session: "nobody" });
  const subscribed = await ws.socket.timeout(WAIT_MS).emitWithAck("subscribe", { session });
  assert.deepEqual(subscribed, { ok: true, subscription: { session, project: null, types: null } });
  const newest = await ws.socket.timeout(WAIT_MS).emitWithAck("history", { session, limit: 2 });
  assert.deepEqual(ids(newest.events), [`${session}-3`, `${session}-4`]);
  assert.equal(newest.total_available, 4);
  const older = await ws.socket.timeout(WAIT_MS).emitWithAck("history", { session, before: newest.events[0].offset });
  assert.deepEqual(ids(older.events), [`${session}-1`, `${session}-2`]);
  const unknown = await ws.socket.timeout(WAIT_MS).emitWithAck("launch", {});
  assert.equal(unknown.error, "unknown event");
  await post("/api/events", stop(`${session}-5`, session));
  assert.deepEqual(ids(await live(ws.inbox, 1)), [`${session}-5`]);
});
