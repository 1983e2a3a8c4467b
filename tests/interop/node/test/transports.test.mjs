// Transports: polling only, websocket only, and the polling → websocket upgrade.

import assert from "node:assert/strict";
import { test } from "node:test";
import { client, connected, next, until } from "./helpers.mjs";

test("polling only: connects, gets auth {}, echoes, never upgrades", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["polling"] });
  assert.deepEqual(await connected(socket, inbox), {});
  socket.emit("message", "hello", 1, { a: [true, null] });
  assert.deepEqual(await inbox.next("message-back"), ["hello", 1, { a: [true, null] }]);
  assert.equal(socket.io.engine.transport.name, "polling");
});

test("websocket only: connects, gets auth {}, echoes", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"] });
  assert.deepEqual(await connected(socket, inbox), {});
  assert.equal(socket.io.engine.transport.name, "websocket");
  socket.emit("message", "hello", 2);
  assert.deepEqual(await inbox.next("message-back"), ["hello", 2]);
});

test("polling → websocket upgrade: upgrades and loses no message sent around it", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["polling", "websocket"] });
  const engine = socket.io.engine;
  const opened = next(engine, "open");
  const upgraded = next(engine, "upgrade");
  const count = 50;
  // Buffered until CONNECT, then sent over polling while the websocket probe runs.
  for (let i = 0; i < count; i++) socket.emit("message", i);
  await opened;
  assert.equal(engine.transport.name, "polling");
  assert.deepEqual(await connected(socket, inbox), {});
  const [transport] = await upgraded;
  assert.equal(transport.name, "websocket");
  assert.equal(engine.transport.name, "websocket");
  for (let i = count; i < 2 * count; i++) socket.emit("message", i);
  for (let i = 0; i < 2 * count; i++) assert.deepEqual(await inbox.next("message-back"), [i]);
});

test("a connection stays up across several heartbeats (pingInterval 300 ms)", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"] });
  await connected(socket, inbox);
  let pings = 0;
  socket.io.engine.on("ping", () => pings++);
  await until(() => pings >= 4, "4 pings", 5000);
  assert.equal(socket.connected, true);
  socket.emit("message", "still here");
  assert.deepEqual(await inbox.next("message-back"), ["still here"]);
});

test("an id is shared by the Engine.IO session across the upgrade", async (t) => {
  const { socket, inbox } = client(t, "/");
  await connected(socket, inbox);
  const sid = socket.io.engine.id;
  await until(() => socket.io.engine.transport.name === "websocket", "the upgrade");
  assert.equal(socket.io.engine.id, sid);
});
