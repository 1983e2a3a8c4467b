// The feed against a scripted relay: its history answers `history` and `subscribe` the way the
// real one does (docs/user-guide.md §History), and the test decides when the connection comes
// and goes. Timers are mocked, so a flush happens exactly when the test ticks.

import assert from "node:assert/strict";
import { beforeEach, afterEach, mock, test } from "node:test";
import { Feed } from "../../../dashboard/js/feed.js";
import { Emitter } from "../../../dashboard/js/sio/emitter.js";

const ev = (offset, fields = {}) => ({ id: `e${offset}`, offset: String(offset), type: "hook", subtype: "stop", session_id: "s1", project: "shop", ...fields });
const range = (from, to, fields) => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i, fields));
const offsets = (events) => events.map((e) => Number(e.offset));

/** The relay side: its history, the requests it was sent, and a client connected to it. */
class FakeRelay extends Emitter {
  constructor(events = []) {
    super();
    this.events = events;
    this.requests = [];
    this.connected = false;
    this.filter = {};
    this.maxLimit = 1000;
  }

  passes(e, { session, project, types } = this.filter) {
    return (!session || e.session_id === session) && (!project || e.project === project) && (!types || types.includes(e.type) || types.includes(e.subtype));
  }

  page({ limit = 100, before, after, ...filter }) {
    limit = Math.min(limit, this.maxLimit);
    const all = this.events.filter((e) => this.passes(e, filter));
    // total_available counts every event the query matches, before/after included.
    if (after !== undefined) {
      const newer = all.filter((e) => Number(e.offset) > Number(after));
      const events = newer.slice(0, limit);
      return { events, count: events.length, total_available: newer.length };
    }
    const older = before === undefined ? all : all.filter((e) => Number(e.offset) < Number(before));
    const events = older.slice(Math.max(0, older.length - limit));
    return { events, count: events.length, total_available: older.length };
  }

  async emitWithAck(name, arg) {
    if (!this.connected) throw new Error("not connected");
    this.requests.push([name, arg]);
    await null;
    if (!this.connected) throw new Error("connection lost");
    if (name === "subscribe") {
      this.filter = arg;
      return { ok: true };
    }
    return this.page(arg);
  }

  /** A connect as the relay makes it: event_history unless recovered. */
  connect(feed, { recovered = false } = {}) {
    this.connected = true;
    this.dispatch("connect", { recovered });
    if (!recovered) {
      const { limit, ...filter } = feed.auth();
      this.filter = filter;
      this.dispatch("event_history", this.page({ limit, ...filter }));
    }
  }

  post(...events) {
    this.events.push(...events);
    for (const e of events) if (this.connected && this.passes(e)) this.dispatch("claude_event", e, e.offset);
  }
}

/** A feed on a fresh relay; `seen` is every event delivered, `batches` each "events" call. */
function setup(events, options) {
  const relay = new FakeRelay(events);
  const feed = new Feed(relay, options);
  const log = { seen: [], batches: 0, resets: 0 };
  feed.on("events", (batch) => {
    log.batches++;
    log.seen.push(...batch);
  });
  feed.on("reset", () => {
    log.resets++;
    log.seen = [];
  });
  return { relay, feed, log };
}

/** Lets the feed's requests run to the end, then its flush timer fire. */
async function settle() {
  for (let i = 0; i < 50; i++) await new Promise(setImmediate);
  mock.timers.tick(50);
  for (let i = 0; i < 50; i++) await new Promise(setImmediate);
}

beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
afterEach(() => mock.timers.reset());

test("auth asks event_history for maxEvents (at most a page) under the filter", () => {
  const { feed } = setup([], { maxEvents: 300, filter: { session: "s1", project: "", type: "stop,pre_tool_use" } });
  assert.deepEqual(feed.auth(), { session: "s1", project: undefined, types: ["stop", "pre_tool_use"], limit: 300 });
  assert.equal(setup([], { maxEvents: 5000 }).feed.auth().limit, 1000);
});

test("the first connect takes event_history, then back-fills older pages up to maxEvents, one batch a page", async () => {
  const { relay, feed, log } = setup(range(1, 2500), { maxEvents: 1800 });
  relay.connect(feed);
  await settle();
  assert.deepEqual(offsets(log.seen), [...range(1501, 2500), ...range(701, 1500)].map((e) => Number(e.offset)));
  assert.equal(log.batches, 2);
  assert.deepEqual(relay.requests, [["history", { session: undefined, project: undefined, types: undefined, before: 1501, limit: 800 }]]);
});

test("back-fill stops when the relay's history is exhausted", async () => {
  const { relay, feed, log } = setup(range(1, 1300), { maxEvents: 10000 });
  relay.connect(feed);
  await settle();
  assert.equal(log.seen.length, 1300);
  assert.equal(relay.requests.length, 1);
  assert.equal(new Set(offsets(log.seen)).size, 1300);
});

test("a burst of live events is delivered as one batch, each once", async () => {
  const { relay, feed, log } = setup(range(1, 10));
  relay.connect(feed);
  await settle();
  relay.post(...range(11, 510));
  relay.dispatch("claude_event", ev(510), "510");
  await settle();
  assert.equal(log.batches, 2);
  assert.deepEqual(offsets(log.seen), range(1, 510).map((e) => Number(e.offset)));
});

test("a recovered reconnect needs nothing: the relay's replay fills the gap, repeats are dropped", async () => {
  const { relay, feed, log } = setup(range(1, 5));
  relay.connect(feed);
  await settle();
  relay.connected = false;
  relay.events.push(...range(6, 8));
  relay.connect(feed, { recovered: true });
  for (const e of range(4, 8)) relay.dispatch("claude_event", e, e.offset);
  await settle();
  assert.deepEqual(offsets(log.seen), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(relay.requests, []);
});

test("a reconnect that was not recovered pages forward from the last offset seen, with no gap and no repeat", async () => {
  const { relay, feed, log } = setup(range(1, 100));
  relay.connect(feed);
  await settle();
  relay.connected = false;
  relay.events.push(...range(101, 2600));
  relay.connect(feed);
  await settle();
  assert.deepEqual(offsets(log.seen).sort((a, b) => a - b), range(1, 2600).map((e) => Number(e.offset)));
  // 1601..2600 came in event_history: two pages forward reach it.
  assert.deepEqual(relay.requests.map(([, arg]) => arg.after), [100, 1100]);
  assert.equal(log.resets, 0);
});

test("a request cut off by a disconnect is made again after a recovered reconnect", async () => {
  const { relay, feed, log } = setup(range(1, 3000), { maxEvents: 3000 });
  relay.connect(feed);
  relay.connected = false; // the back-fill request fails
  await settle();
  assert.equal(log.seen.length, 1000);
  relay.connect(feed, { recovered: true });
  await settle();
  assert.equal(log.seen.length, 3000);
  assert.equal(new Set(offsets(log.seen)).size, 3000);
});

test("event_history older than what was seen means the relay's sequence restarted: reset, then the new page", async () => {
  const { relay, feed, log } = setup(range(1, 50));
  relay.connect(feed);
  await settle();
  relay.connected = false;
  relay.events = range(1, 3, { id: undefined }).map((e, i) => ({ ...e, id: `new${i}` }));
  relay.connect(feed);
  await settle();
  assert.equal(log.resets, 1);
  assert.deepEqual(log.seen.map((e) => e.id), ["new0", "new1", "new2"]);
});

test("a live offset seen before as another event means the sequence restarted: reset and reload", async () => {
  const { relay, feed, log } = setup(range(1, 5));
  relay.connect(feed);
  await settle();
  relay.events = [];
  relay.post({ ...ev(1), id: "fresh" });
  await settle();
  assert.equal(log.resets, 1);
  assert.deepEqual(log.seen.map((e) => e.id), ["fresh"]);
});

test("setFilter resets, subscribes, and loads the history under the new filter", async () => {
  const events = [...range(1, 4), ...range(5, 8, { session_id: "s2" })];
  const { relay, feed, log } = setup(events);
  relay.connect(feed);
  await settle();
  feed.setFilter({ session: "s2" });
  relay.post(ev(9)); // still sent under the old filter: not shown
  await settle();
  assert.equal(log.resets, 1);
  assert.deepEqual(offsets(log.seen), [5, 6, 7, 8]);
  assert.deepEqual(relay.requests.map(([name]) => name), ["subscribe", "history"]);
  assert.deepEqual(feed.auth(), { session: "s2", project: undefined, types: undefined, limit: 1000 });
});

test("setFilter while disconnected: the reconnect's CONNECT carries the new filter", async () => {
  const events = [...range(1, 4), ...range(5, 8, { session_id: "s2" })];
  const { relay, feed, log } = setup(events);
  relay.connect(feed);
  await settle();
  relay.connected = false;
  feed.setFilter({ session: "s2" });
  relay.connect(feed);
  await settle();
  assert.deepEqual(offsets(log.seen), [5, 6, 7, 8]);
  assert.deepEqual(relay.requests, []);
});

test("a relay serving smaller pages than asked (history_max_limit 100) is paged to the end all the same", async () => {
  const { relay, feed, log } = setup(range(1, 50), { maxEvents: 400 });
  relay.maxLimit = 100;
  relay.connect(feed);
  await settle();
  relay.connected = false;
  relay.events.push(...range(51, 700));
  relay.connect(feed);
  await settle();
  // event_history: 601..700; the gap 51..600 in pages of 100; nothing older is missing.
  assert.deepEqual(offsets(log.seen).sort((a, b) => a - b), range(1, 700).map((e) => Number(e.offset)));
  assert.deepEqual(relay.requests.map(([, arg]) => arg.after), [50, 150, 250, 350, 450, 550]);
});
