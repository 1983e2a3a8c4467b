// Acknowledgements both ways, with timeouts: client → server ("message-with-ack", and an event
// the server never acknowledges) and server → client ("ask-ack" of the test-facing contract).

import assert from "node:assert/strict";
import { test } from "node:test";
import { client, connected, emitWithAckArgs } from "./helpers.mjs";

for (const transports of [["polling"], ["websocket"]]) {
  test(`client → server: "message-with-ack" is acknowledged with its own arguments (${transports})`, async (t) => {
    const { socket, inbox } = client(t, "/", { transports });
    await connected(socket, inbox);
    const { err, args } = await emitWithAckArgs(socket, 2000, "message-with-ack", 1, "two", { three: [3] });
    assert.equal(err, null);
    assert.deepEqual(args, [1, "two", { three: [3] }]);
  });
}

test("client → server: emitWithAck resolves with the first acknowledged argument", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"] });
  await connected(socket, inbox);
  assert.equal(await socket.timeout(2000).emitWithAck("message-with-ack", "only"), "only");
});

test("client → server: many acks in flight resolve to their own calls", async (t) => {
  const { socket, inbox } = client(t, "/");
  await connected(socket, inbox);
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => socket.timeout(3000).emitWithAck("message-with-ack", i)),
  );
  assert.deepEqual(results, Array.from({ length: 100 }, (_, i) => i));
});

test("client → server: an event the server does not acknowledge times out on the client", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"] });
  await connected(socket, inbox);
  const started = Date.now();
  const { err } = await emitWithAckArgs(socket, 200, "no-such-event", 1);
  assert.ok(err instanceof Error, "an error");
  assert.match(err.message, /timed out/);
  assert.ok(Date.now() - started >= 190, "not before the timeout");
  // The connection is still fine afterwards.
  const { args } = await emitWithAckArgs(socket, 2000, "message-with-ack", "after");
  assert.deepEqual(args, ["after"]);
});

test("client → server: ackTimeout with retries gives up after the retries", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"], ackTimeout: 100, retries: 2 });
  await connected(socket, inbox);
  await assert.rejects(socket.emitWithAck("no-such-event"), /operation has timed out/);
  assert.equal(await socket.emitWithAck("message-with-ack", "ok"), "ok");
});

for (const transports of [["polling"], ["websocket"]]) {
  test(`server → client: "ask-ack" delivers the client's ack arguments in "ack-result" (${transports})`, async (t) => {
    const { socket, inbox } = client(t, "/", { transports });
    await connected(socket, inbox);
    let asked;
    socket.on("question", (...args) => {
      const ack = args.pop();
      asked = args;
      ack("answer", 42, { nested: [true] });
    });
    socket.emit("ask-ack", "question", 1, { x: 2 });
    assert.deepEqual(await inbox.next("ack-result"), ["answer", 42, { nested: [true] }]);
    assert.deepEqual(asked, [1, { x: 2 }]);
  });
}

test("server → client: an ack with no arguments gives an \"ack-result\" with no arguments", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"] });
  await connected(socket, inbox);
  socket.on("empty", (ack) => ack());
  socket.emit("ask-ack", "empty");
  assert.deepEqual(await inbox.next("ack-result"), []);
});

test("server → client: a client that never acknowledges gets {timeout: true} after ~1000 ms", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"] });
  await connected(socket, inbox);
  let asked = false;
  socket.on("ignored", () => {
    asked = true;
  });
  const started = Date.now();
  socket.emit("ask-ack", "ignored", "x");
  assert.deepEqual(await inbox.next("ack-result", 4000), [{ timeout: true }]);
  const elapsed = Date.now() - started;
  assert.ok(asked, "the event reached the client");
  assert.ok(elapsed >= 900, `not before the 1000 ms timeout (took ${elapsed} ms)`);
});

test("server → client: a late ack after the timeout is ignored", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"] });
  await connected(socket, inbox);
  let lateAck;
  socket.on("slow", (ack) => {
    lateAck = ack;
  });
  socket.emit("ask-ack", "slow");
  assert.deepEqual(await inbox.next("ack-result", 4000), [{ timeout: true }]);
  lateAck("too late");
  // Barrier: a round trip after the late ack; no second "ack-result" may appear before it.
  socket.emit("message", "barrier");
  assert.deepEqual(await inbox.next("message-back"), ["barrier"]);
  assert.equal(inbox.all.filter(([name]) => name === "ack-result").length, 1);
  assert.equal(socket.connected, true);
});
