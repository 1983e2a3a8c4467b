// The page's Socket.IO client and event feed (dashboard/js/sio/, dashboard/js/feed.js) in
// Chromium, against the relay under test: recovery after a dropped connection, a relay
// restart under an open page, stale links, the polling fallback, the emit queue, emitWithRetry,
// a refused CONNECT, and getConnectionMetrics().
//
// Two clients are used: the page's own (`window.iorelay`, watched through `client.on`), and a
// probe, a Client and Feed of the same modules made in the page by a dynamic import, whose
// delivered events the test reads (the page's list is virtualised, so it cannot be counted).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, test } from "node:test";
import { BINARY, closeBrowser, hooks, openDashboard, startProxy, startRelay, waitFor } from "./harness.mjs";
import { startUpgradeProxy } from "./upgrade-proxy.mjs";

after(closeBrowser);

/** The errors the page reported, less the lines Chromium itself logs for a connection it could
 * not make: an outage the test causes on purpose produces those. */
function pageErrors(errors) {
  return errors.filter((e) => !/WebSocket connection to .* failed|Failed to load resource: net::ERR_/.test(e));
}

/** Opens the dashboard at `url` and waits until its client is connected. */
async function openConnected(t, url) {
  const opened = await openDashboard(t, `${url}/`);
  await waitFor(() => opened.page.evaluate(() => window.iorelay?.connected), { what: "the page's client to connect" });
  return opened;
}

/** Records the page client's events from now on in `window.watched`. */
function watch(page) {
  return page.evaluate(() => {
    const log = (window.watched = { live: [], connects: [], disconnects: [], states: [], errors: [] });
    const client = window.iorelay;
    client.on("claude_event", (event, offset) => log.live.push({ id: event.id, offset }));
    client.on("connect", ({ recovered }) => log.connects.push(recovered));
    client.on("disconnect", (reason) => log.disconnects.push(reason));
    client.on("state", (state) => log.states.push(state));
    client.on("connect_error", (err) => log.errors.push(err));
  });
}

const watched = (page) => page.evaluate(() => window.watched);
const metrics = (page) => page.evaluate(() => window.iorelay.getConnectionMetrics());
const connected = (page) => page.evaluate(() => window.iorelay.connected);

/** A Client and Feed of the page's modules, made in the page as `window.probe`; `delivered` is
 * every event the feed gave, in order (emptied by a reset). Resolves once it is connected. */
async function startProbe(page, { maxEvents = 1000, transports, auth = {} } = {}) {
  await page.evaluate(
    async ({ maxEvents, transports, auth }) => {
      const { Client } = await import("/assets/js/sio/client.js");
      const { Feed } = await import("/assets/js/feed.js");
      let feed = null;
      const client = new Client({ auth: () => ({ ...feed.auth(), ...auth }), ...(transports ? { transports } : {}) });
      feed = new Feed(client, { maxEvents });
      const probe = (window.probe = { client, feed, delivered: [], batches: 0, resets: 0, connects: [] });
      feed.on("events", (events) => {
        probe.batches++;
        probe.delivered.push(...events.map((e) => ({ id: e.id, offset: e.offset })));
      });
      feed.on("reset", () => {
        probe.resets++;
        probe.delivered = [];
      });
      client.on("connect", ({ recovered }) => probe.connects.push(recovered));
      client.connect();
    },
    { maxEvents, transports, auth },
  );
  await waitFor(() => page.evaluate(() => window.probe.client.connected), { what: "the probe to connect" });
}

const probe = (page) => page.evaluate(() => window.probe);

/** Posts `n` Stop hooks in session `session`, one request each; resolves with their ids. */
async function postStops(relay, session, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const hook = hooks.stop(session);
    await relay.hook(hook);
    ids.push(hook.id);
  }
  return ids;
}

/** Offsets as numbers, checked to be strictly increasing by one. */
function assertConsecutive(offsets) {
  const numbers = offsets.map(Number);
  assert.deepEqual(numbers, numbers.map((_, i) => numbers[0] + i), `offsets ${numbers.join(",")}`);
}

test("after a dropped connection the page's client recovers: every event posted meanwhile arrives once, in order", async (t) => {
  const relay = await startRelay(t);
  const proxy = await startProxy(t, relay.port);
  const { page, errors } = await openConnected(t, proxy.url);
  await watch(page);
  const before = await postStops(relay, "s-drop", 2);
  await waitFor(async () => (await watched(page)).live.length === 2, { what: "2 live events" });

  proxy.block();
  proxy.drop();
  await waitFor(async () => !(await connected(page)), { what: "the page to notice the drop" });
  const during = await postStops(relay, "s-drop", 10);
  proxy.unblock();

  await waitFor(async () => (await watched(page)).live.length >= 12, { ms: 15_000, what: "the 10 missed events" });
  const log = await watched(page);
  assert.deepEqual(log.live.map((e) => e.id), [...before, ...during]);
  assertConsecutive(log.live.map((e) => e.offset));
  assert.deepEqual(log.connects, [true]);
  assert.equal(log.disconnects.length, 1);
  assert.deepEqual(log.states.filter((s) => s === "connected"), ["connected"]);
  assert.deepEqual(pageErrors(errors), []);
});

test("a relay restart under an open page: the feed shows what was spooled while it was down and what is posted after, each once", async (t) => {
  const relay = await startRelay(t);
  const { page, errors } = await openConnected(t, relay.url);
  await startProbe(page);
  const first = await postStops(relay, "s-restart", 3);
  await waitFor(async () => (await probe(page)).delivered.length === 3, { what: "3 events" });

  await relay.stop();
  await waitFor(async () => !(await connected(page)), { what: "the page to notice the stop" });
  // While the relay is down, `iorelay emit` spools what the hooks send; `serve` delivers it at start.
  const spooled = [hooks.stop("s-restart"), hooks.stop("s-restart")];
  for (const hook of spooled) {
    const run = spawnSync(BINARY, ["emit"], {
      input: JSON.stringify(hook),
      timeout: 10_000,
      env: {
        ...process.env,
        IORELAY_DATA_DIR: path.join(relay.scratch, "data"),
        IORELAY_STATE_DIR: path.join(relay.scratch, "state"),
        IORELAY_PORT: String(relay.port),
      },
    });
    assert.equal(run.status, 0, String(run.stderr));
  }
  await relay.start();
  await waitFor(() => page.evaluate(() => window.probe.client.connected), { ms: 15_000, what: "the probe to reconnect" });
  const last = await postStops(relay, "s-restart", 2);

  const expected = [...first, ...spooled.map((h) => h.id), ...last];
  await waitFor(async () => (await probe(page)).delivered.length >= expected.length, { what: "every event" });
  const { delivered, resets } = await probe(page);
  assert.deepEqual(delivered.map((e) => e.id), expected);
  assertConsecutive(delivered.map((e) => e.offset));
  assert.equal(resets, 0);
  await waitFor(() => connected(page), { what: "the page's own client to reconnect" });
  assert.deepEqual(pageErrors(errors), []);
});

test("a reconnect the relay cannot recover: the feed pages forward through the gap event_history does not cover", async (t) => {
  const relay = await startRelay(t, { flags: ["--recovery-window", "0"] });
  const proxy = await startProxy(t, relay.port);
  const { page, errors } = await openConnected(t, proxy.url);
  // event_history holds maxEvents (5) events: the other 15 of the 20 missed must come from history.
  await startProbe(page, { maxEvents: 5 });
  const before = await postStops(relay, "s-gap", 3);
  await waitFor(async () => (await probe(page)).delivered.length === 3, { what: "3 events" });

  proxy.block();
  proxy.drop();
  await waitFor(async () => !(await page.evaluate(() => window.probe.client.connected)), { what: "the drop" });
  const during = await postStops(relay, "s-gap", 20);
  proxy.unblock();

  await waitFor(async () => (await probe(page)).delivered.length >= 23, { ms: 15_000, what: "23 events" });
  const { delivered, connects, resets } = await probe(page);
  assert.deepEqual(connects, [false, false]);
  assert.equal(resets, 0);
  assert.deepEqual(delivered.map((e) => e.id).sort(), [...before, ...during].sort());
  assertConsecutive(delivered.map((e) => e.offset).sort((a, b) => a - b));
  assert.deepEqual(pageErrors(errors), []);
});

test("the feed loads event_history, back-fills older pages up to maxEvents, and delivers a burst in a few batches", async (t) => {
  const relay = await startRelay(t);
  const { page, errors } = await openConnected(t, relay.url);
  const stops = (n) => Array.from({ length: n }, () => hooks.stop("s-fill"));
  for (let i = 0; i < 5; i++) await relay.hook(stops(500));
  await startProbe(page, { maxEvents: 2200 });
  await waitFor(async () => (await probe(page)).delivered.length >= 2200, { what: "2200 events" });
  const loaded = await probe(page);
  assert.equal(loaded.delivered.length, 2200);
  // The newest 2200 of 2500: event_history (1000), then pages of 1000 and 200 older ones.
  assert.deepEqual(loaded.delivered.map((e) => Number(e.offset)).sort((a, b) => a - b), Array.from({ length: 2200 }, (_, i) => 301 + i));
  assert.equal(loaded.batches, 3);

  await relay.hook(stops(1000));
  await waitFor(async () => (await probe(page)).delivered.length >= 3200, { what: "the burst" });
  const burst = await probe(page);
  assert.equal(new Set(burst.delivered.map((e) => e.offset)).size, 3200);
  assert.ok(burst.batches - loaded.batches <= 20, `${burst.batches - loaded.batches} batches for 1000 live events`);
  assert.deepEqual(pageErrors(errors), []);
});

test("setFilter resets the feed and shows only what passes the new filter, history first", async (t) => {
  const relay = await startRelay(t);
  const { page, errors } = await openConnected(t, relay.url);
  await postStops(relay, "s-one", 2);
  const two = await postStops(relay, "s-two", 2);
  await startProbe(page);
  await waitFor(async () => (await probe(page)).delivered.length === 4, { what: "4 events" });

  await page.evaluate(() => window.probe.feed.setFilter({ session: "s-two" }));
  await waitFor(async () => (await probe(page)).delivered.length === 2, { what: "s-two's history" });
  await postStops(relay, "s-one", 1);
  const [live] = await postStops(relay, "s-two", 1);
  await waitFor(async () => (await probe(page)).delivered.length === 3, { what: "s-two's live event" });
  const { delivered, resets } = await probe(page);
  assert.equal(resets, 1);
  assert.deepEqual(delivered.map((e) => e.id), [...two, live]);
  assert.deepEqual(pageErrors(errors), []);
});

test("under --profile claude-mpm the feed takes live events by their categories' names", async (t) => {
  const relay = await startRelay(t, { flags: ["--profile", "claude-mpm"] });
  const { page, errors } = await openConnected(t, relay.url);
  await startProbe(page);
  const posted = [hooks.prompt("s-mpm", "hi"), hooks.preTool("s-mpm", "tu-1", "Bash", { command: "ls" }), hooks.preTool("s-mpm", "tu-2", "Read", { file_path: "/a" }), hooks.notification("s-mpm", "wait"), hooks.stop("s-mpm")];
  for (const hook of posted) await relay.hook(hook);
  await waitFor(async () => (await probe(page)).delivered.length === posted.length, { what: "every live event" });
  assert.deepEqual((await probe(page)).delivered.map((e) => e.id), posted.map((h) => h.id));
  assert.deepEqual(pageErrors(errors), []);
});

test("a stale link (no ping within pingInterval + pingTimeout) is closed and connected again", async (t) => {
  const relay = await startRelay(t, { flags: ["--ping-interval", "500", "--ping-timeout", "500"] });
  const proxy = await startProxy(t, relay.port);
  const { page, errors } = await openConnected(t, proxy.url);
  await watch(page);
  await waitFor(async () => (await metrics(page)).lastPing !== null, { what: "a first ping" });

  proxy.freeze();
  const frozenAt = Date.now();
  await waitFor(async () => (await watched(page)).disconnects.length === 1, { ms: 3000, what: "stale detection" });
  const detectedAfter = Date.now() - frozenAt;
  proxy.thaw();
  await waitFor(() => connected(page), { ms: 10_000, what: "the reconnect" });

  const log = await watched(page);
  assert.deepEqual(log.disconnects, ["ping timeout"]);
  assert.ok(detectedAfter >= 400, `detected after ${detectedAfter} ms: before a ping was even due`);
  const [event] = await postStops(relay, "s-stale", 1);
  await waitFor(async () => (await watched(page)).live.some((e) => e.id === event), { what: "a live event after the reconnect" });
  assert.deepEqual(pageErrors(errors), []);
});

test("emitWithRetry resolves once when connected, and rejects once after its retries when the relay is down", async (t) => {
  const relay = await startRelay(t);
  const { page, errors } = await openConnected(t, relay.url);
  const ok = await page.evaluate(async () => {
    const calls = { success: [], failure: [] };
    const value = await window.iorelay.emitWithRetry("subscribe", {}, {
      onSuccess: (v) => calls.success.push(v),
      onFailure: (e) => calls.failure.push(e.message),
    });
    return { value, calls, metrics: window.iorelay.getConnectionMetrics() };
  });
  assert.equal(ok.value.ok, true);
  assert.deepEqual(ok.calls, { success: [ok.value], failure: [] });
  assert.equal(ok.metrics.pendingEmissions, 0);
  assert.equal(ok.metrics.retryAttempts, 0);

  await relay.stop();
  await waitFor(async () => !(await connected(page)), { what: "the page to notice the stop" });
  await page.evaluate(() => {
    const run = (window.retryRun = { success: 0, failure: [], settled: [] });
    window.iorelay
      .emitWithRetry("subscribe", {}, {
        retryDelays: [100, 200, 400],
        onSuccess: () => run.success++,
        onFailure: (e) => run.failure.push(e.message),
      })
      .then(
        () => run.settled.push("resolved"),
        () => run.settled.push("rejected"),
      );
  });
  assert.equal((await metrics(page)).pendingEmissions, 1);
  await waitFor(() => page.evaluate(() => window.retryRun.settled.length > 0), { what: "emitWithRetry to settle" });
  const run = await page.evaluate(() => window.retryRun);
  assert.deepEqual(run.settled, ["rejected"]);
  assert.equal(run.success, 0);
  assert.equal(run.failure.length, 1);
  const after = await metrics(page);
  assert.equal(after.pendingEmissions, 0);
  assert.equal(after.retryAttempts, 3);
  assert.deepEqual(pageErrors(errors), []);
});

test("emits while disconnected wait in a queue of at most 100, flushed in order on reconnect", async (t) => {
  const relay = await startRelay(t);
  const proxy = await startProxy(t, relay.port);
  const { page, errors } = await openConnected(t, proxy.url);
  await watch(page);
  // Something live first, so the reconnect can be recovered (it has an offset to resume from).
  await postStops(relay, "s-queue", 1);
  await waitFor(async () => (await watched(page)).live.length === 1, { what: "a live event" });

  proxy.block();
  proxy.drop();
  await waitFor(async () => !(await connected(page)), { what: "the drop" });
  // 150 subscriptions: the last one flushed is the one in force, so the order is visible.
  await page.evaluate(() => {
    for (let i = 0; i < 150; i++) window.iorelay.emit("subscribe", { session: `q${i}` });
  });
  assert.equal((await metrics(page)).queuedEvents, 100);
  proxy.unblock();
  await waitFor(() => connected(page), { ms: 15_000, what: "the reconnect" });
  assert.equal((await metrics(page)).queuedEvents, 0);
  // A request with an ack, answered after everything sent before it on the connection.
  await page.evaluate(() => window.iorelay.emitWithAck("history", { limit: 1 }));

  await relay.hook(hooks.stop("q148"));
  const [last] = await postStops(relay, "q149", 1);
  await waitFor(async () => (await watched(page)).live.some((e) => e.id === last), { what: "the q149 event" });
  const live = (await watched(page)).live;
  assert.equal(live.length, 2, "only the first event and q149's: q148's is filtered out");
  assert.deepEqual(pageErrors(errors), []);
});

test("when websockets cannot be opened the client falls back to long-polling, and tries websocket again on the next connect", async (t) => {
  const relay = await startRelay(t);
  const proxy = await startUpgradeProxy(t, relay.port);
  const { page, errors } = await openConnected(t, proxy.url);
  await watch(page);
  assert.equal(proxy.upgrades, 0);
  const [first] = await postStops(relay, "s-poll", 1);
  await waitFor(async () => (await watched(page)).live.some((e) => e.id === first), { what: "a live event over polling" });
  const page1 = await page.evaluate(() => window.iorelay.emitWithAck("history", { limit: 1 }));
  assert.deepEqual(page1.events.map((e) => e.id), [first]);

  proxy.allowUpgrades = true;
  await relay.restart();
  await waitFor(async () => (await watched(page)).connects.length === 1, { ms: 15_000, what: "the reconnect" });
  assert.ok(proxy.upgrades >= 1, "the reconnect opened a websocket");
  const [second] = await postStops(relay, "s-poll", 1);
  await waitFor(async () => (await watched(page)).live.some((e) => e.id === second), { what: "a live event over websocket" });
  // Chromium logs the answers to the old session's polls: 503 from the relay stopping, or 400
  // (unknown sid) from the new process when a poll reaches it first.
  assert.deepEqual(pageErrors(errors).filter((e) => !/status of (503|400)/.test(e)), []);
});

test("a client made for polling only does its whole life over long-polling", async (t) => {
  const relay = await startRelay(t);
  const { page, errors } = await openConnected(t, relay.url);
  const before = await postStops(relay, "s-lp", 2);
  await startProbe(page, { transports: ["polling"] });
  const after = await postStops(relay, "s-lp", 3);
  await waitFor(async () => (await probe(page)).delivered.length === 5, { what: "5 events" });
  assert.deepEqual((await probe(page)).delivered.map((e) => e.id), [...before, ...after]);
  const reply = await page.evaluate(() => window.probe.client.emitWithAck("subscribe", { session: "s-lp" }));
  assert.equal(reply.ok, true);
  await page.evaluate(() => window.probe.client.disconnect());
  assert.equal(await page.evaluate(() => window.probe.client.state), "disconnected");
  assert.deepEqual(pageErrors(errors), []);
});

test("a refused CONNECT is reported once with its message and not retried until connect() is called again", async (t) => {
  const relay = await startRelay(t, { env: { IORELAY_TOKEN: "s3cret" } });
  const { page } = await openDashboard(t, `${relay.url}/`);
  await page.evaluate(async () => {
    const { Client } = await import("/assets/js/sio/client.js");
    let token = "wrong";
    const client = new Client({ auth: () => ({ token }) });
    const log = (window.refused = { errors: [], connects: 0, client, setToken: (t) => (token = t) });
    client.on("connect_error", (err) => log.errors.push(err));
    client.on("connect", () => log.connects++);
    client.connect();
  });
  await waitFor(() => page.evaluate(() => window.refused.errors.length === 1), { what: "connect_error" });
  // What must not happen (a retry) can only be shown by waiting past the shortest backoff.
  await new Promise((resolve) => setTimeout(resolve, 1600));
  const refused = await page.evaluate(() => ({ errors: window.refused.errors, connects: window.refused.connects }));
  assert.deepEqual(refused, { errors: [{ message: "unauthorized", data: undefined }], connects: 0 });

  await page.evaluate(() => {
    window.refused.setToken("s3cret");
    window.refused.client.connect();
  });
  await waitFor(() => page.evaluate(() => window.refused.connects === 1), { what: "the connect with the token" });
});

test("getConnectionMetrics() has the original design's fields, in seconds", async (t) => {
  const relay = await startRelay(t, { flags: ["--ping-interval", "300"] });
  const { page, errors } = await openConnected(t, relay.url);
  const first = await metrics(page);
  assert.deepEqual(Object.keys(first), ["isConnected", "uptime", "lastPing", "queuedEvents", "pendingEmissions", "retryAttempts"]);
  assert.equal(first.isConnected, true);
  assert.ok(first.uptime >= 0 && first.uptime < 5, `uptime ${first.uptime}`);
  assert.equal(first.queuedEvents, 0);
  assert.equal(first.pendingEmissions, 0);
  assert.equal(first.retryAttempts, 0);

  const later = await waitFor(async () => {
    const m = await metrics(page);
    return m.uptime >= 1.2 && m.lastPing !== null ? m : null;
  }, { what: "an uptime past 1.2 s and a ping" });
  assert.ok(later.lastPing >= 0 && later.lastPing <= 0.5, `lastPing ${later.lastPing}`);

  await relay.stop();
  await waitFor(async () => !(await connected(page)), { what: "the page to notice the stop" });
  const down = await metrics(page);
  assert.equal(down.isConnected, false);
  assert.equal(down.uptime, 0);
  assert.equal(typeof down.lastPing, "number");
  assert.deepEqual(pageErrors(errors), []);
});
