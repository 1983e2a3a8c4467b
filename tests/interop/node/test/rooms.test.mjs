// Rooms through the test-facing contract: "join", "leave", "to-room".

import assert from "node:assert/strict";
import { test } from "node:test";
import { client, connected, emitWithAckArgs } from "./helpers.mjs";

async function join(socket, room) {
  const { err, args } = await emitWithAckArgs(socket, 2000, "join", room);
  assert.equal(err, null);
  assert.deepEqual(args, [room]);
}

async function leave(socket, room) {
  const { err, args } = await emitWithAckArgs(socket, 2000, "leave", room);
  assert.equal(err, null);
  assert.deepEqual(args, [room]);
}

/** A round trip on `socket`: everything the server queued for it before is delivered by now. */
async function barrier(socket, inbox) {
  socket.emit("message", "barrier");
  assert.deepEqual(await inbox.next("message-back"), ["barrier"]);
}

test("to-room reaches the members of the room and no one else", async (t) => {
  const a = client(t, "/", { transports: ["websocket"] });
  const b = client(t, "/", { transports: ["polling"] });
  const outsider = client(t, "/");
  for (const c of [a, b, outsider]) await connected(c.socket, c.inbox);
  await join(a.socket, "r1");
  await join(b.socket, "r1");
  const { err, args } = await emitWithAckArgs(outsider.socket, 2000, "to-room", "r1", "news", 1, { x: "y" });
  assert.equal(err, null);
  assert.deepEqual(args, []);
  assert.deepEqual(await a.inbox.next("news"), [1, { x: "y" }]);
  assert.deepEqual(await b.inbox.next("news"), [1, { x: "y" }]);
  await barrier(outsider.socket, outsider.inbox);
  assert.equal(outsider.inbox.received("news"), false);
});

test("to-room includes the sender when it is a member", async (t) => {
  const a = client(t, "/", { transports: ["websocket"] });
  await connected(a.socket, a.inbox);
  await join(a.socket, "self-room");
  a.socket.emit("to-room", "self-room", "echoed", "hi");
  assert.deepEqual(await a.inbox.next("echoed"), ["hi"]);
});

test("after leave, to-room no longer reaches the socket", async (t) => {
  const a = client(t, "/", { transports: ["websocket"] });
  const b = client(t, "/", { transports: ["websocket"] });
  await connected(a.socket, a.inbox);
  await connected(b.socket, b.inbox);
  await join(a.socket, "r2");
  await join(b.socket, "r2");
  await leave(a.socket, "r2");
  await emitWithAckArgs(b.socket, 2000, "to-room", "r2", "after-leave", 7);
  assert.deepEqual(await b.inbox.next("after-leave"), [7]);
  await barrier(a.socket, a.inbox);
  assert.equal(a.inbox.received("after-leave"), false);
});

test("a socket in several rooms gets each room's events; rooms are independent", async (t) => {
  const a = client(t, "/", { transports: ["websocket"] });
  const b = client(t, "/", { transports: ["websocket"] });
  await connected(a.socket, a.inbox);
  await connected(b.socket, b.inbox);
  await join(a.socket, "red");
  await join(a.socket, "blue");
  await join(b.socket, "blue");
  await emitWithAckArgs(b.socket, 2000, "to-room", "red", "color", "red");
  await emitWithAckArgs(b.socket, 2000, "to-room", "blue", "color", "blue");
  assert.deepEqual(await a.inbox.next("color"), ["red"]);
  assert.deepEqual(await a.inbox.next("color"), ["blue"]);
  assert.deepEqual(await b.inbox.next("color"), ["blue"]);
  await barrier(b.socket, b.inbox);
  assert.equal(b.inbox.all.filter(([name]) => name === "color").length, 1);
});

test("to-room of an empty or unknown room reaches no one and is still acknowledged", async (t) => {
  const a = client(t, "/", { transports: ["websocket"] });
  await connected(a.socket, a.inbox);
  const { err, args } = await emitWithAckArgs(a.socket, 2000, "to-room", "nobody-here", "ghost");
  assert.equal(err, null);
  assert.deepEqual(args, []);
  await barrier(a.socket, a.inbox);
  assert.equal(a.inbox.received("ghost"), false);
});

test("a socket that connects again starts in no room", async (t) => {
  const a = client(t, "/", { transports: ["websocket"] });
  const b = client(t, "/", { transports: ["websocket"] });
  await connected(a.socket, a.inbox);
  await connected(b.socket, b.inbox);
  await join(a.socket, "r3");
  await join(b.socket, "r3");
  a.socket.disconnect();
  a.socket.connect();
  await connected(a.socket, a.inbox);
  await emitWithAckArgs(b.socket, 2000, "to-room", "r3", "after-reconnect", 1);
  assert.deepEqual(await b.inbox.next("after-reconnect"), [1]);
  await barrier(a.socket, a.inbox);
  assert.equal(a.inbox.received("after-reconnect"), false);
});
