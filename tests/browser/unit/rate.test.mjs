import assert from "node:assert/strict";
import { test } from "node:test";
import { Rate } from "../../../dashboard/js/model/rate.js";

const at = (ms) => ({ received_at: new Date(ms).toISOString() });
const NOW = Date.parse("2026-01-06T14:00:00.500Z");

test("events count at the second the relay received them, history included", () => {
  const rate = new Rate({ windowS: 60 });
  for (let i = 0; i < 20; i++) rate.add(at(NOW - 1000));
  for (let i = 0; i < 10; i++) rate.add(at(NOW - 25_000));
  assert.equal(rate.perSecond(NOW, 10), 2);
  const bins = rate.series(NOW, 10);
  assert.equal(bins.length, 6);
  assert.deepEqual(bins, [0, 0, 0, 1, 0, 2]);
});

test("events older than the window do not count", () => {
  const rate = new Rate({ windowS: 60 });
  rate.add(at(NOW - 120_000));
  rate.add({ received_at: "not a time" });
  assert.deepEqual(rate.series(NOW, 10), [0, 0, 0, 0, 0, 0]);
});

test("clear forgets every count", () => {
  const rate = new Rate({ windowS: 60 });
  rate.add(at(NOW));
  rate.clear();
  assert.equal(rate.perSecond(NOW), 0);
});
