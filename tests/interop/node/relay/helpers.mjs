// Helpers the relay suites share: POSTs on one keep-alive connection, dashboards on `/`, live
// `claude_event`s with their offset argument, and a `subscribe` round trip as a barrier.

import assert from "node:assert/strict";
import http from "node:http";
import { io } from "socket.io-client";
import { Inbox, WAIT_MS, deadline } from "../test/helpers.mjs";

/** The relay server run.sh started (`serve --port 0` without --conformance). */
export const RELAY_URL = process.env.IORELAY_RELAY_URL;
if (!RELAY_URL) throw new Error("IORELAY_RELAY_URL is not set (run tests/interop/run.sh)");

/** One keep-alive connection (an agent with a single socket) for every POST of a test, to the
 * relay at `base`. */
export function poster(t, base = RELAY_URL) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  t.after(() => agent.destroy());
  const post = (path, body) =>
    deadline(
      new Promise((resolve, reject) => {
        const data = Buffer.from(JSON.stringify(body));
        const req = http.request(
          `${base}${path}`,
          { method: "POST", agent, headers: { "content-type": "application/json", "content-length": data.length } },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk) => (text += chunk));
            res.on("end", () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null }));
          },
        );
        req.on("socket", (socket) => sockets.add(socket));
        req.on("error", reject);
        req.end(data);
      }),
      WAIT_MS,
      `POST ${path}`,
    );
  return { post, sockets };
}

/** A dashboard on `/` over `transport` only, with `auth`; resolves once `event_history` came. */
export async function dashboard(t, transport, auth) {
  const socket = io(RELAY_URL, { forceNew: true, reconnection: false, transports: [transport], auth });
  const inbox = new Inbox(socket);
  t.after(() => socket.disconnect());
  const [history] = await inbox.next("event_history");
  return { socket, inbox, history };
}

/** The next `n` claude_event payloads of `inbox`. */
export async function live(inbox, n, ms = WAIT_MS) {
  const events = [];
  for (let i = 0; i < n; i++) {
    const args = await inbox.next("claude_event", ms);
    // The event, then its offset: connection state recovery's last argument.
    assert.equal(args.length, 2);
    assert.equal(args[1], args[0].offset);
    events.push(args[0]);
  }
  return events;
}

export const ids = (events) => events.map((e) => e.id);
export const stop = (id, session) => ({ id, type: "hook", subtype: "stop", session_id: session });
export const count = (inbox, name) => inbox.all.filter(([n]) => n === name).length;

/** A `subscribe` round trip keeping the filter: what was queued before it has arrived. */
export async function barrier(socket, auth) {
  const reply = await socket.timeout(WAIT_MS).emitWithAck("subscribe", auth);
  assert.equal(reply.ok, true);
}
