// Namespaces multiplexed on one Engine.IO connection, the invalid-namespace error, and the
// CONNECT auth payload echoed back as "auth".

import assert from "node:assert/strict";
import { test } from "node:test";
import { client, connected, manager, next, socketOf } from "./helpers.mjs";

for (const transports of [["polling"], ["websocket"]]) {
  test(`"/" and "/custom" share one Engine.IO connection (${transports})`, async (t) => {
    const m = manager(t, { transports });
    const root = socketOf(m, "/");
    const custom = socketOf(m, "/custom");
    assert.deepEqual(await connected(root.socket, root.inbox), {});
    assert.deepEqual(await connected(custom.socket, custom.inbox), {});
    assert.notEqual(root.socket.id, custom.socket.id);
    assert.equal(Object.keys(m.nsps).length, 2);
    root.socket.emit("message", "on root");
    assert.deepEqual(await root.inbox.next("message-back"), ["on root"]);
    assert.equal(custom.inbox.received("message-back"), false);
  });
}

test('an unknown namespace gets connect_error "Invalid namespace"', async (t) => {
  const { socket } = client(t, "/nope", { transports: ["websocket"] });
  const [err] = await next(socket, "connect_error");
  assert.equal(err.message, "Invalid namespace");
  assert.equal(socket.connected, false);
});

test("an invalid namespace leaves the other namespaces of its connection working", async (t) => {
  const m = manager(t, { transports: ["polling"] });
  const root = socketOf(m, "/");
  const bad = socketOf(m, "/does-not-exist");
  const [err] = await next(bad.socket, "connect_error");
  assert.equal(err.message, "Invalid namespace");
  assert.deepEqual(await connected(root.socket, root.inbox), {});
  root.socket.emit("message", 1);
  assert.deepEqual(await root.inbox.next("message-back"), [1]);
});

test("the CONNECT auth payload comes back in \"auth\" on \"/\" and \"/custom\"", async (t) => {
  const m = manager(t, { transports: ["websocket"] });
  const rootAuth = { token: "abc", n: 1, nested: { list: [1, "two", null, true] }, unicode: "é✓" };
  const customAuth = { token: "xyz", other: 2.5 };
  const root = socketOf(m, "/", { auth: rootAuth });
  const custom = socketOf(m, "/custom", { auth: customAuth });
  assert.deepEqual(await connected(root.socket, root.inbox), rootAuth);
  assert.deepEqual(await connected(custom.socket, custom.inbox), customAuth);
});

test("auth given as a function is sent on connect (polling)", async (t) => {
  const { socket, inbox } = client(t, "/", {
    transports: ["polling"],
    auth: (cb) => cb({ from: "callback" }),
  });
  assert.deepEqual(await connected(socket, inbox), { from: "callback" });
});

test("a namespace can be left and joined again on the same connection", async (t) => {
  const m = manager(t, { transports: ["websocket"] });
  const root = socketOf(m, "/");
  const custom = socketOf(m, "/custom");
  await connected(root.socket, root.inbox);
  await connected(custom.socket, custom.inbox);
  const engineId = m.engine.id;
  custom.socket.disconnect();
  // A round trip on "/" first: the official server handles a DISCONNECT one tick late and
  // closes the connection if the CONNECT of the same namespace arrives in the same read.
  root.socket.emit("message", "barrier");
  assert.deepEqual(await root.inbox.next("message-back"), ["barrier"]);
  custom.socket.connect();
  assert.deepEqual(await connected(custom.socket, custom.inbox), {});
  assert.equal(m.engine.id, engineId);
  root.socket.emit("message", "still");
  assert.deepEqual(await root.inbox.next("message-back"), ["still"]);
});
