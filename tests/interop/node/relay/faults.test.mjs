// Issue 5's recovery acceptance and restart fault test with the stock socket.io-client:
//
// - connection state recovery: a client whose transport is closed (`socket.io.engine.close()`)
//   while ten events are posted reconnects with `socket.recovered === true` and receives the
//   ten once, in order, and no `event_history` (over websocket and over polling);
// - the relay restarted (SIGTERM, then started again on the same port and data dir) under
//   connected clients on every transport: each reconnects on its own and receives the events
//   posted before the restart in `event_history`, restored from the store, then live events.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { io } from "socket.io-client";
import { Inbox, WAIT_MS, freePort, next, startServer } from "../test/helpers.mjs";
import { RELAY_URL, barrier, count, ids, live, poster, stop } from "./helpers.mjs";

/** Reconnection quick and deterministic; the first attempt waits `delay` ms. */
const reconnecting = (delay) => ({
  forceNew: true,
  reconnection: true,
  reconnectionDelay: delay,
  reconnectionDelayMax: delay,
  randomizationFactor: 0,
});

for (const transport of ["websocket", "polling"]) {
  test(`a client whose ${transport} transport closed recovers the ten events posted meanwhile, once, in order`, async (t) => {
    const session = `node-recover-${randomUUID()}`;
    const { post } = poster(t);
    // The first reconnection attempt comes after the ten POSTs (a few ms on loopback).
    const socket = io(RELAY_URL, { ...reconnecting(500), transports: [transport], auth: { session } });
    t.after(() => socket.disconnect());
    const inbox = new Inbox(socket);
    await inbox.next("event_history");
    assert.equal((await post("/api/events", stop(`${session}-seen`, session))).status, 204);
    assert.deepEqual(ids(await live(inbox, 1)), [`${session}-seen`]);
    assert.equal(socket.recovered, false, "a first connection is not a recovery");

    const disconnected = next(socket, "disconnect");
    socket.io.engine.close();
    await disconnected;
    const reconnected = next(socket, "connect", 10000);
    const missed = Array.from({ length: 10 }, (_, i) => `${session}-missed-${i}`);
    for (const id of missed) assert.equal((await post("/api/events", stop(id, session))).status, 204);
    await reconnected;

    assert.equal(socket.recovered, true, "the relay recovered the session");
    assert.deepEqual(ids(await live(inbox, 10)), missed);
    await barrier(socket, { session });
    assert.equal(count(inbox, "claude_event"), 11, "each event once");
    assert.equal(count(inbox, "event_history"), 1, "no history after a recovery");
  });
}

test("clients on every transport reconnect to a restarted relay and receive the history", async (t) => {
  const port = await freePort();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "iorelay-restart-"));
  const env = { IORELAY_DATA_DIR: path.join(scratch, "data"), IORELAY_STATE_DIR: path.join(scratch, "state") };
  const start = () => startServer(port, [], 10000, { relay: true, env });
  let server = await start();
  t.after(async () => {
    await server.stop("SIGKILL");
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  const session = `node-restart-${randomUUID()}`;
  const clients = [["websocket"], ["polling"], ["polling", "websocket"]].map((transports) => {
    const socket = io(server.url, { ...reconnecting(200), transports, auth: { session } });
    t.after(() => socket.disconnect());
    return { socket, inbox: new Inbox(socket), transports };
  });
  for (const { inbox } of clients) await inbox.next("event_history");
  const before = Array.from({ length: 5 }, (_, i) => `${session}-before-${i}`);
  {
    const { post } = poster(t, server.url);
    for (const id of before) assert.equal((await post("/api/events", stop(id, session))).status, 204);
  }
  for (const { inbox } of clients) assert.deepEqual(ids(await live(inbox, 5)), before);

  const disconnected = clients.map(({ socket }) => next(socket, "disconnect"));
  const exit = await server.stop("SIGTERM");
  assert.equal(exit.code, 0, "a graceful stop");
  for (const [reason] of await Promise.all(disconnected)) {
    assert.match(reason, /^(transport close|transport error)$/);
  }
  for (const { socket } of clients) assert.equal(socket.active, true, "still reconnecting");

  const reconnected = clients.map(({ socket }) => next(socket, "connect", 15000));
  server = await start();
  await Promise.all(reconnected);
  for (const { socket, inbox, transports } of clients) {
    assert.equal(socket.recovered, false, `${transports}: a new relay cannot recover`);
    const [history] = await inbox.next("event_history", WAIT_MS);
    assert.deepEqual(ids(history.events), before, `${transports}: the history survived`);
  }
  const { post } = poster(t, server.url);
  assert.equal((await post("/api/events", stop(`${session}-after`, session))).status, 204);
  for (const { inbox } of clients) assert.deepEqual(ids(await live(inbox, 1)), [`${session}-after`]);
});
