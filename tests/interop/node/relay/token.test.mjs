// A relay started with IORELAY_TOKEN, with the stock socket.io-client: a CONNECT without
// `auth.token` fails with a connect_error whose message is "unauthorized", a client with the
// token connects and receives events, and ingest without `Authorization: Bearer` is 401. The
// test starts its own relay (run.sh's has no token) from IORELAY_SERVER_ARGV.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { io } from "socket.io-client";
import { Inbox, deadline, next, startServer } from "../test/helpers.mjs";

const TOKEN = "node-interop-s3cret";

/** `serve --port 0` in relay mode with IORELAY_TOKEN and scratch directories; stopped after `t`. */
async function tokenRelay(t) {
  const scratch = mkdtempSync(path.join(tmpdir(), "iorelay-token-"));
  const env = {
    IORELAY_TOKEN: TOKEN,
    XDG_CONFIG_HOME: path.join(scratch, "config"),
    IORELAY_DATA_DIR: path.join(scratch, "data"),
    IORELAY_STATE_DIR: path.join(scratch, "state"),
  };
  const server = await startServer(0, [], 10000, { relay: true, env });
  t.after(async () => {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  });
  return server.url;
}

async function post(url, body, headers = {}) {
  const res = await deadline(
    fetch(`${url}/api/events`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
    5000,
    "POST /api/events",
  );
  return { status: res.status, text: await res.text() };
}

test("with IORELAY_TOKEN a connect without auth.token fails 'unauthorized'; with it, events arrive", async (t) => {
  const url = await tokenRelay(t);
  for (const transport of ["websocket", "polling"]) {
    const refused = io(url, { forceNew: true, reconnection: false, transports: [transport] });
    t.after(() => refused.disconnect());
    const [err] = await next(refused, "connect_error");
    assert.equal(err.message, "unauthorized", transport);
    refused.disconnect();
  }

  const socket = io(url, {
    forceNew: true,
    reconnection: false,
    transports: ["websocket"],
    auth: { token: TOKEN },
  });
  t.after(() => socket.disconnect());
  const inbox = new Inbox(socket);
  await inbox.next("event_history");

  const unauthorized = await post(url, { id: "node-tok-0" });
  assert.equal(unauthorized.status, 401);
  assert.equal(JSON.parse(unauthorized.text).error, "unauthorized");
  const accepted = await post(url, { id: "node-tok-1" }, { authorization: `Bearer ${TOKEN}` });
  assert.equal(accepted.status, 204);
  const [event] = await inbox.next("claude_event");
  assert.equal(event.id, "node-tok-1");
});
