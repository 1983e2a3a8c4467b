// Socket.IO v5 conformance: one check per test of the public Socket.IO v5
// protocol test suite (32 tests), written for node:test.
//
// Server under test: a Socket.IO server at /socket.io/ with pingInterval 300,
// pingTimeout 200, maxPayload 1e6, connectTimeout 1000, where
//   - namespace "/" emits "auth" (the handshake auth, {} if none) on connect,
//     answers "message" with "message-back" and the same arguments, and
//     acknowledges "message-with-ack" with the same arguments;
//   - namespace "/custom" emits "auth" on connect;
//   - any other namespace is refused.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  HEARTBEAT_TEST_TIMEOUT,
  PING_INTERVAL,
  PING_TIMEOUT,
  TEST_TIMEOUT,
  TIMING_MARGIN,
  WAIT,
  bytes,
  checkOpenPacket,
  clientPool,
  delay,
  endpoint,
  openPollingSession,
  request,
} from "./helpers.mjs";

const PATH = "/socket.io";
const url = (query) => endpoint(PATH, query);
const wsUrl = (query) => endpoint(PATH, query, { ws: true });
const sessionUrl = (sid) => url(`EIO=4&transport=polling&sid=${sid}`);
const WS_QUERY = "EIO=4&transport=websocket";

const quick = { timeout: TEST_TIMEOUT };
const slow = { timeout: HEARTBEAT_TEST_TIMEOUT };

/** Checks a CONNECT reply ("40" + optional "/nsp," + {"sid": ...}). */
function checkConnectReply(text, prefix) {
  assert.equal(typeof text, "string");
  assert.ok(text.startsWith(prefix), `expected ${JSON.stringify(prefix)}..., got ${JSON.stringify(text)}`);
  const body = JSON.parse(text.slice(prefix.length));
  assert.deepEqual(Object.keys(body), ["sid"], "the CONNECT reply must carry exactly one key, sid");
  assert.equal(typeof body.sid, "string");
}

/**
 * Engine.IO handshake over WebSocket, then CONNECT to "/" and the "auth"
 * event that follows; returns the client, ready for events.
 */
async function connectMain(open) {
  const client = open(wsUrl(WS_QUERY));
  await client.nextOnce(); // Engine.IO open packet
  client.send("40");
  await client.nextOnce(); // CONNECT reply
  await client.nextOnce(); // "auth" event
  return client;
}

/** Collects `count` frames, skipping Engine.IO pings (as upstream does). */
async function framesSkippingPings(client, count) {
  const frames = [];
  while (frames.length < count) {
    const message = await client.nextMessage();
    if (message.data !== "2") frames.push(message);
  }
  return frames;
}

function assertBinaryFrame(message, expected) {
  assert.equal(message.binary, true, "attachments must be sent as binary frames");
  assert.deepEqual(message.data, expected);
}

describe("Engine.IO protocol", () => {
  describe("handshake", () => {
    describe("HTTP long-polling", () => {
      it("should successfully open a session", quick, async () => {
        const { status, body } = await request(url("EIO=4&transport=polling"));
        assert.equal(status, 200);
        checkOpenPacket(body, ["websocket"]);
      });

      it("should fail with an invalid 'EIO' query parameter", quick, async () => {
        for (const query of ["transport=polling", "EIO=abc&transport=polling"]) {
          const { status } = await request(url(query));
          assert.equal(status, 400, `GET ?${query}`);
        }
      });

      it("should fail with an invalid 'transport' query parameter", quick, async () => {
        for (const query of ["EIO=4", "EIO=4&transport=abc"]) {
          const { status } = await request(url(query));
          assert.equal(status, 400, `GET ?${query}`);
        }
      });

      it("should fail with an invalid request method", quick, async () => {
        for (const method of ["POST", "PUT"]) {
          const { status } = await request(url("EIO=4&transport=polling"), { method });
          assert.equal(status, 400, `${method} without sid`);
        }
      });
    });

    describe("WebSocket", () => {
      it("should successfully open a session", quick, async (t) => {
        const client = clientPool(t)(wsUrl(WS_QUERY));
        checkOpenPacket((await client.nextOnce()).data, []);
        client.assertNoError();
      });

      // Upstream starts these waits without awaiting them (so they cannot
      // fail); we do await the close.
      it("should fail with an invalid 'EIO' query parameter", quick, async (t) => {
        const open = clientPool(t);
        for (const query of ["transport=websocket", "EIO=abc&transport=websocket"]) {
          await open(wsUrl(query)).waitClose();
        }
      });

      it("should fail with an invalid 'transport' query parameter", quick, async (t) => {
        const open = clientPool(t);
        for (const query of ["EIO=4", "EIO=4&transport=abc"]) {
          await open(wsUrl(query)).waitClose();
        }
      });
    });
  });

  describe("heartbeat", () => {
    describe("HTTP long-polling", () => {
      it("should send ping/pong packets", slow, async () => {
        const sid = await openPollingSession(PATH);
        for (let round = 0; round < 3; round++) {
          const poll = await request(sessionUrl(sid));
          assert.equal(poll.status, 200);
          assert.equal(poll.body, "2", `ping #${round + 1}`);
          const pong = await request(sessionUrl(sid), { method: "POST", body: "3" });
          assert.equal(pong.status, 200);
        }
      });

      it("should close the session upon ping timeout", slow, async () => {
        const sid = await openPollingSession(PATH);
        await delay(PING_INTERVAL + PING_TIMEOUT + TIMING_MARGIN);
        const poll = await request(sessionUrl(sid));
        assert.equal(poll.status, 400, "the session must be gone");
      });
    });

    describe("WebSocket", () => {
      it("should send ping/pong packets", slow, async (t) => {
        const client = clientPool(t)(wsUrl(WS_QUERY));
        await client.nextOnce(); // open packet
        for (let round = 0; round < 3; round++) {
          assert.equal((await client.nextOnce()).data, "2", `ping #${round + 1}`);
          client.send("3");
        }
        client.assertNoError();
      });

      it("should close the session upon ping timeout", slow, async (t) => {
        const client = clientPool(t)(wsUrl(WS_QUERY));
        await client.waitClose(HEARTBEAT_TEST_TIMEOUT - 500);
        client.assertNoError();
      });
    });
  });

  describe("close", () => {
    describe("HTTP long-polling", () => {
      it("should forcefully close the session", quick, async () => {
        const sid = await openPollingSession(PATH);
        const [poll] = await Promise.all([
          request(sessionUrl(sid)),
          // The two requests travel on different connections: give the poll time to be
          // pending on the server before the close, or a busy machine may deliver the close
          // first and the poll then finds no session (a race in the upstream test).
          delay(20).then(() => request(sessionUrl(sid), { method: "POST", body: "1" })),
        ]);
        assert.equal(poll.status, 200);
        assert.equal(poll.body, "6", "the pending poll must be released with a noop packet");
        const after = await request(sessionUrl(sid));
        assert.equal(after.status, 400, "the session must be gone");
      });
    });

    describe("WebSocket", () => {
      it("should forcefully close the session", quick, async (t) => {
        const client = clientPool(t)(wsUrl(WS_QUERY));
        await client.nextOnce(); // open packet
        client.send("1");
        await client.waitClose();
        client.assertNoError();
      });
    });
  });

  describe("upgrade", () => {
    async function probe(open) {
      const sid = await openPollingSession(PATH);
      const client = open(wsUrl(`${WS_QUERY}&sid=${sid}`));
      await client.waitOpen();
      client.send("2probe");
      assert.equal((await client.nextOnce()).data, "3probe");
      return { sid, client };
    }

    it("should successfully upgrade from HTTP long-polling to WebSocket", quick, async (t) => {
      const { client } = await probe(clientPool(t));
      client.send("5");
      client.assertNoError();
    });

    it("should ignore HTTP requests with same sid after upgrade", quick, async (t) => {
      const { sid, client } = await probe(clientPool(t));
      client.send("5");
      const poll = await request(sessionUrl(sid));
      assert.equal(poll.status, 400, "polling must be refused once upgraded");
      client.assertNoError();
    });

    it("should ignore WebSocket connection with same sid after upgrade", quick, async (t) => {
      const open = clientPool(t);
      const { sid, client } = await probe(open);
      client.send("5");
      const second = open(wsUrl(`${WS_QUERY}&sid=${sid}`));
      await second.waitClose();
      // No error handler upstream: the upgrade must be accepted, then closed.
      second.assertNoError();
      client.assertNoError();
    });
  });
});

describe("Socket.IO protocol", () => {
  describe("connect", () => {
    async function connectWith(t, connectPacket, replyPrefix, expectedAuth) {
      const client = clientPool(t)(wsUrl(WS_QUERY));
      await client.nextOnce(); // Engine.IO open packet
      client.send(connectPacket);
      checkConnectReply((await client.nextOnce()).data, replyPrefix);
      assert.equal((await client.nextOnce()).data, expectedAuth);
      client.assertNoError();
    }

    it("should allow connection to the main namespace", quick, async (t) => {
      await connectWith(t, "40", "40", '42["auth",{}]');
    });

    it("should allow connection to the main namespace with a payload", quick, async (t) => {
      await connectWith(t, '40{"token":"123"}', "40", '42["auth",{"token":"123"}]');
    });

    it("should allow connection to a custom namespace", quick, async (t) => {
      await connectWith(t, "40/custom,", "40/custom,", '42/custom,["auth",{}]');
    });

    it("should allow connection to a custom namespace with a payload", quick, async (t) => {
      await connectWith(t, '40/custom,{"token":"abc"}', "40/custom,", '42/custom,["auth",{"token":"abc"}]');
    });

    it("should disallow connection to an unknown namespace", quick, async (t) => {
      const client = clientPool(t)(wsUrl(WS_QUERY));
      await client.nextOnce(); // Engine.IO open packet
      client.send("40/random");
      assert.equal((await client.nextOnce()).data, '44/random,{"message":"Invalid namespace"}');
      client.assertNoError();
    });

    it("should disallow connection with an invalid handshake", quick, async (t) => {
      const client = clientPool(t)(wsUrl(WS_QUERY));
      await client.nextOnce(); // Engine.IO open packet
      client.send("4abc");
      await client.waitClose();
      client.assertNoError();
    });

    // Upstream never answers pings here, so its test is also satisfied by the
    // ping timeout (500 ms). We answer them, so only the connect timeout
    // (1000 ms) can close the connection within the test's 2 s budget.
    it("should close the connection if no handshake is received", quick, async (t) => {
      const client = clientPool(t)(wsUrl(WS_QUERY));
      const started = Date.now();
      client.ws.on("message", (data, isBinary) => {
        if (!isBinary && data.toString() === "2") client.send("3");
      });
      await client.waitClose(TEST_TIMEOUT - 300);
      client.assertNoError();
      assert.ok(Date.now() - started < TEST_TIMEOUT);
    });
  });

  describe("disconnect", () => {
    it("should disconnect from the main namespace", quick, async (t) => {
      const client = await connectMain(clientPool(t));
      client.send("41");
      // Nothing is sent back for the DISCONNECT and the Engine.IO session
      // stays open: the next frame is the next ping.
      assert.equal((await client.nextOnce(WAIT)).data, "2");
      client.assertNoError();
    });

    it("should connect then disconnect from a custom namespace", quick, async (t) => {
      const client = await connectMain(clientPool(t));
      // The ping is deliberately left unanswered, as upstream: the rest must
      // happen within pingTimeout.
      assert.equal((await client.nextOnce()).data, "2");
      client.send("40/custom");
      checkConnectReply((await client.nextOnce()).data, "40/custom,");
      assert.equal((await client.nextOnce()).data, '42/custom,["auth",{}]');
      client.send("41/custom");
      client.send('42["message","message to main namespace"]');
      assert.equal((await client.nextOnce()).data, '42["message-back","message to main namespace"]');
      client.assertNoError();
    });
  });

  describe("message", () => {
    it("should send a plain-text packet", quick, async (t) => {
      const client = await connectMain(clientPool(t));
      client.send('42["message",1,"2",{"3":[true]}]');
      assert.equal((await client.nextOnce()).data, '42["message-back",1,"2",{"3":[true]}]');
      client.assertNoError();
    });

    it("should send a packet with binary attachments", quick, async (t) => {
      const client = await connectMain(clientPool(t));
      client.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      client.send(bytes(1, 2, 3));
      client.send(bytes(4, 5, 6));
      const [header, first, second] = await framesSkippingPings(client, 3);
      assert.equal(header.data, '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assertBinaryFrame(first, bytes(1, 2, 3));
      assertBinaryFrame(second, bytes(4, 5, 6));
      client.assertNoError();
    });

    it("should send a plain-text packet with an ack", quick, async (t) => {
      const client = await connectMain(clientPool(t));
      client.send('42456["message-with-ack",1,"2",{"3":[false]}]');
      assert.equal((await client.nextOnce()).data, '43456[1,"2",{"3":[false]}]');
      client.assertNoError();
    });

    it("should send a packet with binary attachments and an ack", quick, async (t) => {
      const client = await connectMain(clientPool(t));
      client.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      client.send(bytes(1, 2, 3));
      client.send(bytes(4, 5, 6));
      const [header, first, second] = await framesSkippingPings(client, 3);
      assert.equal(header.data, '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assertBinaryFrame(first, bytes(1, 2, 3));
      assertBinaryFrame(second, bytes(4, 5, 6));
      client.assertNoError();
    });

    for (const [what, frame] of [
      ["unknown packet type", "4abc"],
      ["invalid payload format", "42{}"],
      ["invalid ack id", '42abc["message-with-ack",1,"2",{"3":[false]}]'],
    ]) {
      it(`should close the connection upon invalid format (${what})`, quick, async (t) => {
        const client = await connectMain(clientPool(t));
        client.send(frame);
        await client.waitClose();
        client.assertNoError();
      });
    }
  });
});
