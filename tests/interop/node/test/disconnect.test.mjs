// Server-side disconnect ("server-disconnect" of the test-facing contract).

import assert from "node:assert/strict";
import { test } from "node:test";
import { client, connected, manager, next, socketOf } from "./helpers.mjs";

for (const transports of [["polling"], ["websocket"]]) {
  test(`server-disconnect: the client sees "io server disconnect" and does not reconnect (${transports})`, async (t) => {
    const { socket, inbox } = client(t, "/", {
      transports,
      reconnection: true,
      reconnectionDelay: 50,
      reconnectionDelayMax: 100,
    });
    await connected(socket, inbox);
    const disconnected = next(socket, "disconnect");
    socket.emit("server-disconnect");
    const [reason] = await disconnected;
    assert.equal(reason, "io server disconnect");
    assert.equal(socket.connected, false);
    assert.equal(socket.active, false, "no automatic reconnection after a server disconnect");
  });
}

test("server-disconnect on \"/\" leaves \"/custom\" and the Engine.IO connection up", async (t) => {
  const m = manager(t, { transports: ["websocket"] });
  const root = socketOf(m, "/");
  const custom = socketOf(m, "/custom");
  await connected(root.socket, root.inbox);
  await connected(custom.socket, custom.inbox);
  const engineId = m.engine.id;
  const disconnected = next(root.socket, "disconnect");
  root.socket.emit("server-disconnect");
  const [reason] = await disconnected;
  assert.equal(reason, "io server disconnect");
  assert.equal(custom.socket.connected, true);
  // The same connection can connect "/" again.
  root.socket.connect();
  assert.deepEqual(await connected(root.socket, root.inbox), {});
  assert.equal(m.engine.id, engineId);
  assert.equal(custom.socket.connected, true);
  root.socket.emit("message", "back");
  assert.deepEqual(await root.inbox.next("message-back"), ["back"]);
});

test("a client can connect again after a server-disconnect", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["polling"] });
  await connected(socket, inbox);
  const firstId = socket.id;
  const disconnected = next(socket, "disconnect");
  socket.emit("server-disconnect");
  await disconnected;
  socket.connect();
  assert.deepEqual(await connected(socket, inbox), {});
  assert.notEqual(socket.id, firstId);
});
