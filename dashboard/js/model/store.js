// The events the page holds: ordered by offset, each offset once, at most `max` (the oldest
// leave first). Changes are collected and announced together, once per `schedule` tick (an
// animation frame on the page), so a burst of a thousand events is one update, not a thousand.

/**
 * Orders two relay offsets: decimal strings (`"9"` < `"10"`), or stream ids of digit groups
 * joined by `-` (`"1700000000000-2"`) in cluster mode. Never parses into a float, so offsets
 * past 2^53 order correctly.
 */
export function compareOffsets(a, b) {
  const x = String(a).split("-");
  const y = String(b).split("-");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i] ?? "";
    const q = y[i] ?? "";
    if (p.length !== q.length) return p.length - q.length;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

/** The events the page holds, with batched change notifications. */
export class EventStore {
  #events = [];
  #offsets = new Set();
  #added = new Set();
  #evicted = [];
  #reset = false;
  #pending = false;
  #listeners = [];

  /**
   * `max`: how many events to keep; `schedule(fn)`: runs `fn` later, once (the page passes
   * requestAnimationFrame; tests pass a queue they drain).
   */
  constructor({ max, schedule }) {
    this.max = max;
    this.schedule = schedule;
  }

  /** The events held, oldest first. Do not modify. */
  get events() {
    return this.#events;
  }

  /**
   * `fn({added, evicted, reset})` once per batch of changes: `reset` says everything before
   * was dropped; `added` (in offset order) and `evicted` never name the same event.
   */
  onChange(fn) {
    this.#listeners.push(fn);
  }

  /** Adds events (any order); an offset already held is ignored. */
  add(events) {
    let sorted = true;
    for (const event of events) {
      const offset = String(event.offset);
      if (this.#offsets.has(offset)) continue;
      this.#offsets.add(offset);
      const last = this.#events[this.#events.length - 1];
      if (last && compareOffsets(last.offset, offset) > 0) sorted = false;
      this.#events.push(event);
      this.#added.add(event);
    }
    if (!sorted) this.#events.sort(byOffset);
    const excess = this.#events.length - this.max;
    if (excess > 0) {
      for (const gone of this.#events.splice(0, excess)) {
        this.#offsets.delete(String(gone.offset));
        if (!this.#added.delete(gone)) this.#evicted.push(gone);
      }
    }
    this.#announce();
  }

  /** Drops every event (the feed's reset: a new filter, or the relay's sequence restarted). */
  clear() {
    this.#events = [];
    this.#offsets.clear();
    this.#added.clear();
    this.#evicted = [];
    this.#reset = true;
    this.#announce();
  }

  #announce() {
    if (this.#pending) return;
    this.#pending = true;
    this.schedule(() => {
      this.#pending = false;
      const change = { added: [...this.#added].sort(byOffset), evicted: this.#evicted, reset: this.#reset };
      this.#added = new Set();
      this.#evicted = [];
      this.#reset = false;
      for (const fn of this.#listeners) fn(change);
    });
  }
}

function byOffset(a, b) {
  return compareOffsets(a.offset, b.offset);
}
