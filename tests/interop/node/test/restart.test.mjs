// Client reconnection after a server restart. Each test starts its own server (the command in
// IORELAY_SERVER_ARGV) on a port it picked, stops it, and starts it again on the same port.

import assert from "node:assert/strict";
import { test } from "node:test";
import { io } from "socket.io-client";
import { Inbox, connected, freePort, next, startServer } from "./helpers.mjs";

const cases = [
  { signal: "SIGTERM", transports: ["polling", "websocket"] },
  { signal: "SIGKILL", transports: ["websocket"] },
  { signal: "SIGKILL", transports: ["polling"] },
];

for (const { signal, transports } of cases) {
  test(`the client reconnects after the server is stopped (${signal}) and started again (${transports.join("→")})`, async (t) => {
    const port = await freePort();
    let server = await startServer(port);
    t.after(() => server.stop("SIGKILL"));
    const socket = io(server.url, {
      forceNew: true,
      transports,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
      auth: { session: "restart" },
    });
    t.after(() => socket.disconnect());
    const inbox = new Inbox(socket);
    assert.deepEqual(await connected(socket, inbox), { session: "restart" });
    const firstId = socket.id;

    const disconnected = next(socket, "disconnect", 5000);
    await server.stop(signal);
    const [reason] = await disconnected;
    assert.match(reason, /^(transport close|transport error|ping timeout)$/);
    assert.equal(socket.active, true, "the client keeps trying to reconnect");

    const reconnected = next(socket.io, "reconnect", 15000);
    server = await startServer(port);
    await reconnected;
    assert.deepEqual(await connected(socket, inbox, 5000), { session: "restart" });
    assert.notEqual(socket.id, firstId);
    socket.emit("message", "after restart");
    assert.deepEqual(await inbox.next("message-back"), ["after restart"]);
  });
}
