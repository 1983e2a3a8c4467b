// Many clients at once: IORELAY_MANY_CLIENTS (run.sh: 1000 for smol, 200 for std) socket.io-client
// connections over websocket, all connected together, each with its "auth"; then all disconnect.

import assert from "node:assert/strict";
import { test } from "node:test";
import { io } from "socket.io-client";
import { URL, deadline } from "./helpers.mjs";

const COUNT = Number(process.env.IORELAY_MANY_CLIENTS ?? 1000);
// Handshakes under way at once; the rest wait their turn. More makes the bursts block this
// process past the 200 ms pingTimeout of conformance mode, and is no faster.
const IN_FLIGHT = 20;
const DEADLINE_MS = 60_000;

test(`${COUNT} websocket clients connected at once, each gets its "auth"`, async (t) => {
  const sockets = [];
  let lost = 0;
  const reasons = new Map();
  t.after(() => {
    for (const s of sockets) s.disconnect();
  });

  function open(i) {
    return new Promise((resolve, reject) => {
      const socket = io(URL, {
        forceNew: true,
        transports: ["websocket"],
        reconnection: false,
        auth: { client: i },
      });
      sockets.push(socket);
      socket.once("auth", (auth) => {
        if (auth?.client === i) resolve();
        else reject(new Error(`client ${i} got auth ${JSON.stringify(auth)}`));
      });
      socket.once("connect_error", (err) => reject(new Error(`client ${i}: ${err.message}`)));
      socket.on("disconnect", (reason) => {
        lost++;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      });
    });
  }

  let nextIndex = 0;
  async function worker() {
    while (nextIndex < COUNT) await open(nextIndex++);
  }
  const started = Date.now();
  await deadline(
    Promise.all(Array.from({ length: Math.min(IN_FLIGHT, COUNT) }, worker)),
    DEADLINE_MS,
    `${COUNT} clients to connect`,
  );
  const connectMs = Date.now() - started;
  assert.equal(sockets.length, COUNT);
  assert.equal(lost, 0, `no client was disconnected while the others connected: ${JSON.stringify([...reasons])}`);
  assert.equal(sockets.filter((s) => s.connected).length, COUNT);
  assert.equal(new Set(sockets.map((s) => s.id)).size, COUNT, "distinct socket ids");

  // Everyone is still up through a few heartbeats (pingInterval 300 ms + pingTimeout 200 ms).
  const engines = sockets.map((s) => s.io.engine);
  const pinged = engines.map((e) => new Promise((resolve) => e.once("ping", resolve)));
  await deadline(Promise.all(pinged), 10_000, "a ping on every connection");
  assert.equal(lost, 0, "no client was disconnected by the heartbeat");

  // A round trip still works with all of them connected.
  const probe = sockets[COUNT - 1];
  const echoed = new Promise((resolve) => probe.once("message-back", (...args) => resolve(args)));
  probe.emit("message", "with everyone");
  assert.deepEqual(await deadline(echoed, 5000, '"message-back"'), ["with everyone"]);

  for (const s of sockets) s.disconnect();
  assert.equal(sockets.filter((s) => s.connected).length, 0);
  t.diagnostic(`${COUNT} clients connected in ${connectMs} ms`);
});

test("the server accepts new clients after the crowd left", async (t) => {
  const socket = io(URL, { forceNew: true, transports: ["websocket"], reconnection: false });
  t.after(() => socket.disconnect());
  const auth = new Promise((resolve) => socket.once("auth", resolve));
  assert.deepEqual(await deadline(auth, 5000, '"auth"'), {});
});
