// Many clients at once: IORELAY_MANY_CLIENTS (run.sh: 1000 for smol, 200 for std) socket.io-client
// connections over websocket, all connected together, each with its own "auth"; then all leave.
//
// These run against a server of their own, `serve --conformance --ping-interval 2000
// --ping-timeout 2000`: with the conformance heartbeat (300 ms + 200 ms) a thousand connections
// in this one Node process mean 3,300 pings a second, and on a 2-core machine a busy moment of
// this process alone (not the server) then ends connections by ping timeout.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { io } from "socket.io-client";
import { deadline, freePort, startServer } from "./helpers.mjs";

const COUNT = Number(process.env.IORELAY_MANY_CLIENTS ?? 1000);
// Handshakes under way at once; the rest wait their turn. More makes this process's bursts
// longer and is no faster.
const IN_FLIGHT = 20;
const DEADLINE_MS = 60_000;
const PING_MS = 2000;

let server;
before(async () => {
  server = await startServer(await freePort(), [
    "--ping-interval",
    String(PING_MS),
    "--ping-timeout",
    String(PING_MS),
  ]);
});
after(() => server?.stop());

test(`${COUNT} websocket clients connected at once, each gets its own "auth"`, async (t) => {
  const sockets = [];
  const lost = new Map();
  t.after(() => {
    for (const s of sockets) s.disconnect();
  });

  function open(i) {
    return new Promise((resolve, reject) => {
      const socket = io(server.url, {
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
      socket.on("disconnect", (reason) => lost.set(reason, (lost.get(reason) ?? 0) + 1));
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
  t.diagnostic(`${COUNT} clients connected in ${connectMs} ms`);
  assert.deepEqual([...lost], [], "no client was disconnected while the others connected");
  assert.equal(sockets.length, COUNT);
  assert.equal(sockets.filter((s) => s.connected).length, COUNT);
  assert.equal(new Set(sockets.map((s) => s.id)).size, COUNT, "distinct socket ids");
  assert.equal(new Set(sockets.map((s) => s.io.engine.id)).size, COUNT, "distinct Engine.IO ids");

  // Every connection gets a heartbeat, and no one is dropped by it.
  const pinged = sockets.map((s) => new Promise((resolve) => s.io.engine.once("ping", resolve)));
  await deadline(Promise.all(pinged), 3 * PING_MS, "a ping on every connection");
  assert.deepEqual([...lost], [], "no client was disconnected by the heartbeat");

  // A round trip on every connection with all of them up.
  const echoes = sockets.map(
    (s, i) =>
      new Promise((resolve, reject) => {
        s.once("message-back", (n) => (n === i ? resolve() : reject(new Error(`${i} got ${n}`))));
        s.emit("message", i);
      }),
  );
  await deadline(Promise.all(echoes), 20_000, `${COUNT} echoes`);

  for (const s of sockets) s.disconnect();
  assert.equal(sockets.filter((s) => s.connected).length, 0);
});

test("the server accepts a new client after the crowd left", async (t) => {
  const socket = io(server.url, { forceNew: true, transports: ["websocket"], reconnection: false });
  t.after(() => socket.disconnect());
  const auth = new Promise((resolve) => socket.once("auth", resolve));
  assert.deepEqual(await deadline(auth, 5000, '"auth"'), {});
});
