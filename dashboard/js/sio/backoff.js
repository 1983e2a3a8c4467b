// Reconnection delays: 1 s doubling to at most 5 s, each moved at random by up to ±50% so that
// many pages cut off by the same relay restart do not all come back in the same instant.

/** The delays of successive reconnection attempts, until reset by a successful connection. */
export class Backoff {
  /** `random` returns a number in [0, 1); tests pass a fixed one. */
  constructor({ min = 1000, max = 5000, factor = 2, jitter = 0.5, random = Math.random } = {}) {
    Object.assign(this, { min, max, factor, jitter, random });
    this.attempts = 0;
  }

  /** The wait before the next attempt, in milliseconds; counts the attempt. */
  next() {
    const base = Math.min(this.max, this.min * this.factor ** this.attempts++);
    const spread = 1 + this.jitter * (2 * this.random() - 1);
    return Math.round(Math.min(this.max, base * spread));
  }

  /** Starts again from `min`: called once a connection is established. */
  reset() {
    this.attempts = 0;
  }
}
