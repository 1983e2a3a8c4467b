// The event feed: what the page shows is every event the relay holds that passes the filter,
// newest `maxEvents` of them, each exactly once, with no gap, across reconnects and relay
// restarts. The relay does most of it (event_history on connect, a replay of what was missed
// on a recovered reconnect); the feed fills the rest with `history` requests: older pages up
// to maxEvents, and the gap between the last event seen and the event_history of a reconnect
// that was not recovered. It de-duplicates by offset, and notices when the relay's sequence
// restarted (an offset it saw comes back as another event) and starts over.

import { Emitter } from "./sio/emitter.js";

/** The largest page asked for (the relay's history_max_limit default; a relay set lower serves
 * smaller pages, which works as well). */
const PAGE = 1000;
/** How long live events are gathered before they go out as one batch: a burst of thousands
 * per second renders a few times a second, not once an event. */
const FLUSH_MS = 50;
/** The deadline of one history or subscribe request. */
const REQUEST_MS = 10_000;
/** The pause before a failed request is tried again on a connection that is still up. */
const RETRY_MS = 2000;
/** The names a live event has on "/": claude_event, or under `--profile claude-mpm` its
 * category there (core/src/relay/route.rs). Each event comes under one name only. */
const LIVE_NAMES = ["claude_event", "tool_event", "file_event", "agent_event", "session_event", "response_event", "system_event", "hook_event"];

/**
 * `on("events", fn)`: arrays of canonical events, oldest first within a batch, each offset at
 * most once since the last reset (back-fill batches are older than what came before them).
 * `on("reset", fn)`: forget every event delivered (the filter changed, or the relay's sequence
 * restarted); what passes the new filter follows.
 */
export class Feed extends Emitter {
  #client;
  #max;
  #filter;
  #epoch = 0; // bumped by every reset: replies to requests of an earlier epoch are dropped
  #seen = new Map(); // offset → id of every event delivered since the last reset
  #newest = null; // highest offset delivered
  #oldest = null; // lowest offset delivered: where back-fill continues
  #loaded = false; // a newest page was taken since the last reset
  #olderDone = false; // back-fill reached maxEvents or the start of the relay's history
  #subscribed = true; // the relay applies #filter on this connection
  #gaps = []; // {after, until}: offsets (after, until) to page forward through
  #pending = []; // live events until the next flush
  #flushTimer = 0;
  #syncing = false;

  /** `filter`: {session, project, type}; `type` is comma-separated, as in the page's URL. */
  constructor(client, { maxEvents = 10_000, filter = {} } = {}) {
    super();
    this.#client = client;
    this.#max = maxEvents;
    this.#filter = filter;
    client.on("event_history", (page) => this.#onEventHistory(page));
    for (const name of LIVE_NAMES) client.on(name, (event) => this.#onLive(event));
    client.on("connect", ({ recovered }) => recovered && this.#sync());
  }

  /** The CONNECT auth fields the feed needs: the filter and the size of event_history. The page
   * adds its own (the token) to these in the Client's `auth` function. */
  auth() {
    return { ...this.#query(), limit: Math.min(this.#max, PAGE) };
  }

  /** Shows what passes `filter` from now on: a reset, then the relay's events under it. */
  setFilter(filter) {
    this.#filter = filter;
    this.#reset();
    this.#subscribed = false;
    this.#sync();
  }

  #query() {
    const { session, project, type } = this.#filter;
    return { session: session || undefined, project: project || undefined, types: type ? type.split(",") : undefined };
  }

  /** The relay's own test (subscription.rs), so that an event sent under the old filter before
   * a `subscribe` took effect is never shown. */
  #passes(event) {
    const { session, project, types } = this.#query();
    return (
      (session === undefined || event.session_id === session) &&
      (project === undefined || event.project === project) &&
      (types === undefined || types.includes(event.type) || types.includes(event.subtype))
    );
  }

  // --- what the relay sends -------------------------------------------------------------------

  /** Sent on every connect that did not recover: the first page, or the newest page after a gap. */
  #onEventHistory(page) {
    this.#subscribed = true; // the CONNECT carried auth(), so the current filter
    const newest = page.events.at(-1)?.offset;
    if (this.#loaded && newest !== undefined && Number(newest) < this.#newest) this.#reset();
    if (!this.#loaded || this.#newest === null) return this.#takeNewest(page);
    this.#gaps.push({ after: this.#newest, until: page.events.length ? Number(page.events[0].offset) : Infinity });
    this.#deliver(page.events);
    this.#sync();
  }

  #onLive(event) {
    if (!this.#passes(event)) return;
    this.#pending.push(event);
    this.#flushTimer ||= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  #flush() {
    this.#flushTimer = 0;
    const events = this.#pending.splice(0);
    // A live event is newer than all the relay had before it; one at or below the newest seen
    // that was not seen means the relay's sequence restarted.
    if (this.#newest !== null && events.some((e) => Number(e.offset) <= this.#newest && !this.#seen.has(Number(e.offset)))) {
      this.#reset();
      return this.#sync();
    }
    this.#deliver(events);
  }

  // --- history requests, one at a time --------------------------------------------------------

  /** Runs the requests the feed still needs, in order, while connected; a request that fails is
   * tried again on the next connect, or after RETRY_MS if the connection is still up. */
  async #sync() {
    if (this.#syncing) return;
    this.#syncing = true;
    try {
      for (let step = this.#nextStep(); step && this.#client.connected; step = this.#nextStep()) {
        const epoch = this.#epoch;
        let reply;
        try {
          reply = await this.#client.emitWithAck(step.name, step.arg, { timeout: REQUEST_MS });
        } catch {
          if (this.#client.connected) setTimeout(() => this.#sync(), RETRY_MS);
          return;
        }
        if (epoch !== this.#epoch) continue;
        if (reply?.error) console.warn(`iorelay: ${step.name} answered ${reply.error}: ${reply.detail}`);
        step.done(reply?.error ? { events: [], total_available: 0 } : reply);
      }
    } finally {
      this.#syncing = false;
    }
  }

  /** The next request, most urgent first: the subscription, the newest page, a gap, an older page. */
  #nextStep() {
    const query = this.#query();
    if (!this.#subscribed) {
      return { name: "subscribe", arg: query, done: () => (this.#subscribed = true) };
    }
    if (!this.#loaded) {
      return { name: "history", arg: { ...query, limit: Math.min(this.#max, PAGE) }, done: (page) => this.#takeNewest(page) };
    }
    const gap = this.#gaps[0];
    if (gap) {
      return {
        name: "history",
        arg: { ...query, after: gap.after, limit: PAGE },
        done: ({ events, total_available }) => {
          this.#deliver(events);
          const last = events.length ? Number(events.at(-1).offset) : Infinity;
          if (events.length >= total_available || last >= gap.until) this.#gaps.shift();
          else gap.after = last;
        },
      };
    }
    if (!this.#olderDone && this.#seen.size < this.#max) {
      const limit = Math.min(PAGE, this.#max - this.#seen.size);
      return {
        name: "history",
        arg: { ...query, before: this.#oldest, limit },
        done: ({ events, total_available }) => {
          this.#deliver(events);
          this.#olderDone = events.length >= total_available;
        },
      };
    }
    return null;
  }

  /** Takes the newest page after a reset: what is older follows in back-fill pages.
   * (A page's total_available counts every event its query matches, so a page holding that
   * many is the last.) */
  #takeNewest({ events, total_available }) {
    this.#loaded = true;
    this.#deliver(events);
    this.#olderDone = events.length >= total_available;
    this.#sync();
  }

  // --- delivery -------------------------------------------------------------------------------

  /** Dispatches the events not delivered before, as one batch. An offset seen with another id
   * means the relay's sequence restarted: start over. */
  #deliver(events) {
    const fresh = [];
    for (const event of events) {
      const offset = Number(event.offset);
      const id = this.#seen.get(offset);
      if (id === event.id) continue;
      if (id !== undefined) {
        this.#reset();
        return this.#sync();
      }
      this.#seen.set(offset, event.id);
      if (this.#newest === null || offset > this.#newest) this.#newest = offset;
      if (this.#oldest === null || offset < this.#oldest) this.#oldest = offset;
      fresh.push(event);
    }
    this.#forgetOldest();
    if (fresh.length) this.dispatch("events", fresh);
  }

  /** Keeps the seen offsets bounded: past twice maxEvents, the oldest go (the page shows at most
   * maxEvents, and back-fill is then over). */
  #forgetOldest() {
    if (this.#seen.size <= 2 * this.#max) return;
    const offsets = [...this.#seen.keys()].sort((a, b) => a - b);
    for (const offset of offsets.slice(0, offsets.length - this.#max)) this.#seen.delete(offset);
    this.#oldest = offsets[offsets.length - this.#max];
    this.#olderDone = true;
  }

  #reset() {
    this.#epoch++;
    this.#seen.clear();
    this.#newest = this.#oldest = null;
    this.#loaded = this.#olderDone = false;
    this.#gaps = [];
    this.#pending = [];
    clearTimeout(this.#flushTimer);
    this.#flushTimer = 0;
    this.dispatch("reset");
  }
}
