// Binary attachments both ways: BINARY_EVENT and BINARY_ACK from client to server and from server
// to client, over polling (base64 in the payload) and websocket (binary frames).

import assert from "node:assert/strict";
import { test } from "node:test";
import { client, connected, emitWithAckArgs } from "./helpers.mjs";

const small = Buffer.from([0, 1, 2, 3, 255, 254]);
const large = Buffer.alloc(100_000, 7).fill(42, 50_000);
const empty = Buffer.alloc(0);

function assertBuffer(actual, expected) {
  assert.ok(Buffer.isBuffer(actual) || actual instanceof ArrayBuffer, `binary, got ${typeof actual}`);
  assert.deepEqual(Buffer.from(actual), expected);
}

for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]]) {
  const label = transports.join("→");

  test(`binary echo: "message" with attachments comes back binary (${label})`, async (t) => {
    const { socket, inbox } = client(t, "/", { transports });
    await connected(socket, inbox);
    socket.emit("message", small, "text", { nested: { buf: large, list: [empty, 1] } });
    const [a, b, c] = await inbox.next("message-back");
    assertBuffer(a, small);
    assert.equal(b, "text");
    assertBuffer(c.nested.buf, large);
    assertBuffer(c.nested.list[0], empty);
    assert.equal(c.nested.list[1], 1);
  });

  test(`binary ack client → server: "message-with-ack" acks binary (${label})`, async (t) => {
    const { socket, inbox } = client(t, "/", { transports });
    await connected(socket, inbox);
    const { err, args } = await emitWithAckArgs(socket, 3000, "message-with-ack", { b: small }, large);
    assert.equal(err, null);
    assertBuffer(args[0].b, small);
    assertBuffer(args[1], large);
  });

  test(`binary ack server → client: "ask-ack" with binary both ways (${label})`, async (t) => {
    const { socket, inbox } = client(t, "/", { transports });
    await connected(socket, inbox);
    let asked;
    socket.on("bin-question", (...args) => {
      const ack = args.pop();
      asked = args;
      ack(Buffer.from("reply"), { inner: small });
    });
    socket.emit("ask-ack", "bin-question", small, { deep: [large] });
    const [reply, obj] = await inbox.next("ack-result");
    assertBuffer(reply, Buffer.from("reply"));
    assertBuffer(obj.inner, small);
    assertBuffer(asked[0], small);
    assertBuffer(asked[1].deep[0], large);
  });
}

test("binary and text events interleave in order", async (t) => {
  const { socket, inbox } = client(t, "/", { transports: ["websocket"] });
  await connected(socket, inbox);
  for (let i = 0; i < 20; i++) {
    if (i % 2) socket.emit("message", i, Buffer.from([i]));
    else socket.emit("message", i);
  }
  for (let i = 0; i < 20; i++) {
    const args = await inbox.next("message-back");
    assert.equal(args[0], i);
    if (i % 2) assertBuffer(args[1], Buffer.from([i]));
    else assert.equal(args.length, 1);
  }
});
