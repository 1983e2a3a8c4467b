import assert from "node:assert/strict";
import { test } from "node:test";
import { age, duration, shortId } from "../../../dashboard/js/model/format.js";

test("durations read short", () => {
  assert.equal(duration(0), "0 ms");
  assert.equal(duration(850), "850 ms");
  assert.equal(duration(1250), "1.2 s");
  assert.equal(duration(42_000), "42 s");
  assert.equal(duration(185_000), "3 m 05 s");
  assert.equal(duration(7_800_000), "2 h 10 m");
  assert.equal(duration(NaN), "");
});

test("ages count back from now", () => {
  const now = Date.parse("2026-01-06T14:00:00Z");
  assert.equal(age(now - 500, now), "now");
  assert.equal(age(now - 12_000, now), "12 s ago");
  assert.equal(age(now - 300_000, now), "5 m ago");
  assert.equal(age(now - 3 * 3600_000, now), "3 h ago");
  assert.equal(age(now - 2 * 86400_000, now), "2 d ago");
});

test("ids shorten to 8 characters", () => {
  assert.equal(shortId("6f1c2e9a-1111-2222"), "6f1c2e9a");
  assert.equal(shortId("s1"), "s1");
  assert.equal(shortId(null), "");
});
