import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff } from "../../../dashboard/js/sio/backoff.js";

const delays = (backoff, n) => Array.from({ length: n }, () => backoff.next());

test("without jitter the delays double from 1 s and stay at 5 s", () => {
  assert.deepEqual(delays(new Backoff({ jitter: 0 }), 6), [1000, 2000, 4000, 5000, 5000, 5000]);
});

test("jitter moves each delay by up to 50% either way, never past 5 s", () => {
  assert.deepEqual(delays(new Backoff({ random: () => 0 }), 4), [500, 1000, 2000, 2500]);
  assert.deepEqual(delays(new Backoff({ random: () => 0.999999 }), 4), [1500, 3000, 5000, 5000]);
  assert.deepEqual(delays(new Backoff({ random: () => 0.5 }), 4), [1000, 2000, 4000, 5000]);
});

test("a random backoff stays within its bounds however long it runs", () => {
  const backoff = new Backoff();
  for (const [i, delay] of delays(backoff, 1000).entries()) {
    const base = Math.min(5000, 1000 * 2 ** i);
    assert.ok(delay >= base / 2 && delay <= Math.min(5000, base * 1.5), `delay ${i}: ${delay}`);
  }
});

test("reset starts again from 1 s after a successful connection", () => {
  const backoff = new Backoff({ jitter: 0 });
  delays(backoff, 5);
  backoff.reset();
  assert.deepEqual(delays(backoff, 2), [1000, 2000]);
});
