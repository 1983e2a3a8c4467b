// Events per second over the last minutes, for the header's chart. Counted by when the relay
// received each event (`received_at`), so the history a page loads counts at its real time,
// not as a spike at page load.

import { timeOf } from "./format.js";

/** Per-second counts of received events within a sliding window. */
export class Rate {
  #counts = new Map();
  #newest = -Infinity;

  /** `windowS`: how many seconds back are kept (the chart's span). */
  constructor({ windowS = 300 } = {}) {
    this.windowS = windowS;
  }

  /** Counts `event` at the second it was received. */
  add(event) {
    const ms = timeOf(event.received_at);
    if (!Number.isFinite(ms)) return;
    const second = Math.floor(ms / 1000);
    if (second <= this.#newest - this.windowS) return;
    this.#counts.set(second, (this.#counts.get(second) ?? 0) + 1);
    if (second > this.#newest) {
      this.#newest = second;
      if (this.#counts.size > this.windowS * 2) this.#prune();
    }
  }

  /** Forgets every count. */
  clear() {
    this.#counts.clear();
    this.#newest = -Infinity;
  }

  /**
   * Events per second in bins of `binS` seconds covering the window up to `nowMs`, oldest
   * first (the last bin holds the current, partial seconds).
   */
  series(nowMs, binS = 5) {
    const bins = Math.ceil(this.windowS / binS);
    const end = Math.floor(nowMs / 1000) + 1;
    const start = end - bins * binS;
    const out = new Array(bins).fill(0);
    for (const [second, n] of this.#counts) {
      if (second >= start && second < end) out[Math.floor((second - start) / binS)] += n / binS;
    }
    return out;
  }

  /** The average rate over the last `overS` seconds up to `nowMs`. */
  perSecond(nowMs, overS = 10) {
    const end = Math.floor(nowMs / 1000);
    let n = 0;
    for (const [second, count] of this.#counts) if (second > end - overS && second <= end) n += count;
    return n / overS;
  }

  #prune() {
    for (const second of this.#counts.keys()) {
      if (second <= this.#newest - this.windowS) this.#counts.delete(second);
    }
  }
}
