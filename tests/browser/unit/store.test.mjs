import assert from "node:assert/strict";
import { test } from "node:test";
import { compareOffsets, EventStore } from "../../../dashboard/js/model/store.js";

const ev = (offset) => ({ id: `e${offset}`, offset: String(offset) });
const offsets = (events) => events.map((event) => event.offset);

/** A store whose notifications wait until `flush()`, like an animation frame. */
function store(max = 5) {
  const queue = [];
  const s = new EventStore({ max, schedule: (fn) => queue.push(fn) });
  const changes = [];
  s.onChange((change) => changes.push(change));
  const flush = () => queue.splice(0).forEach((fn) => fn());
  return { s, changes, flush, queue };
}

test("offsets order as numbers, never as floats, and stream ids by their parts", () => {
  assert.ok(compareOffsets("9", "10") < 0);
  assert.ok(compareOffsets("10", "9") > 0);
  assert.equal(compareOffsets("42", "42"), 0);
  assert.ok(compareOffsets("9007199254740993", "9007199254740992") > 0);
  assert.ok(compareOffsets("1700000000000-2", "1700000000000-10") < 0);
  assert.ok(compareOffsets("1700000000001-0", "1700000000000-10") > 0);
});

test("events are held in offset order, each offset once", () => {
  const { s, flush } = store(10);
  s.add([ev(3), ev(1)]);
  s.add([ev(2), ev(3)]);
  flush();
  assert.deepEqual(offsets(s.events), ["1", "2", "3"]);
});

test("many adds before a tick are one notification, in offset order", () => {
  const { s, changes, flush, queue } = store(10);
  s.add([ev(2)]);
  s.add([ev(1)]);
  s.add([ev(3)]);
  assert.equal(queue.length, 1);
  flush();
  assert.equal(changes.length, 1);
  assert.deepEqual(offsets(changes[0].added), ["1", "2", "3"]);
  assert.deepEqual(changes[0].evicted, []);
  assert.equal(changes[0].reset, false);
});

test("past max the oldest leave, and are announced as evicted", () => {
  const { s, changes, flush } = store(3);
  s.add([ev(1), ev(2), ev(3)]);
  flush();
  s.add([ev(4), ev(5)]);
  flush();
  assert.deepEqual(offsets(s.events), ["3", "4", "5"]);
  assert.deepEqual(offsets(changes[1].added), ["4", "5"]);
  assert.deepEqual(offsets(changes[1].evicted), ["1", "2"]);
});

test("an event added and evicted within one tick is announced as neither", () => {
  const { s, changes, flush } = store(2);
  s.add([ev(1), ev(2), ev(3), ev(4)]);
  flush();
  assert.deepEqual(offsets(changes[0].added), ["3", "4"]);
  assert.deepEqual(changes[0].evicted, []);
});

test("clear drops everything and announces a reset, with what came after it", () => {
  const { s, changes, flush } = store(5);
  s.add([ev(1), ev(2)]);
  flush();
  s.clear();
  s.add([ev(1)]);
  flush();
  assert.deepEqual(offsets(s.events), ["1"]);
  assert.equal(changes[1].reset, true);
  assert.deepEqual(offsets(changes[1].added), ["1"]);
});
